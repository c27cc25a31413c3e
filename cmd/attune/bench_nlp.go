package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/jonreiter/govader"
	"github.com/spf13/cobra"

	attune "github.com/attune-cx/attune"
	"github.com/attune-cx/attune/nlp"
	"github.com/attune-cx/attune/nlp/nlpdata"
)

// nlpScores are the figures of one scorer on one dataset; fields that the
// dataset's labels do not allow are omitted.
type nlpScores struct {
	Pearson *float64 `json:"pearson,omitempty"`
	Acc3    *float64 `json:"acc3,omitempty"`
	F1      *float64 `json:"f1,omitempty"` // macro F1 over the three classes
}

type nlpSentimentRow struct {
	Dataset string    `json:"dataset"`
	N       int       `json:"n"`
	Attune  nlpScores `json:"attune"`
	Vader   nlpScores `json:"vader"`
	// Published is VADER's figure in its paper, where there is one.
	Published *float64 `json:"vader_published_pearson,omitempty"`
	// CrossFit is, on the VADER sets, the Pearson r of a + b·attune +
	// c·VADER compound with a, b, c fitted by least squares on the other
	// four fifths of the same set: what calibrating Attune's score to the
	// set's intensity ratings could reach, estimated so that no text is
	// scored by a fit that saw it. It is not what the shipped analyzer
	// scores (that is attune.pearson).
	CrossFit *float64 `json:"attune_crossfit_pearson,omitempty"`
}

type nlpBenchReport struct {
	Sentiment []nlpSentimentRow `json:"sentiment"`
	Aspects   *nlpAspectReport  `json:"aspects,omitempty"`
	PII       *nlpPIIReport     `json:"pii,omitempty"`
	Speed     nlpSpeed          `json:"speed"`
	PeakRSS   float64           `json:"peak_rss_mib"`
}

type nlpSpeed struct {
	Texts       int     `json:"texts"`
	Attune      float64 `json:"attune_texts_per_sec"` // Analyzer.Sentiment, the scoring path
	Vader       float64 `json:"vader_texts_per_sec"`
	AttuneRatio float64 `json:"attune_to_vader"`
	// Analyze is Analyzer.Analyze with the shipped aspect set, as the
	// worker runs it: cleaning, language, tokens, stems, sentences,
	// sentiment and aspects.
	Analyze      float64 `json:"analyze_texts_per_sec"`
	AnalyzeRatio float64 `json:"analyze_to_vader"`
	// The same ratios from the process's CPU time (user + system) instead
	// of wall time: on a machine whose other processes want more CPUs than
	// it has, wall time counts the waits for a CPU, which fall unevenly on
	// the scorers even taking turns, and CPU time does not.
	AttuneRatioCPU  float64 `json:"attune_to_vader_cpu"`
	AnalyzeRatioCPU float64 `json:"analyze_to_vader_cpu"`
}

// vaderPublished are the Pearson r figures of the VADER paper (Hutto &
// Gilbert 2014, table 3), the goal line.
var vaderPublished = map[string]float64{
	"vader_tweets": 0.881, "vader_amazon": 0.565, "vader_movies": 0.451, "vader_nyt": 0.492,
}

func benchNLPCmd(*globals) *cobra.Command {
	var (
		dir     string
		cfgDir  string
		asJSON  bool
		skipPII bool
	)
	cmd := &cobra.Command{
		Use:   "nlp",
		Short: "Sentiment, aspects, PII redaction and speed of the nlp stage against plain VADER",
		Long: `nlp scores the nlp stage and plain VADER (govader, the same lexicon scorer
Python's vaderSentiment is) in the same run on:

  vader_tweets/amazon/movies/nyt  VADER's human-rated ground truth (Pearson r)
  airline_test                    the held-out fifth of the airline tweets (by tweet_id hash)
  olist_pt                        the held-out fifth of the Olist reviews (by review_id hash)
  semeval2014_restaurants         aspect categories of Restaurants_Test_Gold.xml
  pii                             structured PII inserted into real sentences

None of these texts is used to train the embedded models (see nlp/internal/train).
acc3 on the VADER sets reads a mean human rating >= 0.5 as positive, <= -0.5 as
negative, else neutral. Speed is single-goroutine texts/s over all sentiment texts,
for Analyzer.Sentiment (the scoring path), plain VADER, and Analyzer.Analyze with
the shipped aspect set (the whole stage as the worker runs it), taking turns on
chunks of texts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := runNLPBench(dir, cfgDir, !skipPII)
			if err != nil {
				return err
			}
			return writeBench(cmd.OutOrStdout(), asJSON, r, printNLPBench)
		},
	}
	cmd.Flags().StringVar(&dir, "datasets", nlpdata.DefaultDir(true), "datasets directory (ATTUNE_DATASETS)")
	cmd.Flags().StringVar(&cfgDir, "configs", "configs", "directory holding aspects.yaml and semeval2014_restaurants.yaml")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().BoolVar(&skipPII, "skip-pii", false, "skip the PII redaction benchmark")
	return cmd
}

// nlpItem is one benchmark text with its gold value: a continuous rating
// (gold) and a class (-1, 0, 1).
type nlpItem struct {
	text  string
	gold  float64
	class int
}

func runNLPBench(dir, cfgDir string, withPII bool) (*nlpBenchReport, error) {
	d, err := nlpdata.Open(dir)
	if err != nil {
		return nil, err
	}
	a, err := nlp.New()
	if err != nil {
		return nil, err
	}
	vader := govader.NewSentimentIntensityAnalyzer()
	r := &nlpBenchReport{}

	type set struct {
		name       string
		items      []nlpItem
		continuous bool // gold is a rating, not a class
	}
	var sets []set
	for _, vs := range nlpdata.VaderSets {
		rows, err := d.VaderGroundTruth(vs.File)
		if err != nil {
			return nil, err
		}
		items := make([]nlpItem, len(rows))
		for i, row := range rows {
			c := 0
			if row.Score >= 0.5 {
				c = 1
			} else if row.Score <= -0.5 {
				c = -1
			}
			items[i] = nlpItem{row.Text, row.Score, c}
		}
		sets = append(sets, set{vs.Name, items, true})
	}
	_, airTest, err := d.Airline()
	if err != nil {
		return nil, err
	}
	_, olTest, err := d.Olist()
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name string
		ls   []nlpdata.Labelled
	}{{"airline_test", airTest}, {"olist_pt", olTest}} {
		items := make([]nlpItem, len(s.ls))
		for i, l := range s.ls {
			items[i] = nlpItem{l.Text, float64(l.Class), int(l.Class)}
		}
		sets = append(sets, set{s.name, items, false})
	}

	var all []string
	for _, s := range sets {
		at, vd := make([]float64, len(s.items)), make([]float64, len(s.items))
		atC, vdC := make([]int, len(s.items)), make([]int, len(s.items))
		gold, goldC := make([]float64, len(s.items)), make([]int, len(s.items))
		for i, it := range s.items {
			all = append(all, it.text)
			sa := a.Sentiment(it.text)
			at[i], atC[i] = sa.Score, labelClass(sa.Label)
			vc := vader.PolarityScores(it.text).Compound
			vd[i], vdC[i] = vc, compoundClass(vc)
			gold[i], goldC[i] = it.gold, it.class
		}
		row := nlpSentimentRow{Dataset: s.name, N: len(s.items)}
		row.Attune = nlpScores{Pearson: ptr(pearson(at, gold)), Acc3: ptr(accuracy(atC, goldC)), F1: ptr(macroF1(atC, goldC))}
		row.Vader = nlpScores{Pearson: ptr(pearson(vd, gold)), Acc3: ptr(accuracy(vdC, goldC)), F1: ptr(macroF1(vdC, goldC))}
		if p, ok := vaderPublished[s.name]; ok {
			row.Published = ptr(p)
			row.CrossFit = ptr(pearson(crossFit(at, vd, gold, 5), gold))
		}
		r.Sentiment = append(r.Sentiment, row)
	}

	full, err := analyzerWithAspects(cfgDir)
	if err != nil {
		return nil, err
	}
	r.Speed = benchNLPSpeed(all, map[string]func(string){
		"vader":   func(t string) { vader.PolarityScores(t) },
		"attune":  func(t string) { a.Sentiment(t) },
		"analyze": func(t string) { full.Analyze(t) },
	})

	if r.Aspects, err = benchAspects(d, cfgDir); err != nil {
		return nil, err
	}
	if withPII {
		if r.PII, err = benchPII(d); err != nil {
			return nil, err
		}
	}
	r.PeakRSS = peakRSSMiB()
	return r, nil
}

// benchNLPSpeed measures the texts/s of the scorers "vader", "attune" and
// "analyze", one goroutine, over the same texts. The scorers have seen the
// texts once already (scoring them for the tables), so caches hold their
// words as they come to hold a worker's vocabulary. VADER takes turns with
// each of the others on chunks of 500 texts, twice over the whole set, so
// that a change in the machine's load while the benchmark runs (other
// processes on a shared machine) falls on both sides of a ratio alike
// rather than on whichever ran at the time; VADER's rate is over both.
func benchNLPSpeed(texts []string, scorers map[string]func(string)) nlpSpeed {
	const chunk = 500
	spent, cpu := map[string]time.Duration{}, map[string]time.Duration{}
	for _, names := range [][]string{{"vader", "attune"}, {"vader", "analyze"}} {
		for pass := 0; pass < 2; pass++ {
			for lo := 0; lo < len(texts); lo += chunk {
				part := texts[lo:min(lo+chunk, len(texts))]
				for _, n := range names {
					start, startCPU := time.Now(), processCPU()
					for _, t := range part {
						scorers[n](t)
					}
					spent[n] += time.Since(start)
					cpu[n] += processCPU() - startCPU
				}
			}
		}
	}
	spent["vader"] /= 2
	cpu["vader"] /= 2
	rate := func(n string) float64 { return float64(2*len(texts)) / spent[n].Seconds() }
	s := nlpSpeed{Texts: len(texts), Vader: rate("vader"), Attune: rate("attune"), Analyze: rate("analyze")}
	s.AttuneRatio = s.Attune / s.Vader
	s.AnalyzeRatio = s.Analyze / s.Vader
	if cpu["attune"] > 0 && cpu["analyze"] > 0 {
		s.AttuneRatioCPU = cpu["vader"].Seconds() / cpu["attune"].Seconds()
		s.AnalyzeRatioCPU = cpu["vader"].Seconds() / cpu["analyze"].Seconds()
	}
	return s
}

// analyzerWithAspects is the Analyzer the worker builds: default options
// and the shipped aspect set.
func analyzerWithAspects(cfgDir string) (*nlp.Analyzer, error) {
	ab, err := os.ReadFile(filepath.Join(cfgDir, "aspects.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read aspect set: %w", err)
	}
	set, err := nlp.ParseAspectsBytes(ab)
	if err != nil {
		return nil, err
	}
	return nlp.New(nlp.WithAspects(set))
}

// crossFit returns, for each i, a + b·x[i] + c·z[i] with a, b, c fitted by
// least squares to y on the items outside i's fold (folds: index mod k).
func crossFit(x, z, y []float64, k int) []float64 {
	out := make([]float64, len(y))
	for f := 0; f < k; f++ {
		// Normal equations of y ≈ a + b·x + c·z over the other folds.
		var m [3][4]float64
		for i := range y {
			if i%k == f {
				continue
			}
			row := [3]float64{1, x[i], z[i]}
			for r := 0; r < 3; r++ {
				for c := 0; c < 3; c++ {
					m[r][c] += row[r] * row[c]
				}
				m[r][3] += row[r] * y[i]
			}
		}
		w := solve3(m)
		for i := range y {
			if i%k == f {
				out[i] = w[0] + w[1]*x[i] + w[2]*z[i]
			}
		}
	}
	return out
}

// solve3 solves the 3×3 system in the augmented matrix m by Gaussian
// elimination with partial pivoting; a singular system gives zeros.
func solve3(m [3][4]float64) [3]float64 {
	for c := 0; c < 3; c++ {
		p := c
		for r := c + 1; r < 3; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		if m[c][c] == 0 {
			return [3]float64{}
		}
		for r := 0; r < 3; r++ {
			if r == c {
				continue
			}
			f := m[r][c] / m[c][c]
			for j := c; j < 4; j++ {
				m[r][j] -= f * m[c][j]
			}
		}
	}
	return [3]float64{m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]}
}

func ptr(f float64) *float64 {
	if math.IsNaN(f) {
		return nil
	}
	f = math.Round(f*10000) / 10000
	return &f
}

func labelClass(l attune.Label) int {
	switch l {
	case attune.Positive:
		return 1
	case attune.Negative:
		return -1
	}
	return 0
}

// compoundClass reads a VADER compound with its documented ±0.05 cut-offs.
func compoundClass(c float64) int {
	switch {
	case c >= 0.05:
		return 1
	case c <= -0.05:
		return -1
	}
	return 0
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

func accuracy(pred, gold []int) float64 {
	if len(gold) == 0 {
		return math.NaN()
	}
	right := 0
	for i := range gold {
		if pred[i] == gold[i] {
			right++
		}
	}
	return float64(right) / float64(len(gold))
}

// macroF1 is the mean F1 of the three classes that occur in gold.
func macroF1(pred, gold []int) float64 {
	sum, n := 0.0, 0
	for c := -1; c <= 1; c++ {
		tp, fp, fn := 0, 0, 0
		present := false
		for i := range gold {
			if gold[i] == c {
				present = true
			}
			switch {
			case pred[i] == c && gold[i] == c:
				tp++
			case pred[i] == c:
				fp++
			case gold[i] == c:
				fn++
			}
		}
		if !present {
			continue
		}
		n++
		if tp > 0 {
			sum += 2 * float64(tp) / float64(2*tp+fp+fn)
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

func fmtScore(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}

func printNLPBench(w io.Writer, r *nlpBenchReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dataset\tn\tattune r\tvader r\tpublished r\tcross-fit r\tattune acc3\tvader acc3\tattune F1\tvader F1\t")
	for _, s := range r.Sentiment {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Dataset, s.N,
			fmtScore(s.Attune.Pearson), fmtScore(s.Vader.Pearson), fmtScore(s.Published), fmtScore(s.CrossFit),
			fmtScore(s.Attune.Acc3), fmtScore(s.Vader.Acc3), fmtScore(s.Attune.F1), fmtScore(s.Vader.F1))
	}
	tw.Flush()
	fmt.Fprintln(w)
	if r.Aspects != nil {
		fmt.Fprintf(w, "aspects %s: category F1 %.3f (P %.3f, R %.3f), polarity acc %.3f (%.3f without conflict) on %d gold categories\n",
			r.Aspects.Dataset, r.Aspects.Attune.CategoryF1, r.Aspects.Attune.Precision, r.Aspects.Attune.Recall,
			r.Aspects.Attune.PolarityAcc, r.Aspects.Attune.Polarity3Acc, r.Aspects.Attune.PolarityN)
	}
	if r.PII != nil {
		fmt.Fprintf(w, "pii: recall %.4f, precision %.4f on %d inserted structured values; %d redactions in %d real sentences without inserted PII\n",
			r.PII.Recall, r.PII.Precision, r.PII.Inserted, r.PII.FalseRedactions, r.PII.CleanSentences)
		fmt.Fprintf(w, "pii names (opt-in, prose NER): recall %.3f, %d names redacted in the sentences without inserted PII\n",
			r.PII.PersonRecall, r.PII.PersonFalseRedactions)
	}
	fmt.Fprintf(w, "speed: attune sentiment %.0f texts/s, vader %.0f texts/s (ratio %.2f; by CPU time %.2f); attune analyze %.0f texts/s (ratio %.2f; by CPU time %.2f); over %d texts; peak RSS %.0f MiB\n",
		r.Speed.Attune, r.Speed.Vader, r.Speed.AttuneRatio, r.Speed.AttuneRatioCPU, r.Speed.Analyze, r.Speed.AnalyzeRatio, r.Speed.AnalyzeRatioCPU, r.Speed.Texts, r.PeakRSS)
}

var _ = os.Stdout
