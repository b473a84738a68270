// SPDX-License-Identifier: Apache-2.0

// Package testcluster runs a real token cluster process for tests: built
// once per test binary from ./tokencluster, listening on a free loopback
// port, seeded from a credentials file, and stopped when the test ends.
package testcluster

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/internal/modroot"
	"github.com/credgate/credgate/internal/testproc"
)

// AdminToken is the admin bearer token of every test token cluster.
const AdminToken = "test-admin-token-0123456789"

// VerifyToken is the verification API credential of every test token
// cluster; the plugin's test configurations send it.
const VerifyToken = "test-verify-token-0123456789abcdef"

// Cluster is a running token cluster.
type Cluster struct {
	// URL is the base URL, for example http://127.0.0.1:41234.
	URL  string
	proc *testproc.Proc
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
		"--seed", seedFile, "--admin-token", AdminToken, "--verify-token", VerifyToken, "--bcrypt-cost", "4"}, flags...)
	p := testproc.Start(t, "tokencluster listening", testproc.Build(t, "./tokencluster"), args...)
	c := &Cluster{URL: "http://" + p.Addr, proc: p}
	c.waitHealthy(t)
	return c
}

func (c *Cluster) waitHealthy(t testing.TB) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(c.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("token cluster at %s is not healthy\n%s", c.URL, c.proc.Logs())
}

// Stop ends the cluster gracefully (SIGTERM), killing it after 10 s.
func (c *Cluster) Stop(testing.TB) { c.proc.Stop() }

// Pid returns the token cluster's process id.
func (c *Cluster) Pid() int { return c.proc.Pid() }

// Logs returns what the cluster logged so far.
func (c *Cluster) Logs() string { return c.proc.Logs() }

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
