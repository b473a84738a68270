// SPDX-License-Identifier: Apache-2.0

// Package testcluster runs a real token cluster process for tests: built
// once per test binary from ./tokencluster, listening on a free loopback
// port, seeded from a credentials file, and stopped when the test ends.
package testcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credgate/credgate/internal/modroot"
)

// AdminToken is the admin bearer token of every test token cluster.
const AdminToken = "test-admin-token-0123456789"

// Cluster is a running token cluster.
type Cluster struct {
	// URL is the base URL, for example http://127.0.0.1:41234.
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

var build struct {
	once sync.Once
	bin  string
	err  error
}

// binary builds the token cluster once per test binary.
func binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		root, err := modroot.Find()
		if err != nil {
			build.err = err
			return
		}
		dir, err := os.MkdirTemp("", "credgate-tokencluster-")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(dir, "tokencluster")
		cmd := exec.Command("go", "build", "-o", build.bin, "./tokencluster")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./tokencluster: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// Start runs a token cluster seeded from seedFile (a path relative to the
// module root, or absolute), with extra serve flags, and stops it when the
// test ends. It returns once the cluster answers its health check.
func Start(t testing.TB, seedFile string, flags ...string) *Cluster {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(seedFile) {
		seedFile = filepath.Join(root, seedFile)
	}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "tc.db"),
		"--seed", seedFile, "--admin-token", AdminToken, "--bcrypt-cost", "4"}, flags...)
	c := &Cluster{cmd: exec.Command(binary(t), args...), logs: &syncBuffer{}, done: make(chan error, 1)}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(t) })
	addr := make(chan string, 1)
	go c.scan(stderr, addr)
	select {
	case a := <-addr:
		c.URL = "http://" + a
	case err := <-c.done:
		t.Fatalf("token cluster exited: %v\n%s", err, c.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("token cluster did not start within 20s\n%s", c.logs.String())
	}
	c.waitHealthy(t)
	return c
}

// scan copies the cluster's log and reports the listening address.
func (c *Cluster) scan(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		c.logs.WriteString(line + "\n")
		if sent || !strings.Contains(line, "tokencluster listening") {
			continue
		}
		var rec struct{ Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Addr != "" {
			addr <- rec.Addr
			sent = true
		}
	}
	c.done <- c.cmd.Wait()
}

func (c *Cluster) waitHealthy(t testing.TB) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(c.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("token cluster at %s is not healthy\n%s", c.URL, c.logs.String())
}

// Stop ends the cluster gracefully (SIGTERM), killing it after 10 s.
func (c *Cluster) Stop(t testing.TB) {
	if c.cmd.Process == nil || c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Logs returns what the cluster logged so far.
func (c *Cluster) Logs() string { return c.logs.String() }

// Do sends a request to the cluster and returns the status and body.
func (c *Cluster) Do(t testing.TB, method, path, contentType, body string, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, c.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// Admin sends an admin API request with the admin token.
func (c *Cluster) Admin(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	return c.Do(t, method, path, "application/json", body, "Authorization", "Bearer "+AdminToken)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
