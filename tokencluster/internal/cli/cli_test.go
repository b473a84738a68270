// SPDX-License-Identifier: Apache-2.0

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/internal/testproc"
	"github.com/credgate/credgate/tokencluster/internal/cli"
	"github.com/credgate/credgate/tokencluster/internal/redisserver"
)

const seedFile = "../../testdata/credentials.json"

// verifyToken is the verification API credential of the test services.
const verifyToken = "cli-test-verify-token-0123456789"

// serve runs "tokencluster serve" in-process on a free loopback port and
// returns its base URL and a stop function that waits for a clean exit.
func serve(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	base, _, stop := serveLogs(t, args...)
	return base, stop
}

// serveLogs is serve that also returns the service's log.
func serveLogs(t *testing.T, args ...string) (string, *testproc.Buffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testproc.Buffer{}
	done := make(chan int, 1)
	if !slices.Contains(args, "--verify-token") && !slices.Contains(args, "--insecure-open-verify") {
		args = append(args, "--verify-token", verifyToken)
	}
	go func() {
		done <- cli.Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), io.Discard, logs)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "tokencluster listening" {
				return "http://" + rec.Addr, logs, func() {
					cancel()
					select {
					case code := <-done:
						if code != 0 {
							t.Fatalf("serve exited %d: %s", code, logs.String())
						}
					case <-time.After(15 * time.Second):
						t.Fatal("serve did not shut down")
					}
				}
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before listening: %s", code, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve not listening after 10s: %s", logs.String())
		}
	}
}

func TestSeedServeRestart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data", "tokencluster.db")
	for range 2 { // seeding is idempotent
		var out bytes.Buffer
		if code := cli.Main(context.Background(), []string{"seed", "-f", seedFile, "--data", data, "--bcrypt-cost", "4"}, &out, &out); code != 0 {
			t.Fatalf("seed exited %d: %s", code, out.String())
		}
		if !strings.Contains(out.String(), "users=1") {
			t.Fatalf("seed output: %s", out.String())
		}
	}
	base, stop := serve(t, "--data", data, "--admin-token", "adm")
	resp, err := http.PostForm(base+"/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"demo-client"}, "client_secret": {"demo-client-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	var out bytes.Buffer
	code := cli.Main(context.Background(), []string{"admin", "--url", base, "--admin-token", "adm",
		"list", "api-keys", "--sort", "id~desc"}, &out, &out)
	if code != 0 || !strings.Contains(out.String(), `"TotalResults": 3`) {
		t.Fatalf("admin list exited %d: %s", code, out.String())
	}
	stop()

	base, stop = serve(t, "--data", data)
	defer stop()
	ireq, _ := http.NewRequest(http.MethodPost, base+"/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
	ireq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ireq.Header.Set("Authorization", "Bearer "+verifyToken)
	resp, err = http.DefaultClient.Do(ireq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"active":true`) {
		t.Fatalf("token lost across restart: %s", body)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"seed"}, {"serve", "--log-level", "loud"}, {"admin", "list"}} {
		var out bytes.Buffer
		if code := cli.Main(context.Background(), args, &out, &out); code == 0 {
			t.Fatalf("%v exited 0", args)
		}
	}
	var out bytes.Buffer
	if code := cli.Main(context.Background(), []string{"serve", "-h"}, &out, &out); code != 0 ||
		!strings.Contains(out.String(), "-verify-token") {
		t.Fatalf("serve -h: %d %s", code, out.String())
	}
}

func TestSeedServeRedis(t *testing.T) {
	redisURL := redisserver.Start(t)
	var out bytes.Buffer
	if code := cli.Main(context.Background(), []string{"seed", "-f", seedFile, "--redis", redisURL, "--bcrypt-cost", "4"},
		&out, &out); code != 0 {
		t.Fatalf("seed exited %d: %s", code, out.String())
	}
	base, stop := serve(t, "--redis", redisURL)
	defer stop()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/verify",
		strings.NewReader(`{"kind":"api_key","credential":"demo-api-key-0001"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+verifyToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"active":true`) {
		t.Fatalf("verify on the Redis store: %s", body)
	}
}

// serve refuses to start without a verification credential, and starting
// it open on purpose is logged loudly.
func TestServeNeedsVerifyCredential(t *testing.T) {
	var logs bytes.Buffer
	t.Setenv("TOKENCLUSTER_VERIFY_TOKEN", "")
	code := cli.Main(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "tc.db")}, io.Discard, &logs)
	if code == 0 || !strings.Contains(logs.String(), "--insecure-open-verify") {
		t.Fatalf("exit %d, logs %s", code, logs.String())
	}
	base, stop := serve(t, "--data", filepath.Join(t.TempDir(), "tc.db"), "--insecure-open-verify")
	defer stop()
	resp, err := http.Post(base+"/v1/verify", "application/json", strings.NewReader(`{"kind":"api_key","credential":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		t.Fatal("the open API asked for a credential")
	}
}

// TestOperationsPort: --metrics-addr serves /metrics, /livez and /readyz
// without credentials on its own listener; the API port serves no /metrics.
func TestOperationsPort(t *testing.T) {
	data := filepath.Join(t.TempDir(), "tc.db")
	base, logs, stop := serveLogs(t, "--data", data, "--bcrypt-cost", "4", "--metrics-addr", "127.0.0.1:0", "--seed", seedFile)
	defer stop()
	var ops string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "tokencluster operations listening" {
			ops = "http://" + rec.Addr
		}
	}
	if ops == "" {
		t.Fatalf("no operations listener logged: %s", logs.String())
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(base + "/readyz"); code != 200 {
		t.Fatalf("API port /readyz = %d", code)
	}
	for _, tc := range []struct {
		url, want string
		code      int
	}{
		{ops + "/livez", "ok", 200},
		{ops + "/readyz", "ok", 200},
		{ops + "/metrics", `tokencluster_http_requests_total{code="200",route="GET /readyz"} 2`, 200}, // the API port's and the operations port's
		{ops + "/metrics", "tokencluster_store_up 1", 200},
		{ops + "/metrics", "go_goroutines", 200},
		{base + "/metrics", "no such endpoint", 404},
		{ops + "/v1/revocations", "404 page not found", 404}, // the API is not on the operations port
	} {
		if code, body := get(tc.url); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d, want %d with %q; body:\n%.2000s", tc.url, code, tc.code, tc.want, body)
		}
	}
}
