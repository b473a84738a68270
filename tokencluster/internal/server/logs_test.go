// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/credgate/credgate/internal/testproc"
	"github.com/credgate/credgate/tokencluster/internal/server"
)

type logLine map[string]any

func parseLogs(t *testing.T, s string) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m logLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestLogLevels: at INFO an idle poll of the revocation feed, a verification
// and a health check write nothing; state changes (issued, revoked, failed
// logins, throttling) do. At DEBUG each request adds one line.
func TestLogLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		level slog.Level
		// lines per step: idle traffic, a credential issued, an admin revoke
		idle, issued, revoked int
	}{
		{level: slog.LevelInfo, idle: 0, issued: 1, revoked: 1},
		{level: slog.LevelDebug, idle: 3, issued: 2, revoked: 2},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			t.Parallel()
			logs := &testproc.Buffer{}
			e := newEnv(t, func(o *server.Options) {
				o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: tc.level}))
			})
			count := func() int { return len(parseLogs(t, logs.String())) }
			wantStatus(t, e.do(http.MethodGet, "/readyz", "", ""), 200) // the first check logs "store up"
			if !strings.Contains(logs.String(), `"msg":"store up"`) {
				t.Fatalf("no store up line: %s", logs.String())
			}
			before := count()
			wantStatus(t, e.do(http.MethodGet, "/v1/revocations?since=0", "", ""), 200)
			wantStatus(t, e.do(http.MethodGet, "/readyz", "", ""), 200)
			wantStatus(t, e.postJSON("/v1/verify", `{"kind":"api_key","credential":"demo-api-key-0001"}`), 200)
			if got := count() - before; got != tc.idle {
				t.Errorf("idle traffic wrote %d lines, want %d:\n%s", got, tc.idle, logs.String())
			}
			before = count()
			wantStatus(t, e.postJSON("/v2/token", demoLogin), 200)
			if got := count() - before; got != tc.issued {
				t.Errorf("a session login wrote %d lines, want %d:\n%s", got, tc.issued, logs.String())
			}
			before = count()
			wantStatus(t, e.admin(http.MethodDelete, "/api-keys/demo-key", ""), 200)
			if got := count() - before; got != tc.revoked {
				t.Errorf("a revoke wrote %d lines, want %d:\n%s", got, tc.revoked, logs.String())
			}
			msgs := map[string]bool{}
			for _, l := range parseLogs(t, logs.String()) {
				msgs[l["msg"].(string)] = true
			}
			for _, m := range []string{"credential issued", "credential revoked"} {
				if !msgs[m] {
					t.Errorf("no %q line", m)
				}
			}
		})
	}
}

// TestLogCorrelation: every line written for a request carries its
// x-request-id and traceparent when they are well formed; malformed or
// repeated values are not logged at all.
func TestLogCorrelation(t *testing.T) {
	t.Parallel()
	const rid = "0f0c5e8e-8b9b-4c55-9a43-6e3b0c1f4a2d"
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name          string
		headers       []string
		wantID, wantP string
	}{
		{name: "both", headers: []string{"X-Request-Id", rid, "Traceparent", tp}, wantID: rid, wantP: tp},
		{name: "id only", headers: []string{"X-Request-Id", "req-7"}, wantID: "req-7"},
		{name: "forged JSON in the id", headers: []string{"X-Request-Id", `x","msg":"forged`, "Traceparent", tp}, wantP: tp},
		{name: "too long", headers: []string{"X-Request-Id", strings.Repeat("r", 129)}},
		{name: "bad traceparent", headers: []string{"X-Request-Id", "req-9", "Traceparent", "00-" + strings.Repeat("0", 32) + "-00f067aa0ba902b7-01"}, wantID: "req-9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &testproc.Buffer{}
			e := newEnv(t, func(o *server.Options) {
				o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			// A failed login writes "login failed" and the request line.
			wantStatus(t, e.postJSON("/v2/token", login("pea", "wrong"), tc.headers...), 401)
			lines := parseLogs(t, logs.String())
			if len(lines) < 2 {
				t.Fatalf("want the login failure and the request line, got %v", lines)
			}
			for _, l := range lines {
				if got, _ := l["request_id"].(string); got != tc.wantID {
					t.Errorf("line %v: request_id %q, want %q", l["msg"], got, tc.wantID)
				}
				if got, _ := l["traceparent"].(string); got != tc.wantP {
					t.Errorf("line %v: traceparent %q, want %q", l["msg"], got, tc.wantP)
				}
			}
			if strings.Contains(logs.String(), "forged") {
				t.Error("a malformed request id reached the log")
			}
		})
	}
	// Sent twice: ambiguous, not logged.
	logs := &testproc.Buffer{}
	e := newEnv(t, func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	req, _ := http.NewRequest(http.MethodGet, e.url+"/livez", nil)
	req.Header.Add("X-Request-Id", "a-1")
	req.Header.Add("X-Request-Id", "a-2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if strings.Contains(logs.String(), "request_id") {
		t.Errorf("a repeated x-request-id was logged: %s", logs.String())
	}
}
