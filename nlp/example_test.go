package nlp_test

import (
	"fmt"

	"github.com/attune-cx/attune/nlp"
)

func ExampleClean() {
	// A tweet from the Twitter US Airline Sentiment dataset.
	fmt.Println(nlp.Clean("@VirginAmerica you guys are perfect as always! &lt;3 #WeRVirgin"))
	// Output: you guys are perfect as always! <3 WeRVirgin
}

func ExampleAnalyzer_Analyze() {
	a, err := nlp.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	// A tweet from the Twitter US Airline Sentiment dataset.
	an := a.Analyze("@SouthwestAir no I wasn't. After over an hour was too frustrated and had to hang up.")
	fmt.Println(an.Clean)
	fmt.Println(an.Sentences, an.Tokens)
	fmt.Println(an.Stems)
	fmt.Printf("%.3f %s\n", an.Sentiment.Score, an.Sentiment.Label)
	// Output:
	// no I wasn't. After over an hour was too frustrated and had to hang up.
	// 2 [no i wasn't after over an hour was too frustrated and had to hang up]
	// [hour frustrat hang]
	// -0.935 negative
}
