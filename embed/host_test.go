package embed

import (
	"slices"
	"testing"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		loopback bool
	}{
		{"", "http://127.0.0.1:11434", true},
		{"127.0.0.1:11434", "http://127.0.0.1:11434", true},
		{"localhost", "http://localhost:11434", true},
		{":5000", "http://127.0.0.1:5000", true},
		{"http://127.0.0.1:5000/", "http://127.0.0.1:5000", true},
		{"HTTP://[::1]:5000", "http://[::1]:5000", true},
		{"::1", "http://[::1]:11434", true},
		{"https://ollama.example.com", "https://ollama.example.com:443", false},
		{"http://gpu-box:11434/ollama", "http://gpu-box:11434/ollama", false},
		{"0.0.0.0:11434", "http://0.0.0.0:11434", false},
		{"10.1.2.3", "http://10.1.2.3:11434", false},
	}
	for _, tt := range tests {
		u, err := parseHost(tt.in)
		if err != nil {
			t.Errorf("parseHost(%q): %v", tt.in, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("parseHost(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if got := isLoopback(u); got != tt.loopback {
			t.Errorf("isLoopback(%s) = %v, want %v", u, got, tt.loopback)
		}
	}
	for _, bad := range []string{"ftp://127.0.0.1", "unix:///run/ollama.sock"} {
		if u, err := parseHost(bad); err == nil {
			t.Errorf("parseHost(%q) = %s, want an error", bad, u)
		}
	}
}

func TestServeEnv(t *testing.T) {
	got := serveEnv([]string{"PATH=/usr/bin", "OLLAMA_HOST=0.0.0.0:11434", "OLLAMA_DEBUG=1", "OLLAMA_MODELS=/elsewhere"},
		map[string]string{"OLLAMA_HOST": "127.0.0.1:5000", "OLLAMA_MODELS": "/cache/models"})
	slices.Sort(got)
	want := []string{"OLLAMA_DEBUG=1", "OLLAMA_HOST=127.0.0.1:5000", "OLLAMA_MODELS=/cache/models", "PATH=/usr/bin"}
	if !slices.Equal(got, want) {
		t.Errorf("serveEnv = %q, want %q", got, want)
	}
}

func TestVersionOK(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"0.6.5", true},
		{"0.3.0", true},
		{"v0.12.1", true},
		{"1.0.0-rc1", true},
		{"0.0.0", true}, // source build
		{"unknown", true},
		{"0.2.8", false},
		{"0.1.32", false},
	}
	for _, tt := range tests {
		if got := versionOK(tt.v); got != tt.want {
			t.Errorf("versionOK(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
