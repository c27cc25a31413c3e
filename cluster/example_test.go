package cluster_test

import (
	"context"
	"fmt"
	"log"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
)

// Example shows the segment stage's cycle: store analysed events, re-cluster
// everything with the previous model so ids carry over, save the model, and
// assign a new event to a segment.
func Example() {
	ctx := context.Background()
	store, err := cluster.OpenStore("attune.db", cluster.WithEngagement("retweets"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	var docs []attune.Doc    // from the NLP stage
	var vecs []attune.Vector // from the embedding stage, one per doc
	if _, err := store.Put(docs, vecs); err != nil {
		log.Fatal(err)
	}

	prev, err := store.LoadModel() // nil before the first clustering
	if err != nil {
		log.Fatal(err)
	}
	pts, err := store.Points(ctx)
	if err != nil {
		log.Fatal(err)
	}
	model, err := cluster.Fit(ctx, pts, cluster.Config{Seed: 1}, prev)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.SaveModel(model); err != nil {
		log.Fatal(err)
	}
	for _, s := range model.Segments() {
		fmt.Println(s.ID, s.Name, s.Size, s.TopTerms)
	}

	// A new event: store it (which updates its customer), then assign it.
	var doc attune.Doc
	var vec attune.Vector
	customers, err := store.Put([]attune.Doc{doc}, []attune.Vector{vec})
	if err != nil {
		log.Fatal(err)
	}
	seg := model.Assign(cluster.Point{Doc: doc, Vec: vec, Customer: customers[doc.Event.CustomerID]})
	if seg.ID == "" {
		log.Print("unassigned: the embedding model changed since the fit")
	}
}

func ExampleAttitude() {
	for _, score := range []float64{-0.7, -0.3, -0.1, 0, 0.2, 0.6} {
		fmt.Println(score, cluster.Attitude(score))
	}
	// Output:
	// -0.7 angry
	// -0.3 frustrated
	// -0.1 unhappy
	// 0 neutral
	// 0.2 satisfied
	// 0.6 delighted
}
