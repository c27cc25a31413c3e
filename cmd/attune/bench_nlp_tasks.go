package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attune-cx/attune/nlp"
	"github.com/attune-cx/attune/nlp/nlpdata"
)

type nlpAspectReport struct {
	Dataset string               `json:"dataset"`
	Attune  nlpdata.AspectScores `json:"attune"`
	Sources map[string]string    `json:"sources"`
}

type nlpPIIReport = nlpdata.PIIScores

// benchAspects scores aspect categories on Restaurants_Test_Gold.xml with
// the shipped aspect set (configs/aspects.yaml) plus the aspect model
// learned from Restaurants_Train_v2.xml, categories mapped through
// configs/semeval2014_restaurants.yaml.
func benchAspects(d *nlpdata.Dir, configDir string) (*nlpAspectReport, error) {
	ab, err := os.ReadFile(filepath.Join(configDir, "aspects.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read aspect set: %w", err)
	}
	set, err := nlp.ParseAspectsBytes(ab)
	if err != nil {
		return nil, err
	}
	mb, err := os.ReadFile(filepath.Join(configDir, "semeval2014_restaurants.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read category map: %w", err)
	}
	catMap, err := nlp.ParseCategoryMap(bytes.NewReader(mb))
	if err != nil {
		return nil, err
	}
	m, err := nlp.RestaurantAspects()
	if err != nil {
		return nil, err
	}
	a, err := nlp.New(nlp.WithAspects(set), nlp.WithAspectModel(m))
	if err != nil {
		return nil, err
	}
	ss, err := d.SemEval("Restaurants_Test_Gold.xml")
	if err != nil {
		return nil, err
	}
	return &nlpAspectReport{
		Dataset: "semeval2014_restaurants",
		Attune:  nlpdata.EvalAspects(ss, catMap, "anecdotes/miscellaneous", a.Aspects, a.Sentiment),
		Sources: map[string]string{"test": "Restaurants_Test_Gold.xml", "train": "Restaurants_Train_v2.xml"},
	}, nil
}

// benchPII scores the redactor with every kind on: 2,000 real sentences
// (banking77 training queries and airline tweets) with generated PII of
// many formats appended, and the same sentences without.
func benchPII(d *nlpdata.Dir) (*nlpPIIReport, error) {
	withPII, clean, err := d.PIICorpus(2000, 1)
	if err != nil {
		return nil, err
	}
	red, err := nlp.NewRedactor()
	if err != nil {
		return nil, err
	}
	redact := func(red *nlp.Redactor) func(string) (string, []nlpdata.Redaction) {
		return func(s string) (string, []nlpdata.Redaction) {
			out, rs := red.Redact(s)
			conv := make([]nlpdata.Redaction, len(rs))
			for i, r := range rs {
				conv[i] = nlpdata.Redaction{Kind: string(r.Kind), Text: r.Text}
			}
			return out, conv
		}
	}
	sc := nlpdata.EvalPII(withPII, clean, redact(red))
	// Person names, opt-in, measured on their own.
	names, err := nlp.NewRedactor(nlp.Person)
	if err != nil {
		return nil, err
	}
	ps := nlpdata.EvalPII(withPII, clean, redact(names))
	sc.PersonRecall = ps.PersonRecall
	sc.PersonFalseRedactions = ps.FalseRedactions
	return &sc, nil
}
