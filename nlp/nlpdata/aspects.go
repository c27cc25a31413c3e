package nlpdata

import (
	attune "github.com/attune-cx/attune"
)

// AspectScores are the SemEval-2014 subtask 3 and 4 figures: category
// detection (micro P/R/F1) and category polarity accuracy on the gold
// categories, "conflict" counted (never predicted) and, as Polarity3Acc,
// left out as many papers do.
type AspectScores struct {
	CategoryF1   float64 `json:"category_f1"`
	Precision    float64 `json:"category_precision"`
	Recall       float64 `json:"category_recall"`
	PolarityAcc  float64 `json:"polarity_acc"`
	Polarity3Acc float64 `json:"polarity_acc_no_conflict"`
	PolarityN    int     `json:"polarity_n"`
}

// EvalAspects scores an aspect analyser on SemEval sentences. catMap maps
// each SemEval category to an aspect name; aspects the analyser returns that
// no category maps to are ignored; a sentence with none of the mapped
// aspects is predicted fallback (anecdotes/miscellaneous). A gold category
// whose aspect was not found gets the polarity of whole (the sentence's
// sentiment).
func EvalAspects(ss []Sentence, catMap map[string]string, fallback string,
	aspects func(string) []attune.AspectSentiment, whole func(string) attune.Sentiment) AspectScores {
	toCat := map[string]string{}
	for c, a := range catMap {
		toCat[a] = c
	}
	var tp, fp, fn, right, right3, n, n3 int
	for _, s := range ss {
		got := map[string]attune.Sentiment{}
		for _, as := range aspects(s.Text) {
			if c, ok := toCat[as.Aspect]; ok {
				got[c] = as.Sentiment
			}
		}
		if len(got) == 0 && fallback != "" {
			got[fallback] = whole(s.Text)
		}
		gold := map[string]string{}
		for _, c := range s.Categories {
			gold[c.Name] = c.Polarity
		}
		for c := range got {
			if _, ok := gold[c]; ok {
				tp++
			} else {
				fp++
			}
		}
		var sent *attune.Sentiment
		for c, pol := range gold {
			if _, ok := got[c]; !ok {
				fn++
			}
			p, ok := got[c]
			if !ok {
				if sent == nil {
					w := whole(s.Text)
					sent = &w
				}
				p = *sent
			}
			n++
			if string(p.Label) == pol {
				right++
			}
			if pol != "conflict" {
				n3++
				if string(p.Label) == pol {
					right3++
				}
			}
		}
	}
	var r AspectScores
	if tp+fp > 0 {
		r.Precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r.Recall = float64(tp) / float64(tp+fn)
	}
	if r.Precision+r.Recall > 0 {
		r.CategoryF1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
	}
	if n > 0 {
		r.PolarityAcc = float64(right) / float64(n)
	}
	if n3 > 0 {
		r.Polarity3Acc = float64(right3) / float64(n3)
	}
	r.PolarityN = n
	return r
}
