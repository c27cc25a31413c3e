package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/nlp"
)

// vecCache keeps embeddings of the bench texts on disk, keyed by the SHA-256
// of the model's name and digest and the embedded text, so that repeated bench runs do not
// spend two minutes re-embedding the same 25k texts. A vector is only ever
// what the model served for that exact text.
type vecCache struct {
	path  string
	model string
	vecs  map[[32]byte]attune.Vector
	added int
}

func (c *vecCache) key(text string) [32]byte { return sha256.Sum256([]byte(c.model + "\x00" + text)) }

func loadVecCache(path, model string) (*vecCache, error) {
	c := &vecCache{path: path, model: model, vecs: map[[32]byte]attune.Vector{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		var k [32]byte
		if _, err := io.ReadFull(r, k[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return c, nil
			}
			return c, nil // a torn tail from an interrupted run: keep the rest
		}
		var dim uint32
		if err := binary.Read(r, binary.LittleEndian, &dim); err != nil || dim > 1<<16 {
			return c, nil
		}
		v := make(attune.Vector, dim)
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			return c, nil
		}
		c.vecs[k] = v
	}
}

// append writes new vectors to the end of the cache file.
func (c *vecCache) append(keys [][32]byte, vecs []attune.Vector) error {
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(c.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i, k := range keys {
		c.vecs[k] = vecs[i]
		w.Write(k[:])
		binary.Write(w, binary.LittleEndian, uint32(len(vecs[i])))
		binary.Write(w, binary.LittleEndian, vecs[i])
		c.added++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchEmbedder embeds through the project's own model on a managed Ollama
// on a free loopback port, reading the vector cache first.
type benchEmbedder struct {
	cfg   *Config
	log   *slog.Logger
	cache *vecCache
	srv   *embed.Server
	cl    *embed.Client
}

func (b *benchEmbedder) Close() {
	if b.srv != nil {
		if err := b.srv.Stop(); err != nil {
			b.log.Warn("stop ollama", "err", err)
		}
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs a managed Ollama on a free loopback port and returns the
// identity of the model it serves.
func (b *benchEmbedder) start(ctx context.Context) (embed.Space, error) {
	host, err := freePort()
	if err != nil {
		return embed.Space{}, err
	}
	srv, err := embed.EnsureServer(ctx, embed.ServerConfig{Host: host, Manage: true, CacheDir: b.cfg.cacheDir(), Logger: b.log})
	if err != nil {
		return embed.Space{}, fmt.Errorf("start ollama: %w", err)
	}
	b.srv = srv
	cl, err := embed.NewClient(srv.Host(), ownModel, embed.WithThreads(1), embed.WithLogger(b.log),
		embed.WithMissingModelHint("run `attune model build`"))
	if err != nil {
		return embed.Space{}, err
	}
	space, err := cl.Space(ctx)
	if err != nil {
		return embed.Space{}, fmt.Errorf("embedding model: %w", err)
	}
	b.cl = cl
	return space, nil
}

// Embed returns one vector per text, from the cache or the model.
func (b *benchEmbedder) Embed(ctx context.Context, texts []string) ([]attune.Vector, error) {
	out := make([]attune.Vector, len(texts))
	var missIdx []int
	var missTexts []string
	var missKeys [][32]byte
	seen := map[[32]byte]bool{}
	for i, t := range texts {
		k := b.cache.key(t)
		if v, ok := b.cache.vecs[k]; ok {
			out[i] = v
			continue
		}
		missIdx = append(missIdx, i)
		if !seen[k] {
			seen[k] = true
			missTexts = append(missTexts, t)
			missKeys = append(missKeys, k)
		}
	}
	if len(missTexts) > 0 {
		b.log.Info("embedding texts not in the bench cache", "texts", len(missTexts))
		start := time.Now()
		const chunk = 2000
		for lo := 0; lo < len(missTexts); lo += chunk {
			hi := min(lo+chunk, len(missTexts))
			vecs, err := b.cl.Embed(ctx, missTexts[lo:hi])
			if err != nil {
				return nil, fmt.Errorf("embed: %w", err)
			}
			if err := b.cache.append(missKeys[lo:hi], vecs); err != nil {
				return nil, fmt.Errorf("write vector cache: %w", err)
			}
			b.log.Info("embedded", "done", hi, "of", len(missTexts), "texts_per_s", float64(hi)/time.Since(start).Seconds())
		}
		for _, i := range missIdx {
			out[i] = b.cache.vecs[b.cache.key(texts[i])]
		}
	}
	return out, nil
}

func readCSVFile(path string) (map[string]int, [][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%s is empty", path)
	}
	h := map[string]int{}
	for i, name := range rows[0] {
		h[name] = i
	}
	return h, rows[1:], nil
}

func col(h map[string]int, row []string, name string) string {
	i, ok := h[name]
	if !ok || i >= len(row) {
		return ""
	}
	return row[i]
}

// labeledPoint is a point and its ground-truth label ("" for none).
type labeledPoint struct {
	cluster.Point
	label string
}

// analyse runs the NLP stage on every text and embeds the cleaned text, as
// the pipeline does.
func analyse(ctx context.Context, an *nlp.Analyzer, emb *benchEmbedder, evs []attune.Event) ([]attune.Doc, []attune.Vector, error) {
	docs := make([]attune.Doc, len(evs))
	texts := make([]string, len(evs))
	for i, ev := range evs {
		docs[i] = attune.Doc{Event: ev, Analysis: an.Analyze(ev.Text)}
		texts[i] = docs[i].Analysis.Clean
	}
	vecs, err := emb.Embed(ctx, texts)
	return docs, vecs, err
}

// airlineTweets reads the distinct airline tweets with their sentiment label
// and negative reason, and builds their users' behavioral features.
func airlineTweets(ctx context.Context, dir string, an *nlp.Analyzer, emb *benchEmbedder) (pts []labeledPoint, sentiments []string, err error) {
	h, rows, err := readCSVFile(filepath.Join(dir, "twitter_us_airline_sentiment", "Tweets.csv"))
	if err != nil {
		return nil, nil, err
	}
	var evs []attune.Event
	var reasons []string
	seen := map[string]bool{}
	custs := map[string]*attune.Customer{}
	for _, r := range rows {
		id := col(h, r, "tweet_id")
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		ts, _ := time.Parse("2006-01-02 15:04:05 -0700", col(h, r, "tweet_created"))
		ev := attune.Event{ID: id, CustomerID: col(h, r, "name"), Text: col(h, r, "text"), TS: ts.UTC()}
		evs = append(evs, ev)
		reasons = append(reasons, col(h, r, "negativereason"))
		sentiments = append(sentiments, col(h, r, "airline_sentiment"))
		c := custs[ev.CustomerID]
		if c == nil {
			c = &attune.Customer{ID: ev.CustomerID, First: ev.TS}
			custs[ev.CustomerID] = c
		}
		c.Frequency++
		if ev.TS.After(c.Last) {
			c.Last = ev.TS
		}
		if rt, err := strconv.ParseFloat(col(h, r, "retweet_count"), 64); err == nil {
			c.Engagement += rt
			c.HasEngagement = true
		}
	}
	docs, vecs, err := analyse(ctx, an, emb, evs)
	if err != nil {
		return nil, nil, err
	}
	pts = make([]labeledPoint, len(evs))
	for i := range evs {
		pts[i] = labeledPoint{Point: cluster.Point{Doc: docs[i], Vec: vecs[i], Customer: *custs[evs[i].CustomerID]}, label: reasons[i]}
	}
	return pts, sentiments, nil
}

// banking77Test reads the banking77 test split: evaluation only, nothing is
// tuned on it.
func banking77Test(ctx context.Context, dir string, an *nlp.Analyzer, emb *benchEmbedder) ([]labeledPoint, error) {
	h, rows, err := readCSVFile(filepath.Join(dir, "banking77", "test.csv"))
	if err != nil {
		return nil, err
	}
	evs := make([]attune.Event, len(rows))
	labels := make([]string, len(rows))
	for i, r := range rows {
		evs[i] = attune.Event{ID: "b77-" + strconv.Itoa(i), Text: col(h, r, "text")}
		labels[i] = col(h, r, "category")
	}
	docs, vecs, err := analyse(ctx, an, emb, evs)
	if err != nil {
		return nil, err
	}
	pts := make([]labeledPoint, len(evs))
	for i := range evs {
		pts[i] = labeledPoint{Point: cluster.Point{Doc: docs[i], Vec: vecs[i], Customer: attune.Customer{ID: evs[i].ID, Frequency: 1}}, label: labels[i]}
	}
	return pts, nil
}

// olistReview is one Olist review with text, joined to its order.
type olistReview struct {
	delay float64 // delivered − estimated, days; NaN when a date is missing
	// late: delivered on a calendar day after the estimated one (the
	// estimate is a date; the dataset README's 6.4 % counts this way).
	late  bool
	value float64 // order payment value; NaN when missing
	score float64
}

const olistDelayAttr = "delivery_delay_days"

// olistReviews reads the Olist reviews that carry a title or message and
// joins them to their order's delivery dates, payment value and person. The
// second result is the late share over every review with both dates, the
// population figure of the dataset README.
func olistReviews(ctx context.Context, dir string, an *nlp.Analyzer, emb *benchEmbedder) ([]cluster.Point, []olistReview, float64, error) {
	od := filepath.Join(dir, "olist")
	const layout = "2006-01-02 15:04:05"
	type order struct {
		customer      string
		purchase      time.Time
		delay         float64
		hasDelay, ok  bool
		late          bool
		value         float64
		hasValue      bool
		uniqueCustome string
	}
	orders := map[string]*order{}
	h, rows, err := readCSVFile(filepath.Join(od, "olist_orders_dataset.csv"))
	if err != nil {
		return nil, nil, 0, err
	}
	for _, r := range rows {
		o := &order{customer: col(h, r, "customer_id")}
		o.purchase, _ = time.Parse(layout, col(h, r, "order_purchase_timestamp"))
		del, err1 := time.Parse(layout, col(h, r, "order_delivered_customer_date"))
		est, err2 := time.Parse(layout, col(h, r, "order_estimated_delivery_date"))
		if err1 == nil && err2 == nil {
			o.delay, o.hasDelay = del.Sub(est).Hours()/24, true
			o.late = del.Truncate(24 * time.Hour).After(est.Truncate(24 * time.Hour))
		}
		orders[col(h, r, "order_id")] = o
	}
	h, rows, err = readCSVFile(filepath.Join(od, "olist_order_payments_dataset.csv"))
	if err != nil {
		return nil, nil, 0, err
	}
	for _, r := range rows {
		if o := orders[col(h, r, "order_id")]; o != nil {
			if v, err := strconv.ParseFloat(col(h, r, "payment_value"), 64); err == nil {
				o.value += v
				o.hasValue = true
			}
		}
	}
	h, rows, err = readCSVFile(filepath.Join(od, "olist_customers_dataset.csv"))
	if err != nil {
		return nil, nil, 0, err
	}
	person := map[string]string{}
	for _, r := range rows {
		person[col(h, r, "customer_id")] = col(h, r, "customer_unique_id")
	}
	h, rows, err = readCSVFile(filepath.Join(od, "olist_order_reviews_dataset.csv"))
	if err != nil {
		return nil, nil, 0, err
	}
	var evs []attune.Event
	var revs []olistReview
	var late, withDates float64
	seen := map[string]bool{}
	for _, r := range rows {
		o := orders[col(h, r, "order_id")]
		id := col(h, r, "review_id")
		if o == nil || seen[id] {
			continue
		}
		seen[id] = true
		if o.hasDelay {
			withDates++
			if o.late {
				late++
			}
		}
		text := strings.TrimSpace(strings.TrimSpace(col(h, r, "review_comment_title")) + ". " + strings.TrimSpace(col(h, r, "review_comment_message")))
		text = strings.TrimPrefix(text, ". ")
		if text == "." || text == "" {
			continue
		}
		score, err := strconv.ParseFloat(col(h, r, "review_score"), 64)
		if err != nil {
			continue
		}
		ts, _ := time.Parse(layout, col(h, r, "review_creation_date"))
		ev := attune.Event{ID: id, CustomerID: person[o.customer], Text: text, TS: ts, Rating: &score, Attrs: map[string]any{}}
		rv := olistReview{delay: math.NaN(), value: math.NaN(), score: score, late: o.late}
		if o.hasDelay {
			ev.Attrs[olistDelayAttr] = o.delay
			rv.delay = o.delay
		}
		if o.hasValue {
			ev.Attrs["order_value"] = o.value
			rv.value = o.value
		}
		evs = append(evs, ev)
		revs = append(revs, rv)
	}
	// Customer features as the store derives them: frequency, recency,
	// mean rating, monetary = summed order value.
	custs := map[string]*attune.Customer{}
	for _, ev := range evs {
		c := custs[ev.CustomerID]
		if c == nil {
			c = &attune.Customer{ID: ev.CustomerID, First: ev.TS}
			custs[ev.CustomerID] = c
		}
		c.Frequency++
		if ev.TS.After(c.Last) {
			c.Last = ev.TS
		}
		c.RatingSum += *ev.Rating
		c.Ratings++
		if v, ok := ev.Attrs["order_value"].(float64); ok {
			c.Monetary += v
			c.HasMonetary = true
		}
	}
	docs, vecs, err := analyse(ctx, an, emb, evs)
	if err != nil {
		return nil, nil, 0, err
	}
	pts := make([]cluster.Point, len(evs))
	for i := range evs {
		pts[i] = cluster.Point{Doc: docs[i], Vec: vecs[i], Customer: *custs[evs[i].CustomerID]}
	}
	return pts, revs, late / withDates, nil
}

// sklearnResult is what the scikit-learn script reports for one algorithm.
type sklearnResult struct {
	Labels  []int   `json:"labels"`
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the process CPU time of the fit, all threads.
	CPUSeconds float64 `json:"cpu_seconds"`
}

const sklearnScript = `
import json, sys, time
import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
path, n, d, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
x = np.fromfile(path, dtype="<f8").reshape(n, d)
out = {}
for name, make in (("kmeans", lambda: KMeans(n_clusters=k, n_init=3, max_iter=50, random_state=seed)),
                   ("minibatch", lambda: MiniBatchKMeans(n_clusters=k, n_init=3, max_iter=50, batch_size=1024, random_state=seed))):
    t, c = time.perf_counter(), time.process_time()
    labels = make().fit_predict(x)
    out[name] = {"labels": labels.tolist(), "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c}
import sklearn
out["version"] = sklearn.__version__
json.dump(out, sys.stdout)
`

// runSklearn clusters the exact matrix x (row-major n×d) with scikit-learn's
// KMeans and MiniBatchKMeans at k, with the same restarts and iteration bound
// as Attune (3 and 50).
func runSklearn(ctx context.Context, python string, x [][]float64, k int, seed int64) (km, mb sklearnResult, version string, err error) {
	f, err := os.CreateTemp("", "attune-bench-x-*.f64")
	if err != nil {
		return km, mb, "", err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriter(f)
	for _, row := range x {
		if err := binary.Write(w, binary.LittleEndian, row); err != nil {
			f.Close()
			return km, mb, "", err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return km, mb, "", err
	}
	if err := f.Close(); err != nil {
		return km, mb, "", err
	}
	cmd := exec.CommandContext(ctx, python, "-c", sklearnScript, f.Name(),
		strconv.Itoa(len(x)), strconv.Itoa(len(x[0])), strconv.Itoa(k), strconv.FormatInt(seed, 10))
	cmd.Stderr = os.Stderr
	// One thread per process, as Attune has GOMAXPROCS cores: let both
	// use the machine the same way.
	out, err := cmd.Output()
	if err != nil {
		return km, mb, "", fmt.Errorf("scikit-learn (%s; apt-get install python3-sklearn): %w", python, err)
	}
	var res struct {
		KMeans    sklearnResult `json:"kmeans"`
		MiniBatch sklearnResult `json:"minibatch"`
		Version   string        `json:"version"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return km, mb, "", fmt.Errorf("scikit-learn output: %w", err)
	}
	return res.KMeans, res.MiniBatch, res.Version, nil
}
