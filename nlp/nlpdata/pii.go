package nlpdata

import (
	"encoding/csv"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
)

// Banking77Train reads the texts of banking77/train.csv.
func (d *Dir) Banking77Train() ([]string, error) {
	b, err := d.read("banking77/train.csv")
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read banking77 train: %w", err)
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[0])
	}
	return out, nil
}

// PIIItem is one inserted piece of PII: its kind (the placeholder name,
// "EMAIL", "PHONE", …) and its text.
type PIIItem struct {
	Kind  string
	Value string
}

// PIISentence is a real sentence, with PII inserted or not.
type PIISentence struct {
	Text     string
	Inserted []PIIItem
}

// PIICorpus builds the redaction test corpus: n real customer sentences
// (banking77 training queries and airline tweets, alternating), each
// followed by a sentence carrying one or two pieces of generated PII of
// many formats, plus the same n sentences without PII (Clean), for counting
// redactions of ordinary text. Deterministic for a seed.
func (d *Dir) PIICorpus(n int, seed uint64) (withPII, clean []PIISentence, err error) {
	bank, err := d.Banking77Train()
	if err != nil {
		return nil, nil, err
	}
	air, _, err := d.Airline()
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := 0; i < n; i++ {
		var s string
		if i%2 == 0 {
			s = bank[rng.IntN(len(bank))]
		} else {
			s = air[rng.IntN(len(air))].Text
		}
		clean = append(clean, PIISentence{Text: s})
		k := 1 + rng.IntN(2)
		text := s
		var ins []PIIItem
		for j := 0; j < k; j++ {
			it := genPII(rng)
			frame := piiFrames[it.Kind][rng.IntN(len(piiFrames[it.Kind]))]
			text += " " + fmt.Sprintf(frame, it.Value)
			ins = append(ins, it)
		}
		withPII = append(withPII, PIISentence{Text: text, Inserted: ins})
	}
	return withPII, clean, nil
}

var piiFrames = map[string][]string{
	"EMAIL":  {"My email is %s.", "Please reply to %s", "(%s)", "Contact: %s, thanks"},
	"PHONE":  {"Call me at %s.", "My number is %s", "Phone: %s", "You can reach me on %s anytime."},
	"CARD":   {"My card number is %s.", "Card %s was charged twice", "They billed %s"},
	"IBAN":   {"Refund to IBAN %s please.", "My account: %s", "Send it to %s."},
	"IP":     {"Login attempts from %s.", "My IP is %s", "Blocked address %s!"},
	"URL":    {"See %s", "The reset link %s does not work.", "Tracking: %s"},
	"PERSON": {"Thanks, %s.", "My name is %s.", "Please ask for %s at the desk."},
}

var (
	firstNames = []string{"Maria", "John", "Aisha", "Carlos", "Emily", "Wei", "Olga", "James", "Fatima", "Lucas", "Sophie", "David", "Priya", "Michael", "Ana", "Robert"}
	lastNames  = []string{"Silva", "Smith", "Khan", "Garcia", "Johnson", "Chen", "Ivanova", "Brown", "Ali", "Martin", "Williams", "Patel", "Miller", "Santos", "Davis", "Wilson"}
	domains    = []string{"gmail.com", "yahoo.co.uk", "example.org", "mail.company.com.br", "outlook.de", "proton.me"}
)

// piiKinds weights the structured kinds; PERSON is generated as often as
// each of them.
var piiKinds = []string{"EMAIL", "PHONE", "CARD", "IBAN", "IP", "URL", "PERSON"}

func genPII(rng *rand.Rand) PIIItem {
	kind := piiKinds[rng.IntN(len(piiKinds))]
	first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
	digits := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	switch kind {
	case "EMAIL":
		dom := domains[rng.IntN(len(domains))]
		forms := []string{
			strings.ToLower(first + "." + last + "@" + dom),
			strings.ToLower(first+"_"+last) + digits(2) + "@" + dom,
			strings.ToLower(first[:1]+last) + "+cx@" + dom,
			strings.ToUpper(first + "@" + dom),
		}
		return PIIItem{kind, forms[rng.IntN(len(forms))]}
	case "PHONE":
		a, b, c := digits(3), digits(3), digits(4)
		forms := []string{
			"(" + a + ") " + b + "-" + c, a + "-" + b + "-" + c, a + "." + b + "." + c,
			"+1 " + a + " " + b + " " + c, "+44 20 " + digits(4) + " " + digits(4),
			"+55 11 9" + digits(4) + "-" + digits(4), "+49 30 " + digits(8),
			"+33 1 " + digits(2) + " " + digits(2) + " " + digits(2) + " " + digits(2),
			"0176 " + digits(8), "1-800-" + b + "-" + c,
		}
		return PIIItem{kind, forms[rng.IntN(len(forms))]}
	case "CARD":
		prefixes := []struct {
			p string
			n int
		}{{"4", 16}, {"51", 16}, {"55", 16}, {"34", 15}, {"37", 15}, {"6011", 16}}
		p := prefixes[rng.IntN(len(prefixes))]
		num := p.p + digits(p.n-len(p.p)-1)
		num += string(byte('0' + luhnDigit(num)))
		switch rng.IntN(3) {
		case 0:
			return PIIItem{kind, num}
		case 1:
			return PIIItem{kind, groupCard(num, " ")}
		default:
			return PIIItem{kind, groupCard(num, "-")}
		}
	case "IBAN":
		countries := []struct {
			cc  string
			len int
		}{{"DE", 18}, {"GB", 18}, {"FR", 23}, {"NL", 14}, {"ES", 20}, {"BR", 25}}
		c := countries[rng.IntN(len(countries))]
		bban := digits(c.len)
		if c.cc == "GB" {
			bban = "WEST" + digits(14)
		}
		if c.cc == "NL" {
			bban = "ABNA" + digits(10)
		}
		iban := c.cc + ibanCheck(c.cc, bban) + bban
		if rng.IntN(2) == 0 {
			var g []string
			for i := 0; i < len(iban); i += 4 {
				g = append(g, iban[i:min(i+4, len(iban))])
			}
			iban = strings.Join(g, " ")
		}
		return PIIItem{kind, iban}
	case "IP":
		if rng.IntN(3) == 0 {
			forms := []string{
				fmt.Sprintf("2001:db8:%x:%x:%x:%x:%x:%x", rng.IntN(65536), rng.IntN(65536), rng.IntN(65536), rng.IntN(65536), rng.IntN(65536), rng.IntN(65536)),
				fmt.Sprintf("2001:db8::%x:%x", rng.IntN(65536), rng.IntN(65536)),
				fmt.Sprintf("fe80::%x:%x:%x", rng.IntN(65536), rng.IntN(65536), rng.IntN(65536)),
			}
			return PIIItem{kind, forms[rng.IntN(len(forms))]}
		}
		return PIIItem{kind, fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))}
	case "URL":
		tok := fmt.Sprintf("%x%x", rng.Uint64(), rng.Uint32())
		forms := []string{
			"https://example.com/reset?token=" + tok,
			"https://shop.example.org/orders/" + tok,
			"http://www.example.net/account#session=" + tok[:20],
			"https://app.example.io/verify?email=" + strings.ToLower(first) + "&code=" + digits(6),
		}
		return PIIItem{kind, forms[rng.IntN(len(forms))]}
	default:
		return PIIItem{"PERSON", first + " " + last}
	}
}

func groupCard(num, sep string) string {
	if len(num) == 15 {
		return num[:4] + sep + num[4:10] + sep + num[10:]
	}
	var g []string
	for i := 0; i < len(num); i += 4 {
		g = append(g, num[i:min(i+4, len(num))])
	}
	return strings.Join(g, sep)
}

// luhnDigit is the check digit that makes num+digit pass the Luhn check.
func luhnDigit(num string) int {
	sum := 0
	for i := len(num) - 1; i >= 0; i-- {
		x := int(num[i] - '0')
		if (len(num)-1-i)%2 == 0 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return (10 - sum%10) % 10
}

// ibanCheck computes the two ISO 13616 check digits.
func ibanCheck(cc, bban string) string {
	var b strings.Builder
	for _, r := range bban + cc + "00" {
		if r >= 'A' && r <= 'Z' {
			fmt.Fprintf(&b, "%d", r-'A'+10)
		} else {
			b.WriteRune(r)
		}
	}
	n, _ := new(big.Int).SetString(b.String(), 10)
	m := new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("%02d", 98-m)
}

// PIIScores are recall and precision of a redactor on the corpus.
type PIIScores struct {
	Recall       float64            `json:"recall"`
	Precision    float64            `json:"precision"`
	RecallByKind map[string]float64 `json:"recall_by_kind"`
	PersonRecall float64            `json:"person_recall"`
	// PersonFalseRedactions counts names redacted in the sentences without
	// inserted PII (some are real names or places in the tweets).
	PersonFalseRedactions int `json:"person_false_redactions"`
	Inserted              int `json:"inserted"`
	CleanSentences        int `json:"clean_sentences"`
	FalseRedactions       int `json:"false_redactions"`
}

// Redaction mirrors nlp.Redaction to keep this package free of nlp.
type Redaction struct {
	Kind string
	Text string
}

// EvalPII scores redact on the corpus: recall over the structured kinds
// (all but PERSON, reported apart) counts an inserted value as found when
// the output no longer contains it and holds its placeholder; precision
// counts the redactions (in both the PII and the clean sentences, names
// excluded) that cover an inserted value of their kind.
func EvalPII(withPII, clean []PIISentence, redact func(string) (string, []Redaction)) PIIScores {
	var found, total, pFound, pTotal, good, all int
	byKind, byKindN := map[string]int{}, map[string]int{}
	for _, s := range withPII {
		out, rs := redact(s.Text)
		for _, it := range s.Inserted {
			ok := !strings.Contains(out, it.Value) && strings.Contains(out, "["+it.Kind+"]")
			if it.Kind == "PERSON" {
				pTotal++
				if ok {
					pFound++
				}
				continue
			}
			total++
			byKindN[it.Kind]++
			if ok {
				found++
				byKind[it.Kind]++
			}
		}
		for _, r := range rs {
			if r.Kind == "PERSON" {
				continue
			}
			all++
			for _, it := range s.Inserted {
				if it.Kind == r.Kind && (strings.Contains(it.Value, strings.TrimSpace(r.Text)) || strings.Contains(r.Text, it.Value)) {
					good++
					break
				}
			}
		}
	}
	falses := 0
	for _, s := range clean {
		_, rs := redact(s.Text)
		for _, r := range rs {
			falses++
			if r.Kind != "PERSON" {
				all++
			}
		}
	}
	sc := PIIScores{Inserted: total, CleanSentences: len(clean), FalseRedactions: falses, RecallByKind: map[string]float64{}}
	if total > 0 {
		sc.Recall = float64(found) / float64(total)
	}
	if all > 0 {
		sc.Precision = float64(good) / float64(all)
	}
	if pTotal > 0 {
		sc.PersonRecall = float64(pFound) / float64(pTotal)
	}
	for k, n := range byKindN {
		sc.RecallByKind[k] = float64(byKind[k]) / float64(n)
	}
	return sc
}
