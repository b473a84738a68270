// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig().WithVMs(2))
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	tests := []struct {
		name   string
		action string
		status int
		check  func(t *testing.T, resp *http.Response, body []byte)
	}{
		{name: "local response", action: "local", status: 403, check: func(t *testing.T, resp *http.Response, body []byte) {
			if string(body) != "no" || resp.Header.Get("x-reason") != "test" {
				t.Fatalf("body %q headers %v", body, resp.Header)
			}
		}},
		{name: "through the upstream", action: "set", status: 200, check: func(t *testing.T, resp *http.Response, body []byte) {
			var echo struct{ Path string }
			if err := json.Unmarshal(body, &echo); err != nil || echo.Path != "/rewritten" || resp.Header.Get("x-response-seen") != "yes" {
				t.Fatalf("body %s headers %v", body, resp.Header)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/p", nil)
			req.Header.Set("X-Test-Action", tc.action)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			tc.check(t, resp, body)
		})
	}
	req, _ := http.NewRequest("GET", srv.URL+"/p", nil)
	req.Header.Set("X-Test-Action", "close")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a closed stream answered %d", resp.StatusCode)
	}
}
