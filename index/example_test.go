package index

import (
	"context"
	"fmt"
	"log"
	"os"
)

func ExampleIndex_Search() {
	dir, err := os.MkdirTemp("", "attune-index-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ix, err := Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer ix.Close()

	// The first 50 tweets of the airline dataset.
	docs, err := readTweets()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := ix.IndexDocs(ctx, docs[:50]); err != nil {
		log.Fatal(err)
	}

	res, err := ix.Search(ctx, Query{Text: "+seats -first", Label: "negative", Limit: 3})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Total, "negative tweets mention seats but not first class")
	for _, h := range res.Hits {
		fmt.Printf("%s %s %q\n", h.ID, h.SegmentName, h.Snippet)
	}
	// Output:
	// 4 negative tweets mention seats but not first class
	// 570256553502068736 customer-service-issue "@VirginAmerica you guys messed up my <mark>seating</mark>.. I reserved <mark>seating</mark> with my friends and you guys gave my <mark>seat</mark> away ... 😡 I want free internet"
	// 570088404156698625 customer-service-issue "@VirginAmerica help, left expensive headphones on flight 89 IAD to LAX today. <mark>Seat</mark> 2A. No one answering L&amp;amp;F number at LAX!"
	// 570276917301137409 bad-flight "@VirginAmerica  I flew from NYC to SFO last week and couldn&#39;t fully sit in my <mark>seat</mark> due to two large gentleman on either side of me. HELP!"
}
