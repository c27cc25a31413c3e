package attune

import (
	"strings"
	"testing"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		max     int
		reason  string // "" = valid
	}{
		{"valid", `{"id":"1","customer_id":"c","source":"review","text":"The bag never arrived","ts":"2015-02-24T11:35:52-08:00","rating":1}`, 0, ""},
		{"valid without customer", `{"id":"2","text":"late again"}`, 0, ""},
		{"empty payload", ``, 0, ReasonEmpty},
		{"not json", `late again`, 0, ReasonMalformed},
		{"json array", `[1,2]`, 0, ReasonMalformed},
		{"wrong type", `{"id":3,"text":"x"}`, 0, ReasonMalformed},
		{"missing id", `{"text":"late again"}`, 0, ReasonMissingField},
		{"blank id", `{"id":"  ","text":"late again"}`, 0, ReasonMissingField},
		{"missing text", `{"id":"4"}`, 0, ReasonMissingField},
		{"blank text", `{"id":"5","text":" \n\t "}`, 0, ReasonEmpty},
		{"oversized", `{"id":"6","text":"` + strings.Repeat("a", 100) + `"}`, 64, ReasonOversized},
		{"invalid utf-8", "{\"id\":\"7\",\"text\":\"caf\xe9\"}", 0, ReasonInvalidUTF8},
		{"bad ts", `{"id":"8","text":"x","ts":"yesterday"}`, 0, ReasonMalformed},
		{"huge id", `{"id":"` + strings.Repeat("x", 300) + `","text":"x"}`, 0, ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tt.payload), tt.max)
			reason, perm := IsPermanent(err)
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.reason == "":
				if ev.CustomerID == "" {
					t.Errorf("valid event without customer id: %+v", ev)
				}
			case !perm || reason != tt.reason:
				t.Fatalf("err = %v (permanent %v, reason %q), want reason %q", err, perm, reason, tt.reason)
			}
		})
	}
}

func TestEventNumber(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"id":"1","text":"x","attrs":{"n":3,"s":" 4.5 ","w":"word"}}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"n": 3, "s": 4.5} {
		if got, ok := ev.Number(name); !ok || got != want {
			t.Errorf("Number(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"w", "missing"} {
		if _, ok := ev.Number(name); ok {
			t.Errorf("Number(%q) reported a number", name)
		}
	}
}
