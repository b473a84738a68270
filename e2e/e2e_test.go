// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/internal/modroot"
	"github.com/credgate/credgate/internal/testcluster"
)

const seedFile = "tokencluster/testdata/credentials.json"

var client = &http.Client{Timeout: 10 * time.Second}

// TestE2E runs the case table against the embedded gateway (default) or,
// when CREDGATE_E2E_TARGET is set, against a running Envoy stack.
func TestE2E(t *testing.T) {
	env := externalEnv(t)
	if env == nil {
		env = embeddedEnv(t)
	}
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.NeedsOwnCluster && env.StopTokenCluster == nil {
				t.Skip("needs to stop the token cluster: runs only in embedded mode")
			}
			runCase(t, env, c)
		})
	}
}

// externalEnv reads CREDGATE_E2E_TARGET, CREDGATE_E2E_TOKENCLUSTER and
// CREDGATE_E2E_ADMIN_TOKEN; nil when no target is set.
func externalEnv(t *testing.T) *Env {
	target := os.Getenv("CREDGATE_E2E_TARGET")
	if target == "" {
		return nil
	}
	tc := os.Getenv("CREDGATE_E2E_TOKENCLUSTER")
	if tc == "" {
		t.Fatal("CREDGATE_E2E_TARGET is set but CREDGATE_E2E_TOKENCLUSTER is not (admin calls need it)")
	}
	tok := os.Getenv("CREDGATE_E2E_ADMIN_TOKEN")
	if tok == "" {
		tok = composeAdminToken(t)
	}
	vt := os.Getenv("CREDGATE_VERIFY_TOKEN")
	if vt == "" {
		t.Fatal("CREDGATE_E2E_TARGET is set but CREDGATE_VERIFY_TOKEN is not (the stack's token cluster verify credential)")
	}
	t.Logf("external mode: gateway %s, token cluster %s", target, tc)
	return &Env{Gateway: strings.TrimSuffix(target, "/"), TokenCluster: strings.TrimSuffix(tc, "/"), AdminToken: tok, VerifyToken: vt}
}

// composeAdminToken is the admin token e2e/docker-compose.yml gives the
// token cluster, or the test clusters' token when the file names none.
func composeAdminToken(t *testing.T) string {
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "e2e", "docker-compose.yml"))
	if err == nil {
		re := regexp.MustCompile(`(?:--admin-token[\s=",]+|TOKENCLUSTER_ADMIN_TOKEN["']?\s*[:=]\s*)["']?([A-Za-z0-9._-]+)`)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return testcluster.AdminToken
}

// runCase runs the steps in order with one State.
func runCase(t *testing.T, env *Env, c Case) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := State{}
	for i, st := range c.Steps {
		if st.Prepare != nil {
			st.Prepare(s)
		}
		if st.Action != nil {
			if err := st.Action(ctx, env, s); err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
			continue
		}
		if st.Parallel > 1 {
			runParallel(t, env, s, i+1, st)
			continue
		}
		runStep(t, env, s, i+1, st)
	}
}

// runParallel sends Parallel copies of a step's request at once.
func runParallel(t *testing.T, env *Env, s State, n int, st Step) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, st.Parallel)
	for range st.Parallel {
		go func() {
			status, body, err := send(ctx, env, s, st.Req)
			if err == nil {
				err = check(s, st.Want, status, body)
			}
			errs <- err
		}()
	}
	for range st.Parallel {
		if err := <-errs; err != nil {
			t.Errorf("step %d: %s %s: %v", n, st.Req.Method, s.expand(st.Req.Path), err)
		}
	}
}

// runStep sends a step's request until Want holds (Within) or for as long
// as For says, and saves the answer's fields.
func runStep(t *testing.T, env *Env, s State, n int, st Step) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	for sent := 1; ; sent++ {
		status, body, err := send(ctx, env, s, st.Req)
		if err == nil {
			err = check(s, st.Want, status, body)
		}
		if err != nil && (st.For > 0 || time.Since(start) >= st.Within) {
			t.Fatalf("step %d (request %d): %s %s: %v", n, sent, st.Req.Method, s.expand(st.Req.Path), err)
		}
		if err == nil && time.Since(start) >= st.For {
			if st.Within > 0 {
				t.Logf("step %d held after %v", n, time.Since(start).Round(time.Millisecond))
			}
			save(t, s, st.Save, body)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// send makes the request with the state's values filled in.
func send(ctx context.Context, env *Env, s State, r Req) (int, []byte, error) {
	base := env.Gateway
	if r.ToCluster {
		base = env.TokenCluster
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(s.expand(r.Body))
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, base+s.expand(r.Path), body)
	if err != nil {
		return 0, nil, err
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	for i := 0; i+1 < len(r.Headers); i += 2 {
		req.Header.Add(r.Headers[i], s.expand(r.Headers[i+1]))
	}
	switch {
	case r.Admin:
		req.Header.Set("Authorization", "Bearer "+env.AdminToken)
	case r.ToCluster && env.VerifyToken != "" && !r.NoCredential:
		req.Header.Set("Authorization", "Bearer "+env.VerifyToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// check compares a response with Want; the echo upstream's body says what
// it received.
func check(s State, w Want, status int, body []byte) error {
	switch {
	case len(w.AnyOf) > 0 && !slices.Contains(w.AnyOf, status):
		return fmt.Errorf("status %d, want one of %v: %s", status, w.AnyOf, body)
	case len(w.AnyOf) == 0 && status != w.Status:
		return fmt.Errorf("status %d, want %d: %s", status, w.Status, body)
	}
	if w.Body != "" && !strings.Contains(string(body), s.expand(w.Body)) {
		return fmt.Errorf("body %s does not contain %q", body, s.expand(w.Body))
	}
	if w.Seen == nil && w.NotSeen == nil && w.Path == "" {
		return nil
	}
	var echo struct {
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(body, &echo); err != nil || echo.Headers == nil {
		return fmt.Errorf("not an echo upstream answer: %s", body)
	}
	for k, v := range w.Seen {
		got, present := echo.Headers[k]
		if !present || (v != "*" && got != s.expand(v)) {
			return fmt.Errorf("upstream saw %s=%q (present %v), want %q; headers %v", k, got, present, s.expand(v), echo.Headers)
		}
	}
	for _, k := range w.NotSeen {
		if v, present := echo.Headers[k]; present {
			return fmt.Errorf("upstream saw %s=%q", k, v)
		}
	}
	if w.Path != "" && echo.Path != w.Path {
		return fmt.Errorf("upstream saw path %q, want %q", echo.Path, w.Path)
	}
	return nil
}

func save(t *testing.T, s State, fields map[string]string, body []byte) {
	t.Helper()
	for name, path := range fields {
		v := gjson.GetBytes(body, path)
		if !v.Exists() || v.String() == "" {
			t.Fatalf("no %s in %s", path, body)
		}
		s[name] = v.String()
	}
}

// TestComposeAdminToken reads the admin token the compose stack gives the
// token cluster, so the external mode needs no extra setting.
func TestComposeAdminToken(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "e2e", "docker-compose.yml"))
	if err != nil || !strings.Contains(string(b), "TOKENCLUSTER_ADMIN_TOKEN") {
		t.Skip("the compose file sets no TOKENCLUSTER_ADMIN_TOKEN")
	}
	if got := composeAdminToken(t); got == testcluster.AdminToken || !strings.Contains(string(b), got) {
		t.Errorf("admin token %q not taken from the compose file", got)
	}
}
