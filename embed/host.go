package embed

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultHost is where Ollama listens unless told otherwise.
const DefaultHost = "127.0.0.1:11434"

const defaultPort = "11434"

// parseHost turns an Ollama address as users write it ("127.0.0.1:11434",
// "localhost", ":11434", "http://host:port/prefix") into a base URL. It
// follows the rules of Ollama's own OLLAMA_HOST so that the same value means
// the same server to attune and to the ollama CLI.
func parseHost(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultHost
	}
	scheme := "http"
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, s = strings.ToLower(s[:i]), s[i+3:]
	}
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("ollama host %q: scheme must be http or https", s)
	}
	hostport, path, _ := strings.Cut(s, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		// No port, or a bare IPv6 address: keep the whole thing as the host.
		host, port = strings.Trim(hostport, "[]"), ""
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = defaultPort
		if scheme == "https" {
			port = "443"
		}
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}
	if path != "" {
		u.Path = "/" + strings.TrimSuffix(path, "/")
	}
	if _, err := url.Parse(u.String()); err != nil {
		return nil, fmt.Errorf("ollama host %q: %w", s, err)
	}
	return u, nil
}

// isLoopback reports whether the URL's host can only be reached from this
// machine, so that a server started there is not exposed to the network.
func isLoopback(u *url.URL) bool {
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
