// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credgate/credgate/e2e/gateway"
	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/modroot"
	"github.com/credgate/credgate/internal/testcluster"
)

// embeddedEnv starts a seeded token cluster, the echo upstream and the
// embedded gateway on free loopback ports, all stopped when the test ends.
func embeddedEnv(t *testing.T) *Env {
	root := moduleRoot(t)
	tc := testcluster.Start(t, seedFile)
	echo := startEcho(t)
	gw := startGateway(t, root, map[string]string{"token_cluster": tc.URL, "upstream_api": echo})
	t.Logf("embedded mode: gateway %s, token cluster %s, echo %s", gw.URL(), tc.URL, echo)
	return &Env{Gateway: gw.URL(), TokenCluster: tc.URL, AdminToken: testcluster.AdminToken,
		StopTokenCluster: func() error { tc.Stop(t); return nil }}
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startGateway runs the embedded gateway on envoy/envoy.yaml with the
// clusters mapped, on a free loopback port; its logs are shown when the
// test fails.
func startGateway(t *testing.T, root string, clusters map[string]string) *gateway.Gateway {
	t.Helper()
	wasm := filepath.Join(root, "build", "credgate.wasm")
	if _, err := os.Stat(wasm); err != nil {
		t.Fatalf("%v: run `make build` first", err)
	}
	logs := &syncBuffer{}
	gw, err := gateway.Start(context.Background(), gateway.Options{
		Bootstrap: filepath.Join(root, "envoy", "envoy.yaml"), Wasm: wasm, Listen: "127.0.0.1:0",
		Clusters: clusters, CacheDir: filepath.Join(root, "build", "wazero-cache"), LogLevel: hostcalls.LogInfo,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	})
	return gw
}

var echoBuild struct {
	once sync.Once
	bin  string
	err  error
}

// startEcho builds and runs the echo upstream on a free loopback port and
// returns its base URL.
func startEcho(t *testing.T) string {
	t.Helper()
	echoBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "credgate-echo-")
		if err != nil {
			echoBuild.err = err
			return
		}
		echoBuild.bin = filepath.Join(dir, "echo")
		cmd := exec.Command("go", "build", "-o", echoBuild.bin, "./e2e/echo")
		cmd.Dir = moduleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			echoBuild.err = fmt.Errorf("go build ./e2e/echo: %v\n%s", err, out)
		}
	})
	if echoBuild.err != nil {
		t.Fatal(echoBuild.err)
	}
	return "http://" + startProcess(t, "echo listening", echoBuild.bin, "--listen", "127.0.0.1:0")
}

// startProcess runs a server that logs a JSON line with msg and "addr",
// returns that address, and stops the server (SIGTERM) when the test ends.
func startProcess(t *testing.T, msg, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	addr := make(chan string, 1)
	logs := &syncBuffer{}
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == msg && rec.Addr != "" {
				addr <- rec.Addr
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case a := <-addr:
		return a
	case <-done:
		t.Fatalf("%s exited:\n%s", bin, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not log %q within 20s:\n%s", bin, msg, logs.String())
	}
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(v string) { _, _ = s.Write([]byte(v)) }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.b.String())
}
