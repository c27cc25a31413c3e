package embed

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestManagedServerDiesWithParent kills a process that started a managed
// server without stopping it, as a crash or `kill -9` would, and checks
// that the server goes too.
func TestManagedServerDiesWithParent(t *testing.T) {
	if os.Getenv("ATTUNE_EMBED_HELPER") == "1" {
		return // the helper runs TestHelperStartServer instead
	}
	cfg := testServerConfig(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartServer$")
	cmd.Env = append(os.Environ(), "ATTUNE_EMBED_HELPER=1",
		"HELPER_HOST="+cfg.Host, "HELPER_BINARY="+cfg.Binary, "HELPER_CACHE="+cfg.CacheDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	sc := bufio.NewScanner(out)
	up := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "UP ") {
			up = true
			break
		}
	}
	if !up {
		cmd.Process.Kill()
		t.Fatal("helper did not start a server")
	}
	if !portOpen(cfg.Host) {
		t.Fatal("helper reported a server, but its port is closed")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for portOpen(cfg.Host) {
		if time.Now().After(deadline) {
			t.Fatalf("managed server at %s outlived its parent by 15s", cfg.Host)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHelperStartServer is the child process of the test above: it starts a
// managed server, reports it, and waits to be killed.
func TestHelperStartServer(t *testing.T) {
	if os.Getenv("ATTUNE_EMBED_HELPER") != "1" {
		t.Skip("helper process for TestManagedServerDiesWithParent")
	}
	s, err := EnsureServer(t.Context(), ServerConfig{
		Host:     os.Getenv("HELPER_HOST"),
		Manage:   true,
		Binary:   os.Getenv("HELPER_BINARY"),
		CacheDir: os.Getenv("HELPER_CACHE"),
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("UP", s.Host())
	time.Sleep(time.Minute)
}
