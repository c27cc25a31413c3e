package nlp

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/jdkato/prose/v2"
	"github.com/jonreiter/govader"
)

// PII is a kind of personal data [Redactor] replaces with a typed
// placeholder: the kind's name in brackets ("[EMAIL]").
type PII string

// The kinds of PII a Redactor finds.
const (
	Email  PII = "EMAIL"
	Phone  PII = "PHONE"
	Card   PII = "CARD"   // payment card numbers that pass the Luhn check
	IBAN   PII = "IBAN"   // IBANs that pass the ISO 13616 mod-97 check
	IP     PII = "IP"     // IPv4 and IPv6 addresses
	URL    PII = "URL"    // URLs that carry a query string, fragment or token-like path segment
	Person PII = "PERSON" // person names found by prose's named-entity model; opt-in
)

// DefaultPII are the kinds a Redactor finds when given none: every
// structured kind. Person names are opt-in: prose's entity model, the one
// at hand, tags many capitalised ordinary words ("Please", "Sorry") in
// customer text and misses many names, so it is filtered hard (see
// redactNames) and still measured apart by `attune bench nlp`.
var DefaultPII = []PII{URL, Email, IBAN, Card, IP, Phone}

// AllPII lists every kind, in the order a Redactor applies them: numbers
// with checksums before the looser phone pattern, so a card number is never
// read as a phone number.
var AllPII = []PII{URL, Email, IBAN, Card, IP, Phone, Person}

// Redaction is one span a Redactor replaced.
type Redaction struct {
	Kind PII
	// Text is the original text of the span; callers that must not keep
	// PII should drop it.
	Text string
}

// Redactor replaces personal data in text with typed placeholders. Build it
// with [NewRedactor]; it is read-only afterwards and safe for concurrent
// use.
type Redactor struct {
	kinds map[PII]bool
	ner   *prose.Model
}

// NewRedactor returns a Redactor for the given kinds; none means
// [DefaultPII]. An unknown kind is an error wrapping [ErrInvalidOption].
// Person names need prose's tagger and entity model, loaded here (some
// 50 ms, once).
func NewRedactor(kinds ...PII) (*Redactor, error) {
	if len(kinds) == 0 {
		kinds = DefaultPII
	}
	r := &Redactor{kinds: map[PII]bool{}}
	for _, k := range kinds {
		if !isPII(k) {
			return nil, fmt.Errorf("%w: unknown PII kind %q", ErrInvalidOption, k)
		}
		r.kinds[k] = true
	}
	if r.kinds[Person] {
		m, err := nerModel()
		if err != nil {
			return nil, err
		}
		r.ner = m
	}
	return r, nil
}

func isPII(k PII) bool {
	for _, x := range AllPII {
		if x == k {
			return true
		}
	}
	return false
}

var (
	nerOnce sync.Once
	nerM    *prose.Model
	nerErr  error
)

// nerModel loads prose's default English tagger and entity extractor once
// per process.
func nerModel() (*prose.Model, error) {
	nerOnce.Do(func() {
		doc, err := prose.NewDocument("", prose.WithSegmentation(false))
		if err != nil {
			nerErr = fmt.Errorf("load prose entity model: %w", err)
			return
		}
		nerM = doc.Model
	})
	return nerM, nerErr
}

var (
	rePIIURL = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"']+`)
	reEmail  = regexp.MustCompile(`(?i)\b[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}\b`)
	reIBAN   = regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}(?:[ \-]?[A-Z0-9]{4}){2,7}(?:[ \-]?[A-Z0-9]{1,3})?\b`)
	// Card numbers as printed: a bare run, groups of four (the last group
	// shorter for 13–19 digits), or Amex's 4-6-5, one separator throughout.
	reCard = regexp.MustCompile(`\b(?:[0-9]{13,19}|[0-9]{4}(?: [0-9]{4}){2} [0-9]{1,7}|[0-9]{4}(?:-[0-9]{4}){2}-[0-9]{1,7}|[0-9]{4}(?: [0-9]{4}){3} [0-9]{1,3}|[0-9]{4}(?:-[0-9]{4}){3}-[0-9]{1,3}|[0-9]{4} [0-9]{6} [0-9]{4,5}|[0-9]{4}-[0-9]{6}-[0-9]{4,5})\b`)
	reIPv4 = regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b`)
	reIPv6 = regexp.MustCompile(`(?i)(?:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}\b|\b(?:[0-9a-f]{1,4}:){1,7}:|::(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}\b)`)
	// A phone number: optional +country code, optional (area), then groups
	// of digits split by space, dot or dash; 7–15 digits in all (E.164).
	rePhone = regexp.MustCompile(`(?:\+[0-9]{1,3}[ .\-]?)?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{1,5}(?:[ .\-]?[0-9]{2,5}){1,5}\b`)
	// Dates and times look like phone numbers to the pattern above.
	reDate = regexp.MustCompile(`^(?:[0-9]{4}[\-./][0-9]{1,2}[\-./][0-9]{1,2}|[0-9]{1,2}[\-./][0-9]{1,2}[\-./][0-9]{2,4})$`)
	// A path or query segment of 16+ letters and digits mixed reads as a
	// token (session ids, reset links).
	reToken = regexp.MustCompile(`[A-Za-z0-9_\-]{16,}`)
)

// Redact returns text with every enabled kind of PII replaced by its
// placeholder, and what it replaced. It never panics on any input.
func (r *Redactor) Redact(text string) (string, []Redaction) {
	var found []Redaction
	replace := func(kind PII, re *regexp.Regexp, ok func(string) bool) {
		if !r.kinds[kind] {
			return
		}
		text = re.ReplaceAllStringFunc(text, func(m string) string {
			if ok != nil && !ok(m) {
				return m
			}
			found = append(found, Redaction{Kind: kind, Text: m})
			return "[" + string(kind) + "]"
		})
	}
	replace(URL, rePIIURL, tokenURL)
	replace(Email, reEmail, nil)
	replace(IBAN, reIBAN, validIBAN)
	replace(Card, reCard, luhn)
	replace(IP, reIPv4, nil)
	replace(IP, reIPv6, validIPv6)
	replace(Phone, rePhone, phoneLike)
	if r.ner != nil {
		text, found = r.redactNames(text, found)
	}
	return text, found
}

// tokenURL reports whether a URL carries something that may identify a
// person or grant access: a query string, a fragment, or a token-like path
// segment. Plain links ("https://example.com/help") stay.
func tokenURL(u string) bool {
	if strings.ContainsAny(u, "?#=") {
		return true
	}
	for _, seg := range strings.Split(u, "/")[1:] {
		if m := reToken.FindString(seg); m != "" && strings.ContainsAny(m, "0123456789") {
			return true
		}
	}
	return false
}

func digitsOf(s string) []int {
	var d []int
	for _, r := range s {
		if r >= '0' && r <= '9' {
			d = append(d, int(r-'0'))
		}
	}
	return d
}

// luhn reports whether a 13–19 digit number passes the Luhn check.
func luhn(s string) bool {
	d := digitsOf(s)
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		x := d[i]
		if (len(d)-1-i)%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// validIBAN applies the ISO 13616 mod-97 check.
func validIBAN(s string) bool {
	s = strings.NewReplacer(" ", "", "-", "").Replace(s)
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	s = s[4:] + s[:4]
	rem := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			rem = (rem*10 + int(r-'0')) % 97
		case r >= 'A' && r <= 'Z':
			rem = (rem*100 + int(r-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// validIPv6 rejects times and ratios ("10:30", "3:2") the loose pattern
// accepts: a real address has at least three groups or a "::".
func validIPv6(s string) bool {
	return strings.Count(s, ":") >= 3 || strings.Contains(s, "::") && strings.Count(s, ":") >= 2 && len(s) > 4
}

// phoneLike accepts 7–15 digits that are not a date, and a bare run of
// digits only with a + prefix or 10+ digits (order and flight numbers are
// short bare runs).
func phoneLike(s string) bool {
	n := len(digitsOf(s))
	if n < 7 || n > 15 || reDate.MatchString(s) {
		return false
	}
	if !strings.ContainsAny(s, " .-()+") && n < 10 {
		return false
	}
	return true
}

// redactNames replaces the PERSON entities prose finds. Placeholders from
// earlier steps are hidden from the tagger so "[EMAIL]" is not a name.
func (r *Redactor) redactNames(text string, found []Redaction) (string, []Redaction) {
	doc, err := prose.NewDocument(text, prose.UsingModel(r.ner), prose.WithSegmentation(false))
	if err != nil {
		return text, found
	}
	var names []string
	for _, e := range doc.Entities() {
		if e.Label == "PERSON" && plausibleName(e.Text) && strings.Contains(text, e.Text) {
			names = append(names, e.Text)
		}
	}
	// Longest first, so "Anna Smith" goes before "Anna".
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		if strings.Contains(text, n) {
			found = append(found, Redaction{Kind: Person, Text: n})
			text = strings.ReplaceAll(text, n, "["+string(Person)+"]")
		}
	}
	return text, found
}

// plausibleName keeps the entities that look like a person's full name:
// two to four words, each a capital then lowercase letters (so "JetBlue",
// "CSR" and "PLZ" are out), none of them an English stop word or a word
// VADER scores (so "Please", "Sorry", "Rude" are out), none a placeholder.
func plausibleName(s string) bool {
	words := strings.Fields(s)
	if len(words) < 2 || len(words) > 4 {
		return false
	}
	for _, w := range words {
		rs := []rune(w)
		if len(rs) < 2 || !unicode.IsUpper(rs[0]) {
			return false
		}
		for _, r := range rs[1:] {
			if !unicode.IsLower(r) {
				return false
			}
		}
		lw := strings.ToLower(w)
		if IsStopWord(lw) || isPII(PII(strings.ToUpper(w))) || commonWord(lw) {
			return false
		}
	}
	return true
}

// lexiconOnce holds VADER's lexicon for commonWord.
var (
	lexOnce sync.Once
	lex     map[string]float64
)

// commonWord reports whether a lowercased word is in VADER's lexicon or is
// a CX word names never are.
func commonWord(w string) bool {
	lexOnce.Do(func() { lex = govader.NewSentimentIntensityAnalyzer().Lexicon })
	if _, ok := lex[w]; ok {
		return true
	}
	switch w {
	case "flight", "customer", "service", "care", "airline", "card", "account", "thanks", "thank", "hi", "hello", "dear", "just", "wait", "never", "pls", "plz":
		return true
	}
	return false
}
