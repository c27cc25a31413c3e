package cluster

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/attune-cx/attune"
)

// Attitude words, from most negative to most positive.
const (
	AttitudeAngry      = "angry"
	AttitudeFrustrated = "frustrated"
	AttitudeUnhappy    = "unhappy"
	AttitudeNeutral    = "neutral"
	AttitudeSatisfied  = "satisfied"
	AttitudeDelighted  = "delighted"
)

// Bands are the mean-sentiment cut-offs between the attitude words: a mean
// ≤ b[0] is angry, ≤ b[1] frustrated, < b[2] unhappy, < b[3] neutral,
// < b[4] satisfied, and delighted from b[4] on. They depend on the scorer:
// its scores for the same feelings differ in scale.
type Bands [5]float64

// LexiconBands follow the usual VADER reading (|score| < 0.05 is neutral)
// and split each side by strength; for nlp.sentiment: lexicon.
var LexiconBands = Bands{-0.5, -0.2, -0.05, 0.05, 0.4}

// ModelBands are for the learned sentiment model (nlp.sentiment: model, the
// default), whose scores are P(positive) − P(negative) blended with VADER and
// so sit near ±1 for most texts: under LexiconBands nearly every complaint
// segment read "angry". Each word is defined by the share of a segment's
// texts that carry the feeling, the rest being neutral:
//
//	angry       nine in ten texts negative
//	frustrated  65 % negative
//	unhappy     35 % negative
//	satisfied   35 % positive
//	delighted   75 % positive
//
// and converted to scores with the model's mean score per crowd label on the
// airline tweets' training split (negative −0.710, neutral −0.040, positive
// +0.681; TestModelAttitudeBands in cmd/attune re-measures them). The held-out
// fifth plays no part.
var ModelBands = Bands{-0.643, -0.475, -0.274, 0.212, 0.501}

// Attitude returns the attitude word for mean sentiment score under b.
func (b Bands) Attitude(score float64) string {
	switch {
	case score <= b[0]:
		return AttitudeAngry
	case score <= b[1]:
		return AttitudeFrustrated
	case score < b[2]:
		return AttitudeUnhappy
	case score < b[3]:
		return AttitudeNeutral
	case score < b[4]:
		return AttitudeSatisfied
	default:
		return AttitudeDelighted
	}
}

// Validate reports bands that are not increasing.
func (b Bands) Validate() error {
	for i := 1; i < len(b); i++ {
		if !(b[i] > b[i-1]) {
			return fmt.Errorf("%w: attitude bands %v are not increasing", ErrInvalidConfig, b)
		}
	}
	return nil
}

// Attitude returns the attitude word for a mean VADER compound score in
// [-1, 1] (LexiconBands).
func Attitude(score float64) string { return LexiconBands.Attitude(score) }

// miscTerm names a group none of whose texts has a content word.
const miscTerm = "misc"

// Description says what a group of texts is about and how it feels.
type Description struct {
	// Name is "<term>[-<term>…]-<attitude>", unique among the groups
	// described together.
	Name string `json:"name"`
	// Attitude is the attitude word of MeanSentiment (see Bands).
	Attitude      string  `json:"attitude"`
	MeanSentiment float64 `json:"mean_sentiment"`
	// Terms are the group's most distinctive words, best first, each shown
	// as its commonest surface form in the group.
	Terms []string `json:"terms"`
	// Stems are the stems behind Terms.
	Stems []string `json:"stems"`
}

// Name returns a unique name for each group of docs, as Describe does.
func Name(groups [][]attune.Doc) []string {
	descs := Describe(groups, DefaultTopTerms)
	names := make([]string, len(descs))
	for i, d := range descs {
		names[i] = d.Name
	}
	return names
}

// Describe ranks each group's stems by class-based TF-IDF against all groups
// and names the group after its best terms and its attitude. topTerms bounds
// the terms listed per group.
//
// c-TF-IDF (Grootendorst 2022, BERTopic) weighs stem t in group c as
// tf(t,c)·log(1 + A/f(t)), where tf counts the documents of c that contain t
// (a word repeated in one text counts once) normalised by c's total, f(t)
// sums those counts over all groups and A is the mean total per group. A stem
// frequent in one group and rare elsewhere ranks first.
//
// Attitudes follow LexiconBands (VADER scores); Fit uses Config.Bands.
func Describe(groups [][]attune.Doc, topTerms int) []Description {
	return describe(groups, topTerms, nil, LexiconBands)
}

// describe is Describe where fixed[g], when set, is group g's name already
// (a segment that kept its previous name); the other names avoid them. fixed
// may be nil.
func describe(groups [][]attune.Doc, topTerms int, fixed []string, bands Bands) []Description {
	topTerms = max(1, topTerms)
	df := make([]map[string]int, len(groups))
	total := make([]float64, len(groups))
	f := map[string]int{}
	// Per group: the customers who used each stem, how many customers the
	// group has, and in how many of its docs each stem was a hashtag.
	custs := make([]map[string]map[string]bool, len(groups))
	ncust := make([]int, len(groups))
	tagged := make([]map[string]int, len(groups))
	for g, docs := range groups {
		df[g] = map[string]int{}
		custs[g] = map[string]map[string]bool{}
		tagged[g] = map[string]int{}
		all := map[string]bool{}
		for _, d := range docs {
			cid := docCustomer(d)
			all[cid] = true
			tags := hashtags(d.Event.Text)
			seen := map[string]bool{}
			for _, s := range d.Analysis.Stems {
				if s == "" || seen[s] {
					continue
				}
				seen[s] = true
				df[g][s]++
				f[s]++
				total[g]++
				if custs[g][s] == nil {
					custs[g][s] = map[string]bool{}
				}
				custs[g][s][cid] = true
				if slices.ContainsFunc(tags, func(h string) bool { return stemOf(s, h) }) {
					tagged[g][s]++
				}
			}
		}
		ncust[g] = len(all)
	}
	avg := sum(total) / float64(max(1, len(groups)))

	descs := make([]Description, len(groups))
	allTerms := make([][]string, len(groups)) // surface forms, best first, for naming
	for g, docs := range groups {
		type scored struct {
			stem string
			w    float64
		}
		ranked := make([]scored, 0, len(df[g]))
		for s, n := range df[g] {
			ranked = append(ranked, scored{s, float64(n) / total[g] * math.Log1p(avg/float64(f[s]))})
		}
		slices.SortFunc(ranked, func(a, b scored) int {
			if c := cmp.Compare(b.w, a.w); c != 0 {
				return c
			}
			return strings.Compare(a.stem, b.stem)
		})
		surf := surfaceForms(docs)
		d := &descs[g]
		var naming, fallback []string // name terms; those that fail only coverage
		for _, r := range ranked {
			if len(d.Terms) == topTerms && len(naming) == topTerms {
				break
			}
			word := surf[r.stem]
			if word == "" {
				word = r.stem
			}
			if len(d.Terms) < topTerms && !slices.Contains(d.Terms, word) {
				// Two stems shown as one word would read as a repeat.
				d.Stems = append(d.Stems, r.stem)
				d.Terms = append(d.Terms, word)
			}
			// A segment is named after what its customers say, not after
			// a campaign hashtag nor a word a handful of them repeat.
			t := nameSafe(word)
			if t == "" || slices.Contains(naming, t) || 2*tagged[g][r.stem] >= df[g][r.stem] {
				continue
			}
			if float64(len(custs[g][r.stem])) >= minNameShare*float64(ncust[g]) {
				if len(naming) < topTerms {
					naming = append(naming, t)
				}
			} else if len(fallback) < topTerms && !slices.Contains(fallback, t) {
				fallback = append(fallback, t)
			}
		}
		var mean float64
		for _, doc := range docs {
			mean += doc.Analysis.Sentiment.Score
		}
		if len(docs) > 0 {
			mean /= float64(len(docs))
		}
		d.MeanSentiment = mean
		d.Attitude = bands.Attitude(mean)
		allTerms[g] = naming
		if len(naming) == 0 {
			allTerms[g] = fallback
		}
		if len(allTerms[g]) == 0 {
			allTerms[g] = []string{miscTerm}
		}
	}
	reserved := map[string]bool{}
	var free []int // groups to name
	for g := range groups {
		if g < len(fixed) && fixed[g] != "" {
			reserved[fixed[g]] = true
			descs[g].Name = fixed[g]
		} else {
			free = append(free, g)
		}
	}
	terms := make([][]string, len(free))
	attitudes := make([]string, len(free))
	for i, g := range free {
		terms[i], attitudes[i] = allTerms[g], descs[g].Attitude
	}
	for i, name := range uniqueNames(terms, attitudes, reserved) {
		descs[free[i]].Name = name
	}
	return descs
}

// minNameShare is the share of a segment's customers that must have used a
// term for it to name the segment. c-TF-IDF ranks a word that few customers
// repeat (a campaign, one customer's thread) as highly distinctive, yet a name
// should say what the segment's customers have in common. When no term has
// that reach, the best terms name the segment anyway.
const minNameShare = 0.1

// docCustomer is the customer a doc counts toward, as customerOf.
func docCustomer(d attune.Doc) string {
	if d.Event.CustomerID != "" {
		return d.Event.CustomerID
	}
	return "event:" + d.Event.ID
}

// hashtags returns the words text writes as #hashtags, lowercased: a '#'
// (or several) not preceded by a letter, digit or '_', followed by letters,
// digits or '_'. Cleaning keeps the words of hashtags and drops the '#', so
// this is the only place their origin is still known.
func hashtags(text string) []string {
	var out []string
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
	for i := 0; i < len(text); i++ {
		if text[i] != '#' {
			continue
		}
		if r, _ := utf8.DecodeLastRuneInString(text[:i]); i > 0 && (word(r) || r == '#') {
			continue
		}
		j := i
		for j < len(text) && text[j] == '#' {
			j++
		}
		start := j
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if !word(r) {
				break
			}
			j += n
		}
		if j > start {
			out = append(out, strings.ToLower(text[start:j]))
		}
		i = j - 1
	}
	return out
}

// uniqueNames names group g "<first depth terms>-<attitude>", starting at one
// term and giving every group whose name collides (with another group's or a
// reserved name) one more term, until names are unique or terms run out; any
// collision left then gets a numeric suffix, in group order.
func uniqueNames(terms [][]string, attitudes []string, reserved map[string]bool) []string {
	depth := make([]int, len(terms))
	names := make([]string, len(terms))
	build := func(g int) string {
		parts := append(slices.Clone(terms[g][:depth[g]]), attitudes[g])
		return strings.Join(parts, "-")
	}
	for g := range terms {
		depth[g] = 1
		names[g] = build(g)
	}
	for {
		count := map[string]int{}
		for _, n := range names {
			count[n]++
		}
		grew := false
		for g, n := range names {
			if (count[n] > 1 || reserved[n]) && depth[g] < len(terms[g]) {
				depth[g]++
				grew = true
			}
		}
		if !grew {
			break
		}
		for g := range names {
			names[g] = build(g)
		}
	}
	used := map[string]bool{}
	for n := range reserved {
		used[n] = true
	}
	for g, n := range names {
		name := n
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("%s-%d", n, i)
		}
		used[name] = true
		names[g] = name
	}
	return names
}

// nameSafe keeps the letters and digits of a word so that names stay
// hyphen-separated slugs.
func nameSafe(w string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, w)
}

// surfaceForms maps each stem of docs to the token it most often comes from
// (the shorter, then alphabetically first, on a tie), so that names read
// "delay", not "delai".
func surfaceForms(docs []attune.Doc) map[string]string {
	counts := map[string]map[string]int{}
	for _, d := range docs {
		toks := d.Analysis.Tokens
		pos := 0
		for _, s := range d.Analysis.Stems {
			// Stems keep text order and drop stop words, so the token a stem
			// came from is the next token at or after pos that it matches.
			for i := pos; i < len(toks); i++ {
				if stemOf(s, toks[i]) {
					if counts[s] == nil {
						counts[s] = map[string]int{}
					}
					counts[s][toks[i]]++
					pos = i + 1
					break
				}
			}
		}
	}
	out := make(map[string]string, len(counts))
	for s, words := range counts {
		best, bestN := "", 0
		for w, n := range words {
			if n > bestN || n == bestN && (len(w) < len(best) || len(w) == len(best) && w < best) {
				best, bestN = w, n
			}
		}
		out[s] = best
	}
	return out
}

// stemOf reports whether token plausibly stems to stem without running the
// stemmer: Snowball stems are prefixes of their word, except that a final y
// may turn into i ("happy"→"happi", "fly"→"fli") and a doubled consonant or
// final e may go ("cancelled"→"cancel"), which keeps all of the stem but its
// last letter as a prefix. Short stems must match exactly, or "fli" would
// claim "flight".
func stemOf(stem, token string) bool {
	if strings.HasPrefix(token, stem) {
		return true
	}
	if base, ok := strings.CutSuffix(stem, "i"); ok && strings.HasPrefix(token, base+"y") {
		return true
	}
	return len(stem) >= 4 && strings.HasPrefix(token, stem[:len(stem)-1])
}
