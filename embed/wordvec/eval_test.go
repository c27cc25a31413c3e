package wordvec

import (
	"os"
	"path/filepath"
	"testing"
)

// Evaluation data. The k-means, TF-IDF baseline and scores the tests use
// are those of `attune bench embed`: packages evaluate and cluster.

const datasetsDir = "../../../shared/datasets"

// readColumn reads one column of a delimited dataset file with a header.
func readColumn(t testing.TB, rel string, comma rune, column string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(datasetsDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("open dataset: %v", err)
	}
	defer f.Close()
	out, err := csvColumn(comma, column)(f)
	if err != nil {
		t.Fatalf("read %s column %s: %v", rel, column, err)
	}
	return out
}
