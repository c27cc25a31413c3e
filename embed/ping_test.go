package embed

import (
	"errors"
	"testing"
)

func TestPing(t *testing.T) {
	f := newFakeOllama(t, nil)
	if err := newTestClient(t, f.URL).Ping(t.Context()); err != nil {
		t.Errorf("ping a server with the model: %v", err)
	}
	c, err := NewClient(f.URL, "some-other-model")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(t.Context()); !errors.Is(err, ErrModelMissing) {
		t.Errorf("ping without the model: %v, want ErrModelMissing", err)
	}
	if sent(f) != 0 {
		t.Errorf("ping embedded %d texts", sent(f))
	}
	f.Close()
	if err := newTestClient(t, f.URL).Ping(t.Context()); err == nil {
		t.Error("ping of a stopped server succeeded")
	}
}
