package nlp

import (
	"errors"
	"strings"
	"testing"

	"github.com/attune-cx/attune/nlp/nlpdata"
)

func TestRedact(t *testing.T) {
	r, err := NewRedactor()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		// banking77 training queries with PII inserted.
		{"I got charged twice for the same payment. Card 4111 1111 1111 1111 was charged twice",
			"I got charged twice for the same payment. Card [CARD] was charged twice"},
		{"How do I verify my identity? Please reply to maria.silva@example.org",
			"How do I verify my identity? Please reply to [EMAIL]"},
		{"Refund to IBAN GB82 WEST 1234 5698 7654 32 please.", "Refund to IBAN [IBAN] please."},
		{"Can you call me at +1 (415) 555-0132?", "Can you call me at [PHONE]?"},
		{"Login attempts from 192.168.10.4 and 2001:db8::8a2e:370:7334.", "Login attempts from [IP] and [IP]."},
		{"The reset link https://example.com/reset?token=ab12cd34ef56 does not work.", "The reset link [URL] does not work."},
		// Airline tweets: flight numbers, times, dates, prices and plain
		// links are not PII; a card number failing Luhn is not a card.
		{"@united flight 1142 Denver to Las Vegas 1125 on Sunday feb 22", "@united flight 1142 Denver to Las Vegas 1125 on Sunday feb 22"},
		{"@AmericanAir arrived +-10pm eastern, it was 10:20pm on 2015-02-24.", "@AmericanAir arrived +-10pm eastern, it was 10:20pm on 2015-02-24."},
		{"@JetBlue trying to charge us $550 dollars cash for tickets", "@JetBlue trying to charge us $550 dollars cash for tickets"},
		{"See https://www.united.com/help for details", "See https://www.united.com/help for details"},
		{"Card 4111 1111 1111 1112 was declined", "Card 4111 1111 1111 1112 was declined"},
	}
	for _, tt := range tests {
		got, _ := r.Redact(tt.in)
		if got != tt.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactKinds(t *testing.T) {
	if _, err := NewRedactor("SSN"); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("NewRedactor(SSN) = %v, want ErrInvalidOption", err)
	}
	r, err := NewRedactor(Email)
	if err != nil {
		t.Fatal(err)
	}
	got, found := r.Redact("mail a@b.com or call 415-555-0132")
	if got != "mail [EMAIL] or call 415-555-0132" || len(found) != 1 || found[0].Kind != Email {
		t.Errorf("email only: %q %v", got, found)
	}
}

// TestRedactCorpus measures the structured kinds on 1,000 real sentences
// (banking77 training queries, airline tweets) with generated PII of many
// formats appended, and on the same sentences without PII.
func TestRedactCorpus(t *testing.T) {
	d, err := nlpdata.Open(datasetsDir())
	if err != nil {
		t.Fatal(err)
	}
	withPII, clean, err := d.PIICorpus(1000, 7)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRedactor()
	if err != nil {
		t.Fatal(err)
	}
	sc := nlpdata.EvalPII(withPII, clean, func(s string) (string, []nlpdata.Redaction) {
		out, rs := r.Redact(s)
		var conv []nlpdata.Redaction
		for _, x := range rs {
			conv = append(conv, nlpdata.Redaction{Kind: string(x.Kind), Text: x.Text})
		}
		return out, conv
	})
	t.Logf("recall %.4f precision %.4f by kind %v; %d redactions in %d clean sentences", sc.Recall, sc.Precision, sc.RecallByKind, sc.FalseRedactions, sc.CleanSentences)
	if sc.Recall < 0.99 || sc.Precision < 0.98 {
		t.Errorf("recall %.4f precision %.4f, want ≥ 0.99 and ≥ 0.98", sc.Recall, sc.Precision)
	}
	// Real tweets hold a few real phone numbers; ordinary words must never
	// be redacted.
	for _, s := range clean {
		out, _ := r.Redact(s.Text)
		for _, f := range strings.Fields(out) {
			if strings.Contains(f, "[") && !strings.Contains(f, "[PHONE]") && !strings.Contains(s.Text, f) {
				t.Errorf("clean sentence %q redacted to %q", s.Text, out)
			}
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("call +1 415 555 0132 or mail a@b.co")
	f.Add("\xff[EMAIL]::1 4111111111111111")
	r, err := NewRedactor(AllPII...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r.Redact(s)
	})
}
