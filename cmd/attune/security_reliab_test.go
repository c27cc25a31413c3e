package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestConfigPrinterMasksSecrets: `attune config` never prints the NATS
// password or credentials embedded in URLs.
func TestConfigPrinterMasksSecrets(t *testing.T) {
	const pw, urlPW = "hunter2-pass", "url-secret-77"
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"config", "--set", "nats.user=attune", "--set", "nats.password=" + pw,
		"--set", "nats.url=nats://attune:" + urlPW + "@10.0.0.5:4222,nats://tok-" + urlPW + "@10.0.0.6:4222"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, pw) || strings.Contains(s, urlPW) {
		t.Fatalf("config output shows a secret:\n%s", s)
	}
	for _, want := range []string{"password: '[REDACTED]'", "nats://attune:[REDACTED]@10.0.0.5:4222", "nats://[REDACTED]@10.0.0.6:4222", "user: attune"} {
		if !strings.Contains(s, want) {
			t.Errorf("config output lacks %q:\n%s", want, s)
		}
	}
}

// TestEmbeddedNATSCredentials: with nats.user/password set, the embedded
// server requires them, attune clients configured alike connect, a client
// with the wrong password is refused, and neither the logs nor the errors
// carry the password.
func TestEmbeddedNATSCredentials(t *testing.T) {
	const pw = "s3cret-in-config"
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := testConfig(t)
	cfg.NATS.User, cfg.NATS.Password = "attune", pw
	srv := newApp(cfg, log)
	defer srv.Close()
	ctx := context.Background()
	if err := srv.connectNATS(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ensureStreams(ctx); err != nil {
		t.Fatal(err)
	}

	client := newApp(cfg, log)
	defer client.Close()
	if err := client.connectNATS(ctx, false); err != nil {
		t.Fatalf("client with the configured credentials: %v", err)
	}

	wrong := *cfg
	wrong.NATS.Password = "guess"
	bad := newApp(&wrong, log)
	defer bad.Close()
	err := bad.connectNATS(ctx, false)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("client with a wrong password: %v, want an authorization error", err)
	}

	withURL := *cfg
	withURL.NATS.URL = fmt.Sprintf("nats://attune:%s@127.0.0.1:1", pw)
	unreachable := newApp(&withURL, log)
	defer unreachable.Close()
	if err := unreachable.connectNATS(ctx, false); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("connect error shows the password or no error: %v", err)
	}
	if strings.Contains(logs.String(), pw) {
		t.Errorf("logs show the password:\n%s", logs.String())
	}
}
