package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/embed/wordvec"
)

// These tests serve the project's own model (package wordvec) through a
// real Ollama and check every served vector against the model's pure-Go
// reference.

// testModelName is what the tests register the model as.
const testModelName = "attune-test-embed"

var (
	modelOnce sync.Once
	modelRef  *wordvec.Model
	modelGGUF []byte
	modelErr  error
)

// trainedModel trains a small model on the airline tweets, once per test
// binary, and returns it with its GGUF encoding.
func trainedModel(t testing.TB) (*wordvec.Model, []byte) {
	t.Helper()
	texts := airlineTweets(t)
	modelOnce.Do(func() {
		start := time.Now()
		m, err := wordvec.Train(context.Background(), texts, wordvec.Options{Dim: 64, Seed: 1})
		if err != nil {
			modelErr = fmt.Errorf("train: %w", err)
			return
		}
		f, err := os.CreateTemp("", "attune-embed-test-*.gguf")
		if err != nil {
			modelErr = err
			return
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if err := m.WriteGGUF(f); err != nil {
			modelErr = fmt.Errorf("write GGUF: %w", err)
			return
		}
		if modelGGUF, err = os.ReadFile(f.Name()); err != nil {
			modelErr = err
			return
		}
		modelRef = m
		t.Logf("trained %d words × %d dims on %d tweets in %s; GGUF %d bytes",
			len(m.Words), m.Dim, len(texts), time.Since(start).Round(time.Millisecond), len(modelGGUF))
	})
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return modelRef, modelGGUF
}

// createTestModel registers the trained model on the server c talks to.
func createTestModel(t testing.TB, c *Client) *wordvec.Model {
	t.Helper()
	m, gguf := trainedModel(t)
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(path, gguf, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateFromGGUF(t.Context(), testModelName, path); err != nil {
		t.Fatalf("CreateFromGGUF: %v", err)
	}
	return m
}

// sampleTweets returns n tweets spread over the whole file.
func sampleTweets(t testing.TB, n int) []string {
	all := airlineTweets(t)
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, all[i*len(all)/n])
	}
	return out
}

func TestCheckMissingModel(t *testing.T) {
	s := startOllama(t, testServerConfig(t))
	tests := []struct {
		name string
		opts []Option
		fix  string
	}{
		{"published model", nil, "run `ollama pull attune-no-such-model`"},
		{"own model", []Option{WithMissingModelHint("run `attune model build`")}, "run `attune model build`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(s.Host(), "attune-no-such-model", tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			dim, err := c.Check(t.Context())
			if !errors.Is(err, ErrModelMissing) {
				t.Fatalf("Check = %d, %v; want ErrModelMissing", dim, err)
			}
			if !strings.Contains(err.Error(), tt.fix) {
				t.Errorf("error %q does not name the fix %q", err, tt.fix)
			}
			if has, err := c.HasModel(t.Context(), c.Model()); has || err != nil {
				t.Errorf("HasModel = %v, %v; want false, nil", has, err)
			}
		})
	}
}

func TestOllamaServesOwnModel(t *testing.T) {
	s := startOllama(t, testServerConfig(t))
	c, err := NewClient(s.Host(), testModelName, WithBatchSize(64))
	if err != nil {
		t.Fatal(err)
	}
	m := createTestModel(t, c)
	for _, name := range []string{testModelName, testModelName + ":latest"} {
		if has, err := c.HasModel(t.Context(), name); !has || err != nil {
			t.Errorf("HasModel(%s) = %v, %v after CreateFromGGUF", name, has, err)
		}
	}
	dim, err := c.Check(t.Context())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if dim != m.ServedDim() {
		t.Fatalf("Check dimension %d, model's ServedDim %d", dim, m.ServedDim())
	}

	// 200 tweets (four batches, the last one short), texts whose words the
	// airline-trained vocabulary mostly lacks, so that the server covers
	// them with subword pieces, and an empty text last.
	texts := append(sampleTweets(t, 200), unseenWordTexts...)
	pieces := 0
	for _, s := range unseenWordTexts {
		for _, tok := range m.Tokens(s) {
			if !strings.HasPrefix(tok, "▁") && tok != "[UNK]" {
				pieces++
			}
		}
	}
	if pieces < 20 {
		t.Fatalf("the reference covers only %d tokens of the unseen-word texts with continuation pieces; the test would not exercise them", pieces)
	}
	texts = append(texts, "")
	vecs, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	var worst float64
	zeros := 0
	for i, v := range vecs {
		want := m.Embed(texts[i])
		if len(v) != dim || len(want) != dim {
			t.Fatalf("text %d: served dimension %d, reference %d, want %d", i, len(v), len(want), dim)
		}
		diff := maxAbsDiff(v, want)
		worst = max(worst, diff)
		if diff > 1e-4 {
			t.Errorf("text %d %q: served vector differs from the reference by %.2g", i, texts[i], diff)
		}
		switch n := norm(v); {
		case n == 0:
			zeros++
		case math.Abs(n-1) > 1e-5:
			t.Errorf("text %d: norm %v, want 1 or 0", i, n)
		}
	}
	if norm(vecs[len(vecs)-1]) != 0 {
		t.Errorf("empty text: norm %v, want the zero vector", norm(vecs[len(vecs)-1]))
	}
	t.Logf("%d texts: largest difference from the reference %.2g; %d zero vectors", len(texts), worst, zeros)

	// Registering the same file again is harmless, and the model serves
	// the same vectors.
	createTestModel(t, c)
	again, err := c.Embed(t.Context(), texts[:5])
	if err != nil {
		t.Fatalf("Embed after re-creating the model: %v", err)
	}
	for i := range again {
		if d := maxAbsDiff(again[i], vecs[i]); d > 1e-6 {
			t.Errorf("text %d changed by %.2g after re-creating the model", i, d)
		}
	}
}

// unseenWordTexts are bank support requests, typos and invented names: a
// model trained on airline tweets knows few of their words whole.
var unseenWordTexts = []string{
	"My contactless payment was declined at the supermarket",
	"Why was my cryptocurrency transfer reverted?",
	"I recieved a chargeback notificaton for a refundable purchase",
	"Unblocking my PIN after three incorrect attempts",
	"The exchange rate for my top-up was unfavourable",
	"Zorblaxian quuxified flibbertigibbets 12345678 ÄÖÜßéè",
	"disposable virtual cards, apple pay and google pay verification",
	"cancellationsss delaaayed reschedulings, unhelpfulness, overbookings",
}

func TestEmbedSurvivesServerRestart(t *testing.T) {
	cfg := testServerConfig(t)
	s := startOllama(t, cfg)
	c, err := NewClient(s.Host(), testModelName, WithRetry(2, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	createTestModel(t, c)
	texts := sampleTweets(t, 50)
	before, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}

	// The server dies with its model runner, as in a crash or OOM kill.
	if err := kill(s.cmd.Process); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	vecs, err := c.Embed(t.Context(), texts)
	if err == nil || vecs != nil {
		t.Fatalf("Embed with the server dead = %d vectors, %v; want none and an error", len(vecs), err)
	}
	if _, perm := attune.IsPermanent(err); perm || errors.Is(err, ErrModelMissing) {
		t.Errorf("a dead server gave a permanent or missing-model error: %v", err)
	}
	t.Logf("with the server dead: %v", err)

	s2 := startOllama(t, cfg)
	if !s2.Managed() {
		t.Fatal("EnsureServer did not start a new server")
	}
	after, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed after the restart: %v", err)
	}
	for i := range after {
		if d := maxAbsDiff(after[i], before[i]); d > 1e-6 {
			t.Errorf("text %d changed by %.2g across the restart", i, d)
		}
	}
}

// TestEmbedRidesOutRestartMidCall kills the managed server while one Embed
// call is sending its batches and starts a new one: the retries carry the
// call across the gap, and every vector still equals the reference.
func TestEmbedRidesOutRestartMidCall(t *testing.T) {
	cfg := testServerConfig(t)
	s := startOllama(t, cfg)
	c, err := NewClient(s.Host(), testModelName, WithBatchSize(16), WithRetry(12, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	m := createTestModel(t, c)
	texts := sampleTweets(t, 2000)
	if _, err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}

	type result struct {
		vecs []attune.Vector
		err  error
	}
	done := make(chan result, 1)
	go func() {
		vecs, err := c.Embed(t.Context(), texts)
		done <- result{vecs, err}
	}()
	time.Sleep(300 * time.Millisecond) // some batches answered, most not
	if err := kill(s.cmd.Process); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	select {
	case r := <-done:
		t.Fatalf("Embed finished before the server died (%v); the test needs a longer run", r.err)
	default:
	}
	s2 := startOllama(t, cfg)
	if !s2.Managed() {
		t.Fatal("EnsureServer did not start a new server")
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Embed across the restart: %v", r.err)
	}
	for i, v := range r.vecs {
		if d := maxAbsDiff(v, m.Embed(texts[i])); d > 1e-5 {
			t.Fatalf("text %d differs from the reference by %.2g after the restart", i, d)
		}
	}
}

// TestLongTextsAreChunkedNotTruncated sends texts longer than the model's
// context through a real server: every piece of wordvec.Split is embedded
// (the server answers as the reference does for each), and the text's
// vector is their length-weighted mean, not the embedding of its head.
func TestLongTextsAreChunkedNotTruncated(t *testing.T) {
	s := startOllama(t, testServerConfig(t))
	c, err := NewClient(s.Host(), testModelName, WithChunker(wordvec.Split))
	if err != nil {
		t.Fatal(err)
	}
	m := createTestModel(t, c)
	tweets := airlineTweets(t)
	// A complaint thread: 120 tweets in one text, several contexts long.
	long := strings.Join(tweets[1000:1120], " ")
	short := tweets[5]
	if n := len(wordvec.Split(long)); n < 2 {
		t.Fatalf("test text fits in one piece (%d)", n)
	}
	vecs, err := c.Embed(t.Context(), []string{long, short})
	if err != nil {
		t.Fatal(err)
	}
	sum := make([]float64, m.ServedDim())
	for _, p := range wordvec.Split(long) {
		for j, x := range m.Embed(p) {
			sum[j] += float64(len(p)) * float64(x)
		}
	}
	if d := maxAbsDiff(vecs[0], normalize(sum)); d > 1e-5 {
		t.Errorf("long text differs from the weighted mean of its pieces by %.2g", d)
	}
	if d := maxAbsDiff(vecs[0], m.Embed(long)); d < 1e-3 {
		t.Errorf("long text came back as the embedding of its first piece (diff %.2g): truncated", d)
	}
	if d := maxAbsDiff(vecs[1], m.Embed(short)); d > 1e-5 {
		t.Errorf("short text differs from the reference by %.2g", d)
	}

	// Unseen words take several tokens each: Model.Split counts them
	// exactly, so it cuts less often than the vocabulary-free Split, and
	// the server embeds each part whole (a part over its context would come
	// back as its tail's embedding).
	raw, err := NewClient(s.Host(), testModelName, WithChunker(func(s string) []string { return []string{s} }))
	if err != nil {
		t.Fatal(err)
	}
	unseen := strings.Repeat(strings.Join(unseenWordTexts, " "), 12)
	parts := m.Split(unseen)
	if safe := len(wordvec.Split(unseen)); len(parts) < 2 || len(parts) >= safe {
		t.Fatalf("Model.Split gave %d parts, Split %d", len(parts), safe)
	}
	served, err := raw.Embed(t.Context(), parts)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		if d := maxAbsDiff(served[i], m.Embed(p)); d > 1e-5 {
			t.Errorf("part %d (%d tokens) differs from the reference by %.2g", i, len(m.Tokens(p)), d)
		}
	}
}

func TestModelReplacedWithOtherDimension(t *testing.T) {
	s := startOllama(t, testServerConfig(t))
	builder, err := NewClient(s.Host(), testModelName)
	if err != nil {
		t.Fatal(err)
	}
	user, err := NewClient(s.Host(), testModelName)
	if err != nil {
		t.Fatal(err)
	}
	m64 := createTestModel(t, builder)
	texts := sampleTweets(t, 20)
	for _, c := range []*Client{builder, user} {
		if vecs, err := c.Embed(t.Context(), texts); err != nil || len(vecs[0]) != m64.ServedDim() {
			t.Fatalf("Embed before the rebuild: %v", err)
		}
	}

	// The model is rebuilt with another dimension under the same name.
	m32, err := wordvec.Train(t.Context(), airlineTweets(t), wordvec.Options{Dim: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model32.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m32.WriteGGUF(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := builder.CreateFromGGUF(t.Context(), testModelName, path); err != nil {
		t.Fatal(err)
	}

	// The client that rebuilt it expects the change ...
	vecs, err := builder.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed by the rebuilding client: %v", err)
	}
	for i, v := range vecs {
		if len(v) != m32.ServedDim() {
			t.Fatalf("text %d: dimension %d, want %d", i, len(v), m32.ServedDim())
		}
		if d := maxAbsDiff(v, m32.Embed(texts[i])); d > 1e-4 {
			t.Errorf("text %d: differs from the new model's reference by %.2g", i, d)
		}
	}
	// ... any other client must not mix the two models' vectors.
	if vecs, err := user.Embed(t.Context(), texts); !errors.Is(err, ErrDimensionChanged) || vecs != nil {
		t.Errorf("Embed by another client after the rebuild = %d vectors, %v; want ErrDimensionChanged", len(vecs), err)
	}
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// BenchmarkEmbed measures Embed throughput on airline tweets through a
// managed Ollama serving the project's own model (64 dims), by batch size:
//
//	go test ./embed -run '^$' -bench Embed -benchtime 4x
func BenchmarkEmbed(b *testing.B) {
	s := startOllama(b, testServerConfig(b))
	setup, err := NewClient(s.Host(), testModelName)
	if err != nil {
		b.Fatal(err)
	}
	createTestModel(b, setup)
	if _, err := setup.Check(b.Context()); err != nil { // load the model
		b.Fatal(err)
	}
	texts := airlineTweets(b)[:1024]
	var words int
	for _, s := range texts {
		words += len(strings.Fields(s))
	}
	for _, batch := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			b.ReportAllocs()
			c, err := NewClient(s.Host(), testModelName, WithBatchSize(batch))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				if _, err := c.Embed(b.Context(), texts); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*len(texts))/b.Elapsed().Seconds(), "texts/s")
			b.ReportMetric(float64(n*words)/b.Elapsed().Seconds(), "words/s")
		})
	}
}
