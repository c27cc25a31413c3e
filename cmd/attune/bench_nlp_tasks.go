package main

import (
	"github.com/attune-cx/attune/nlp"
	"github.com/attune-cx/attune/nlp/nlpdata"
)

type nlpAspectScores struct {
	CategoryF1  float64 `json:"category_f1"`
	Precision   float64 `json:"category_precision"`
	Recall      float64 `json:"category_recall"`
	PolarityAcc float64 `json:"polarity_acc"`
	PolarityN   int     `json:"polarity_n"`
}

type nlpAspectReport struct {
	Dataset string          `json:"dataset"`
	Attune  nlpAspectScores `json:"attune"`
}

type nlpPIIReport struct {
	Recall          float64 `json:"recall"`
	Precision       float64 `json:"precision"`
	Inserted        int     `json:"inserted"`
	CleanSentences  int     `json:"clean_sentences"`
	FalseRedactions int     `json:"false_redactions"`
}

func benchAspects(*nlpdata.Dir, *nlp.Analyzer) (*nlpAspectReport, error) { return nil, nil }
func benchPII(*nlpdata.Dir) (*nlpPIIReport, error)                      { return nil, nil }
