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

type nlpPIIReport struct {
	Recall          float64 `json:"recall"`
	Precision       float64 `json:"precision"`
	Inserted        int     `json:"inserted"`
	CleanSentences  int     `json:"clean_sentences"`
	FalseRedactions int     `json:"false_redactions"`
}

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

func benchPII(*nlpdata.Dir) (*nlpPIIReport, error) { return nil, nil }
