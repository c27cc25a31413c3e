package nlp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jonreiter/govader"
)

// Model is a three-class (negative, neutral, positive) multinomial logistic
// regression over sparse text features: the VADER scores of the text (when
// the model was trained with them), its word stems and stem bigrams with
// negation scope marked, and punctuation cues. It is how the stage learns
// what VADER's lexicon misses on customer text — "delayed", "on hold",
// "still waiting", "refund" — from labelled training data rather than from a
// hand-written list. Weights are trained by [Train] and shipped embedded
// (see train.go and the go:generate line in gen.go); a Model only reads them.
type Model struct {
	// Lang is the language the model reads ("en", "pt").
	Lang string
	// Vader says whether the VADER scores are features (English only).
	Vader bool
	// Blend is the weight of VADER's compound score in the score the
	// Analyzer reports, the rest being P(positive) − P(negative): the model
	// decides the label, while VADER's intensity rules (caps, "!!!",
	// boosters) keep grading how strong the feeling is; a blend that would
	// cross zero against the label stays on the label's side. Chosen by
	// leave-one-source-out validation on the training data against graded
	// gold (train -loso).
	Blend float64
	// W maps a feature to its weights for the classes negative, neutral,
	// positive.
	W map[string]*[3]float64
}

// classes of a Model, in weight order.
const (
	clsNeg = iota
	clsNeu
	clsPos
)

// feature is one named feature with its value.
type feature struct {
	name string
	v    float64
}

// negators open a negation scope that ends at the next clause punctuation;
// words inside are marked "!" so "not good" and "good" are different features.
var negators = map[string]bool{
	"not": true, "no": true, "never": true, "nothing": true, "nobody": true, "none": true,
	"nor": true, "neither": true, "without": true, "cannot": true, "cant": true, "dont": true,
	"didnt": true, "doesnt": true, "isnt": true, "wasnt": true, "arent": true, "werent": true,
	"wont": true, "havent": true, "hasnt": true, "hadnt": true, "couldnt": true, "shouldnt": true,
	"wouldnt": true, "aint": true,
	// Portuguese.
	"não": true, "nao": true, "nunca": true, "nem": true, "nada": true, "sem": true, "ninguém": true,
}

var vaderBins = [10]string{"v:bin0", "v:bin1", "v:bin2", "v:bin3", "v:bin4", "v:bin5", "v:bin6", "v:bin7", "v:bin8", "v:bin9"}

// features extracts the sparse features of text (already cleaned by
// sentimentText) for a model reading lang with the given stemmer.
// It also returns how many words (and emoji) the text has.
func features(text string, vs *govader.Sentiment, stem *stemmer) ([]feature, int) {
	fs := make([]feature, 0, 32)
	n := eachFeature(text, vs, stem, func(name []byte, v float64) {
		fs = append(fs, feature{string(name), v})
	})
	return fs, n
}

// eachFeature calls emit with each feature of text (already cleaned by
// sentimentText) in turn, as [features] lists them, and returns how many
// words (and emoji) the text has. The name passed to emit is only valid
// during the call, so that no feature name is allocated.
func eachFeature(text string, vs *govader.Sentiment, stem *stemmer, emit func(name []byte, v float64)) int {
	var nameBuf [96]byte
	name := func(parts ...string) []byte {
		b := nameBuf[:0]
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	emit(name("bias"), 1)
	if vs != nil {
		c := vs.Compound
		emit(name("v:compound"), c)
		emit(name("v:compound3"), c*c*c)
		emit(name("v:pos"), vs.Positive)
		emit(name("v:neg"), vs.Negative)
		// A one-hot bin of the compound lets the model bend VADER's
		// scale where the data says so, not only scale it.
		emit(name(vaderBins[int((c+1)*4.999)]), 1)
	}
	var wordStack [64]string
	words, marks := splitWords(text, wordStack[:0])
	n := 0
	for _, w := range words {
		if w != "" {
			n++
		}
	}
	// The sparse part is scaled so long texts do not get extreme scores
	// only for being long; the dense VADER features keep their scale.
	scale := 1.0
	if n > 0 {
		scale = 1 / math.Sqrt(float64(n))
	}
	var lowBuf, prevBuf, curBuf [64]byte
	prev := append(prevBuf[:0], '^')
	neg := false
	for _, w := range words {
		if w == "" { // clause boundary
			neg = false
			prev = append(prev[:0], '^')
			continue
		}
		lw := lowerNoApostrophe(lowBuf[:0], w)
		cur := curBuf[:0]
		if neg {
			cur = append(cur, '!')
		}
		if utf8.RuneCount(lw) > 2 {
			cur = append(cur, stem.stemBytes(lw)...)
		} else {
			cur = append(cur, lw...)
		}
		b := append(nameBuf[:0], "u:"...)
		emit(append(b, cur...), scale)
		b = append(nameBuf[:0], "b:"...)
		b = append(b, prev...)
		b = append(b, '_')
		emit(append(b, cur...), scale)
		prev = append(prev[:0], cur...)
		if negators[string(lw)] {
			neg = true
		}
	}
	if marks.exclaim > 0 {
		emit(name("p:!"), 1)
	}
	if marks.question > 0 {
		emit(name("p:?"), 1)
	}
	if marks.caps > 0 {
		emit(name("p:caps"), 1)
	}
	return n
}

// lowerNoApostrophe appends w lowercased, without its apostrophes, to b.
func lowerNoApostrophe(b []byte, w string) []byte {
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != '\'' {
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(w[i:])
		i += size
		if r == '’' {
			continue
		}
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return b
}

type punctMarks struct{ exclaim, question, caps int }

// splitWords appends to out the words of text (letters, digits,
// apostrophes), single emoji and symbols as their own words, and "" at
// clause punctuation; ’ in a word is read as '.
func splitWords(text string, out []string) ([]string, punctMarks) {
	var m punctMarks
	start := -1
	curly := false // the word since start has a ’
	flush := func(i int) {
		if start < 0 {
			return
		}
		w := text[start:i]
		if len(w) > 2 && isAllCaps(w) {
			m.caps++
		}
		if curly {
			w = strings.ReplaceAll(w, "’", "'")
		}
		out = append(out, w)
		start = -1
		curly = false
	}
	for i, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (r == '\'' || r == '’') && start >= 0:
			if start < 0 {
				start = i
			}
			curly = curly || r == '’'
		default:
			flush(i)
			switch {
			case r < utf8.RuneSelf && isClausePunctASCII[r] || r == '…':
				if r == '!' {
					m.exclaim++
				}
				if r == '?' {
					m.question++
				}
				if len(out) > 0 && out[len(out)-1] != "" {
					out = append(out, "")
				}
			case r == '^' || r == '`' || // the ASCII symbols of So and Sk
				r >= utf8.RuneSelf && (unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r)):
				if r == utf8.RuneError {
					out = append(out, "\uFFFD")
				} else {
					out = append(out, text[i:i+utf8.RuneLen(r)])
				}
			}
		}
	}
	flush(len(text))
	return out, m
}

// isClausePunctASCII marks the ASCII characters that end a clause for
// splitWords: . , ; : ! ? ( ) and ".
var isClausePunctASCII = func() (set [utf8.RuneSelf]bool) {
	for _, c := range ".,;:!?()\"" {
		set[c] = true
	}
	return set
}()

// isAllCaps reports whether w has a letter that changes case and none in
// lower case: strings.ToUpper(w) == w && strings.ToLower(w) != w.
func isAllCaps(w string) bool {
	changes := false
	for _, r := range w {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				return false
			}
			changes = changes || 'A' <= r && r <= 'Z'
			continue
		}
		if unicode.ToUpper(r) != r {
			return false
		}
		changes = changes || unicode.ToLower(r) != r
	}
	return changes
}

// probs returns the class probabilities of the feature vector.
func (m *Model) probs(fs []feature) [3]float64 {
	var z [3]float64
	for _, f := range fs {
		if w, ok := m.W[f.name]; ok {
			for k := range z {
				z[k] += w[k] * f.v
			}
		}
	}
	return softmax(z)
}

func softmax(z [3]float64) [3]float64 {
	mx := math.Max(z[0], math.Max(z[1], z[2]))
	var p [3]float64
	sum := 0.0
	for k := range z {
		p[k] = math.Exp(z[k] - mx)
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
	return p
}

// encode writes the model as gzipped text: a header line "lang vader blend",
// then "feature TAB wneg TAB wneu TAB wpos" per feature, sorted by the caller.
func (m *Model) encode(w io.Writer, names []string) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("gzip model: %w", err)
	}
	bw := bufio.NewWriter(zw)
	fmt.Fprintf(bw, "%s\t%t\t%g\n", m.Lang, m.Vader, m.Blend)
	for _, n := range names {
		ws := m.W[n]
		fmt.Fprintf(bw, "%s\t%s\t%s\t%s\n", n,
			strconv.FormatFloat(ws[0], 'g', 4, 64),
			strconv.FormatFloat(ws[1], 'g', 4, 64),
			strconv.FormatFloat(ws[2], 'g', 4, 64))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return zw.Close()
}

// decodeModel reads a model written by encode.
func decodeModel(b []byte) (*Model, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode sentiment model: %w", err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("decode sentiment model: empty")
	}
	head := strings.Split(sc.Text(), "\t")
	if len(head) != 3 {
		return nil, fmt.Errorf("decode sentiment model: bad header %q", sc.Text())
	}
	m := &Model{Lang: head[0], Vader: head[1] == "true", W: map[string]*[3]float64{}}
	if m.Blend, err = strconv.ParseFloat(head[2], 64); err != nil || m.Blend < 0 || m.Blend > 1 {
		return nil, fmt.Errorf("decode sentiment model: bad blend %q", head[2])
	}
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 4 {
			return nil, fmt.Errorf("decode sentiment model: bad line %q", sc.Text())
		}
		var ws [3]float64
		for k := range ws {
			if ws[k], err = strconv.ParseFloat(parts[k+1], 64); err != nil {
				return nil, fmt.Errorf("decode sentiment model: %w", err)
			}
		}
		m.W[parts[0]] = &ws
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("decode sentiment model: %w", err)
	}
	return m, nil
}
