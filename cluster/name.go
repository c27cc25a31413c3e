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
	// Aspect is the dominant aspect the name starts with, if any.
	Aspect string `json:"aspect,omitempty"`
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
// and names the group after its dominant aspect or its best terms, and its
// attitude. topTerms bounds the terms listed per group.
//
// c-TF-IDF (Grootendorst 2022, BERTopic) weighs stem t in group c as
// tf(t,c)·log(1 + A/f(t)), where tf counts the documents of c that contain t
// (a word repeated in one text counts once) normalised by c's total, f(t)
// sums those counts over all groups and A is the mean total per group. A stem
// frequent in one group and rare elsewhere ranks first. On top, an idf over
// groups, log(1 + G/g(t)) with g(t) the number of the G groups where t is
// prominent (in at least half the share of texts of the group where it is
// commonest), sinks a word that every group uses ("flight" in airline tweets)
// below the words that tell the groups apart.
//
// A name term must also be over-represented in its group (see minNameLift)
// and used by enough of its customers (minNameShare); a stem is shown as the
// same word in every group ("thanks", not "thanks" here and "thank" there);
// and a stem that mostly comes in one two-word phrase is named by the phrase
// ("customer-service"). A group most of whose texts mention one aspect
// (Analysis.Aspects) that is no other group's dominant aspect is named after
// it first ("baggage-angry"); see minAspectShare. A group with no such term
// is named after the words with reach it uses more than the others, most
// over-represented first; failing those, after its distinctive words that few
// of its customers use; failing those, "misc".
//
// Attitudes follow LexiconBands (VADER scores); Fit uses Config.Bands.
func Describe(groups [][]attune.Doc, topTerms int) []Description {
	return describe(groups, topTerms, nil, LexiconBands)
}

// bigram is two stems that follow each other in a text.
type bigram [2]string

// describe is Describe where fixed[g], when set, is group g's name already
// (a segment that kept its previous name); the other names avoid them. fixed
// may be nil.
func describe(groups [][]attune.Doc, topTerms int, fixed []string, bands Bands) []Description {
	topTerms = max(1, topTerms)
	df := make([]map[string]int, len(groups))
	total := make([]float64, len(groups))
	f := map[string]int{}
	// Per group: the customers who used each stem, how many customers the
	// group has, in how many of its docs each stem was a hashtag, the docs
	// holding each bigram and those mentioning each aspect.
	custs := make([]map[string]map[string]bool, len(groups))
	ncust := make([]int, len(groups))
	tagged := make([]map[string]int, len(groups))
	bigrams := make([]map[bigram]int, len(groups))
	aspects := make([]map[string]int, len(groups))
	surfCounts := make([]map[string]map[string]int, len(groups))
	allSurf := map[string]map[string]int{}
	ndocs := 0
	for g, docs := range groups {
		df[g] = map[string]int{}
		custs[g] = map[string]map[string]bool{}
		tagged[g] = map[string]int{}
		bigrams[g] = map[bigram]int{}
		aspects[g] = map[string]int{}
		surfCounts[g] = map[string]map[string]int{}
		ndocs += len(docs)
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
			at := alignStems(d)
			countSurfaces(surfCounts[g], d, at)
			pairs := docBigrams(d, at)
			for i, p := range pairs {
				if !slices.Contains(pairs[:i], p) {
					bigrams[g][p]++
				}
			}
			for i, a := range d.Analysis.Aspects {
				if a.Aspect != "" && !slices.ContainsFunc(d.Analysis.Aspects[:i], func(b attune.AspectSentiment) bool { return b.Aspect == a.Aspect }) {
					aspects[g][a.Aspect]++
				}
			}
		}
		for s, words := range surfCounts[g] {
			if allSurf[s] == nil {
				allSurf[s] = map[string]int{}
			}
			for w, n := range words {
				allSurf[s][w] += n
			}
		}
		ncust[g] = len(all)
	}
	avg := sum(total) / float64(max(1, len(groups)))

	// share[g][t] is the share of group g's docs that hold t; prominent[t]
	// counts the groups where that share is at least half its peak.
	share := func(g int, s string) float64 { return float64(df[g][s]) / float64(max(1, len(groups[g]))) }
	peak := map[string]float64{}
	for g := range groups {
		for s := range df[g] {
			peak[s] = max(peak[s], share(g, s))
		}
	}
	prominent := map[string]int{}
	for g := range groups {
		for s := range df[g] {
			if 2*share(g, s) >= peak[s] {
				prominent[s]++
			}
		}
	}
	dominant := dominantAspects(groups, aspects)

	descs := make([]Description, len(groups))
	allTerms := make([][]string, len(groups)) // name terms, best first
	for g, docs := range groups {
		type scored struct {
			stem string
			w    float64
		}
		ranked := make([]scored, 0, len(df[g]))
		for s, n := range df[g] {
			idf := math.Log1p(avg / float64(f[s]))
			segIDF := math.Log1p(float64(len(groups)) / float64(max(1, prominent[s])))
			ranked = append(ranked, scored{s, float64(n) / total[g] * idf * segIDF})
		}
		slices.SortFunc(ranked, func(a, b scored) int {
			if c := cmp.Compare(b.w, a.w); c != 0 {
				return c
			}
			return strings.Compare(a.stem, b.stem)
		})
		// Terms show a word the group wrote; names show the word all groups
		// write most, so one word is not named two ways ("thanks", "thank").
		word := func(s string) string {
			if w := pickSurface(surfCounts[g][s], allSurf[s]); w != "" {
				return w
			}
			return s
		}
		nameWord := func(s string) string {
			if w := pickSurface(allSurf[s], allSurf[s]); w != "" {
				return w
			}
			return s
		}
		// lift is how many times more often g's docs hold s than the other
		// groups' docs.
		lift := func(s string) float64 {
			rest := float64(f[s]-df[g][s]) / float64(max(1, ndocs-len(docs)))
			if rest == 0 {
				return math.Inf(1)
			}
			return share(g, s) / rest
		}
		d := &descs[g]
		// Name terms; those with reach that are over-represented in g but
		// less than minNameLift; those that lack only reach. The latter two
		// name g only when it has no name term. A word g uses no more than
		// the other groups never names it: it would not tell g apart.
		var naming, fallback []string
		var mild []liftedTerm
		// extra are fallback terms that half the reach asks for: after the
		// name terms, they tell apart groups whose names collide ("thanks-
		// quick-delighted") before a numeric suffix has to.
		var extra []string
		if a := dominant[g]; a != "" {
			d.Aspect = a
			naming = append(naming, aspectSlug(a))
		}
		// reaches reports whether at least share of g's customers used
		// each of stems.
		reaches := func(stems []string, share float64) bool {
			return !slices.ContainsFunc(stems, func(s string) bool {
				return float64(len(custs[g][s])) < share*float64(ncust[g])
			})
		}
		halfReach := func(stems []string) bool { return reaches(stems, minNameShare/2) }
		named := map[string]bool{} // stems a name term already holds
		phrasesOf := phrases(bigrams[g])
		for _, r := range ranked {
			if len(d.Terms) == topTerms && len(naming) == topTerms {
				break
			}
			w := word(r.stem)
			if len(d.Terms) < topTerms && !slices.Contains(d.Terms, w) {
				// Two stems shown as one word would read as a repeat.
				d.Stems = append(d.Stems, r.stem)
				d.Terms = append(d.Terms, w)
			}
			// A segment is named after what its customers say, not after
			// a campaign hashtag nor a word a handful of them repeat.
			t := nameSafe(nameWord(r.stem))
			if t == "" || named[r.stem] || slices.Contains(naming, t) || 2*tagged[g][r.stem] >= df[g][r.stem] {
				continue
			}
			stemsOf := []string{r.stem}
			// A stem that mostly comes in one phrase is named by it, unless
			// the other word is a hashtag or already in the name.
			if b, ok := phrasesOf[r.stem]; ok && float64(b.n) >= minPhraseShare*float64(df[g][r.stem]) {
				p := b.pair
				other := p[0]
				if other == r.stem {
					other = p[1]
				}
				w0, w1 := nameSafe(nameWord(p[0])), nameSafe(nameWord(p[1]))
				if w0 != "" && w1 != "" && !named[other] && 2*tagged[g][other] < df[g][other] {
					t, stemsOf = w0+"-"+w1, p[:]
				}
			}
			if slices.Contains(naming, t) {
				continue
			}
			reach := reaches(stemsOf, minNameShare)
			if reach && lift(r.stem) >= minNameLift {
				if len(naming) < topTerms {
					naming = append(naming, t)
					for _, s := range stemsOf {
						named[s] = true
					}
				}
			} else if l := lift(r.stem); reach && l > 1 {
				if !slices.ContainsFunc(mild, func(m liftedTerm) bool { return m.term == t }) {
					mild = append(mild, liftedTerm{t, l})
				}
			} else if l >= minNameLift && len(fallback) < topTerms && !slices.Contains(fallback, t) {
				fallback = append(fallback, t)
				if halfReach(stemsOf) {
					extra = append(extra, t)
				}
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
		if len(naming) > 0 {
			allTerms[g] = append(naming, extra...)
		}
		if len(allTerms[g]) == 0 {
			// The most over-represented first: c-TF-IDF would put a word
			// every group uses often ahead of it.
			slices.SortStableFunc(mild, func(a, b liftedTerm) int { return cmp.Compare(b.lift, a.lift) })
			for _, m := range mild[:min(len(mild), topTerms)] {
				allTerms[g] = append(allTerms[g], m.term)
			}
		}
		if len(allTerms[g]) == 0 {
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

// liftedTerm is a name term and how many times more often its group uses it
// than the other groups.
type liftedTerm struct {
	term string
	lift float64
}

// minNameLift is how many times more often a term must be used in a segment
// than in the others to name it: c-TF-IDF still ranks a word every segment
// uses high in a segment that uses it a little more, and "flight" names
// nothing when every airline segment is about flights.
const minNameLift = 1.5

// minPhraseShare is the share of a stem's texts in a group that must use it
// in one two-word phrase for the phrase to name the group instead
// ("customer-service", not "customer").
const minPhraseShare = 0.5

// minAspectShare is the share of a group's texts that must mention its
// commonest aspect for the aspect to name the group: a clear majority.
const minAspectShare = 0.5

// dominantAspects returns, per group, the aspect that most of its docs
// mention (at least minAspectShare of them), or "" when there is none or
// another group has the same dominant aspect: then it tells neither apart.
func dominantAspects(groups [][]attune.Doc, counts []map[string]int) []string {
	out := make([]string, len(groups))
	n := map[string]int{}
	for g, docs := range groups {
		best, bestN := "", 0
		for a, c := range counts[g] {
			if c > bestN || c == bestN && a < best {
				best, bestN = a, c
			}
		}
		if len(docs) > 0 && float64(bestN) >= minAspectShare*float64(len(docs)) && aspectSlug(best) != "" {
			out[g] = best
			n[best]++
		}
	}
	for g, a := range out {
		if n[a] > 1 {
			out[g] = ""
		}
	}
	return out
}

// aspectSlug writes an aspect's name as name words: "wait_time" is
// "wait-time".
func aspectSlug(a string) string {
	var parts []string
	for _, p := range strings.FieldsFunc(a, func(r rune) bool { return r == '_' || r == '-' || unicode.IsSpace(r) }) {
		if p = nameSafe(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "-")
}

// phrases returns, per stem, the commonest bigram holding it in a group and
// how many docs hold that bigram (ties go to the alphabetically first pair).
func phrases(bigrams map[bigram]int) map[string]countedBigram {
	out := map[string]countedBigram{}
	for p, c := range bigrams {
		for _, s := range p {
			b, ok := out[s]
			if !ok || c > b.n || c == b.n && (p[0] < b.pair[0] || p[0] == b.pair[0] && p[1] < b.pair[1]) {
				out[s] = countedBigram{p, c}
			}
		}
	}
	return out
}

// countedBigram is a bigram and the number of docs that hold it.
type countedBigram struct {
	pair bigram
	n    int
}

// docBigrams returns the pairs of stems of d whose words are next to each
// other in the text (no stop word between them).
// at is alignStems(d).
func docBigrams(d attune.Doc, at []int) []bigram {
	var out []bigram
	for i := 1; i < len(at); i++ {
		s0, s1 := d.Analysis.Stems[i-1], d.Analysis.Stems[i]
		if at[i-1] >= 0 && at[i] == at[i-1]+1 && s0 != s1 && s0 != "" && s1 != "" {
			out = append(out, bigram{s0, s1})
		}
	}
	return out
}

// minNameShare is the share of a segment's customers that must have used a
// term for it to name the segment. c-TF-IDF ranks a word that few customers
// repeat (a campaign, one customer's thread) as highly distinctive, yet a name
// should say what the segment's customers have in common. When no term has
// that reach, the most distinctive terms name the segment anyway. Terms
// after the first, which only tell apart names that would collide, need half
// that reach.
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

// countSurfaces adds the tokens d's stems come from to counts; at is
// alignStems(d). Names and terms show a stem as such a token (see
// pickSurface), so that they read "delay", not "delai".
func countSurfaces(counts map[string]map[string]int, d attune.Doc, at []int) {
	for i, j := range at {
		if j < 0 {
			continue
		}
		s := d.Analysis.Stems[i]
		if counts[s] == nil {
			counts[s] = map[string]int{}
		}
		counts[s][d.Analysis.Tokens[j]]++
	}
}

// pickSurface returns the word among those of local (a stem's tokens in one
// group) that is commonest in global (its tokens in all groups), the shorter,
// then alphabetically first, on a tie: a stem reads the same in every group
// that uses its commonest word. "" when local is empty.
func pickSurface(local, global map[string]int) string {
	best, bestN := "", -1
	for w := range local {
		n := global[w]
		if n > bestN || n == bestN && (len(w) < len(best) || len(w) == len(best) && w < best) {
			best, bestN = w, n
		}
	}
	return best
}

// alignStems returns, for each stem of d, the index of the token it came
// from, or -1. Stems keep text order and drop stop words, so the token a stem
// came from is the next token at or after the previous match that it matches.
func alignStems(d attune.Doc) []int {
	toks := d.Analysis.Tokens
	out := make([]int, len(d.Analysis.Stems))
	pos := 0
	for j, s := range d.Analysis.Stems {
		out[j] = -1
		for i := pos; i < len(toks); i++ {
			if stemOf(s, toks[i]) {
				out[j] = i
				pos = i + 1
				break
			}
		}
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
