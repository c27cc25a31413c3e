package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// ServerConfig configures the embedded NATS server.
type ServerConfig struct {
	// Listen is the client address, host:port. Port 0 or -1 picks a free one.
	// Default 127.0.0.1:4222.
	Listen string
	// StoreDir is where JetStream keeps streams on disk. Required.
	StoreDir string
	// MaxPayload is the largest message the server accepts, in bytes
	// (default 16 MiB, so that events far over the worker's event limit,
	// 10 MB ones included, reach the worker and are dead-lettered as
	// oversized with a reason instead of being refused at publish).
	MaxPayload int32
	// Auth, when set, is required of every client. A listen address that
	// is not loopback is refused without Auth and without TLS.
	Auth Auth
}

// Auth is how clients authenticate to NATS: a user and password, or an
// nkey (a seed file; the server derives the public key from it), and TLS.
// The same value configures the embedded server and every client, so one
// deployment config serves both.
type Auth struct {
	User     string
	Password string
	// NKeySeedFile is a file holding a user nkey seed (SU…), as `nk -gen
	// user` writes it.
	NKeySeedFile string
	// TLSCert and TLSKey are the server certificate and key (PEM). Clients
	// use TLSCA (PEM) to verify the server; empty uses the system roots.
	TLSCert, TLSKey, TLSCA string
}

// HasCredentials reports whether clients must authenticate.
func (a Auth) HasCredentials() bool { return a.User != "" || a.NKeySeedFile != "" }

// HasTLS reports whether the server serves TLS.
func (a Auth) HasTLS() bool { return a.TLSCert != "" && a.TLSKey != "" }

// Validate reports settings that cannot work together.
func (a Auth) Validate() error {
	var errs []error
	if a.User != "" && a.NKeySeedFile != "" {
		errs = append(errs, errors.New("nats: set user/password or nkey_seed_file, not both"))
	}
	if (a.User == "") != (a.Password == "") {
		errs = append(errs, errors.New("nats: user and password go together"))
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		errs = append(errs, errors.New("nats: tls_cert and tls_key go together"))
	}
	return errors.Join(errs...)
}

// ClientOptions are the nats.Connect options that authenticate with a.
func (a Auth) ClientOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if a.User != "" {
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	}
	if a.NKeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats nkey seed: %w", err)
		}
		opts = append(opts, o)
	}
	if a.TLSCA != "" {
		opts = append(opts, nats.RootCAs(a.TLSCA))
	}
	if a.HasTLS() || a.TLSCA != "" {
		opts = append(opts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	return opts, nil
}

// IsLoopback reports whether host (a name or an address) only reaches this
// machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is an in-process nats-server with JetStream on disk.
type Server struct {
	ns *server.Server
}

// StartServer starts the embedded server and waits until it accepts clients.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("start embedded nats: no store dir")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:4222"
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = 16 << 20
	}
	host, portS, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats: listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats: listen port %q: %w", portS, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if err := cfg.Auth.Validate(); err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	if !IsLoopback(host) && (!cfg.Auth.HasCredentials() || !cfg.Auth.HasTLS()) {
		// Events carry customer text: never serve them to the network
		// unauthenticated or in clear text.
		return nil, fmt.Errorf("start embedded nats: refusing to listen on %s (not loopback) without credentials and TLS; set nats.user/nats.password or nats.nkey_seed_file, and nats.tls_cert/nats.tls_key", cfg.Listen)
	}
	opts := &server.Options{
		ServerName: "attune-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		MaxPayload: cfg.MaxPayload,
		// A pending buffer smaller than one message would cut off the
		// clients that publish the largest ones.
		MaxPending: max(int64(cfg.MaxPayload)*4, 64<<20),
		NoSigs:     true,
		NoLog:      true,
	}
	if a := cfg.Auth; a.User != "" {
		opts.Username, opts.Password = a.User, a.Password
	} else if a.NKeySeedFile != "" {
		pub, err := publicKeyOfSeed(a.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("start embedded nats: %w", err)
		}
		opts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	}
	if cfg.Auth.HasTLS() {
		tc, err := serverTLS(cfg.Auth)
		if err != nil {
			return nil, fmt.Errorf("start embedded nats: %w", err)
		}
		opts.TLSConfig, opts.TLS, opts.TLSVerify = tc, true, false
		opts.TLSTimeout = 5
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("start embedded nats on %s: not ready after 30s (port in use?)", cfg.Listen)
	}
	return &Server{ns: ns}, nil
}

func publicKeyOfSeed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("nkey seed: %w", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		kp, err = nkeys.FromSeed([]byte(strings.TrimSpace(string(b))))
	}
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

func serverTLS(a Auth) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(a.TLSCert, a.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("nats tls: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if a.TLSCA != "" {
		pem, err := os.ReadFile(a.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("nats tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("nats tls ca %s: no certificate", a.TLSCA)
		}
		tc.ClientCAs = pool
	}
	return tc, nil
}

// ClientURL is the nats:// URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits for it to finish, flushing JetStream.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
