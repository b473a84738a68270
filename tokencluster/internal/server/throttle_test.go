// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// loginCase is one password or secret check, wrong and right.
type loginCase struct {
	name         string
	wrong, right func(e *env) response
	body         string // in the 429 answer: the endpoint's own error style
}

func loginCases() []loginCase {
	return []loginCase{
		{name: "session /v2/token",
			wrong: func(e *env) response { return e.postJSON("/v2/token", login("pea", "nope")) },
			right: func(e *env) response { return e.postJSON("/v2/token", demoLogin) },
			body:  `"error":"too_many_attempts"`},
		{name: "oauth /token",
			wrong: func(e *env) response {
				return e.postForm("/token", url.Values{"grant_type": {"client_credentials"}}, basic("demo-client", "nope")...)
			},
			right: func(e *env) response {
				return e.postForm("/token", url.Values{"grant_type": {"client_credentials"}}, basic("demo-client", "demo-client-secret")...)
			},
			body: `"error":"too_many_attempts"`},
		{name: "partner token",
			wrong: func(e *env) response {
				return e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "partner-7", PartnerSecret: "nope"})
			},
			right: func(e *env) response {
				return e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "partner-7", PartnerSecret: "demo-partner-secret"})
			},
			body: `"error":"too_many_attempts"`},
		{name: "customer login",
			wrong: func(e *env) response {
				return e.postJSON("/v1/customers/login", `{"email":"customer@acme.test","password":"nope"}`)
			},
			right: func(e *env) response {
				return e.postJSON("/v1/customers/login", `{"email":"customer@acme.test","password":"demo-customer-password"}`)
			},
			body: `"error":"too_many_attempts"`},
		{name: "marketcloud /tokens",
			wrong: func(e *env) response {
				return e.postJSON("/tokens", pkRequest("demo-public-key", "nope", e.clock.Now().Add(-time.Second)))
			},
			right: func(e *env) response {
				return e.postJSON("/tokens", pkRequest("demo-public-key", "demo-secret-key", e.clock.Now().Add(-time.Second)))
			},
			body: `"errors":[{"code":429`},
		{name: "sso",
			wrong: func(e *env) response {
				return e.postJSON("/v1/sso", tokenapi.SSORequest{UserID: "user-42", UserAPIKey: "nope", RedirectURL: "https://app.example/"})
			},
			right: func(e *env) response {
				return e.postJSON("/v1/sso", tokenapi.SSORequest{UserID: "user-42", UserAPIKey: "demo-user-api-key", RedirectURL: "https://app.example/"})
			},
			body: `"error":"too_many_attempts"`},
	}
}

// TestLoginThrottle: five wrong secrets for one account, then every attempt
// (even the right one) is refused with 429, Retry-After and the endpoint's
// own error body, until the backoff ends; the failures and the source are
// logged, the secrets never.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	for _, tc := range loginCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for i := 0; i < 5; i++ {
				if r := tc.wrong(e); r.status != http.StatusUnauthorized {
					t.Fatalf("wrong secret %d: status %d %s", i, r.status, r.body)
				}
			}
			for _, r := range []response{tc.wrong(e), tc.right(e)} {
				if r.status != http.StatusTooManyRequests || !strings.Contains(string(r.body), tc.body) {
					t.Fatalf("after 5 failures: %d %s, want 429 with %s", r.status, r.body, tc.body)
				}
				if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
					t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
				}
			}
			e.clock.Advance(2 * time.Second)
			if r := tc.right(e); r.status != http.StatusOK {
				t.Fatalf("after the backoff: %d %s", r.status, r.body)
			}
			logs := e.logs.String()
			if !strings.Contains(logs, `"msg":"login failed"`) || !strings.Contains(logs, `"source":"127.0.0.1"`) || strings.Contains(logs, "nope") {
				t.Fatalf("logs: %s", logs)
			}
		})
	}
}

// An unknown account is throttled exactly like a known one, so the 429
// tells nothing about which accounts exist.
func TestLoginThrottleUnknownAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	unknown := login("nobody", "demo-password")
	for i := 0; i < 5; i++ {
		if r := e.postJSON("/v2/token", unknown); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	if r := e.postJSON("/v2/token", unknown); r.status != http.StatusTooManyRequests {
		t.Fatalf("unknown account after 5 failures: %d", r.status)
	}
	if r := e.postJSON("/v2/token", demoLogin); r.status != http.StatusOK {
		t.Fatalf("another account was throttled: %d", r.status)
	}
}

// Guesses spread over many accounts from one address are caught by the
// per-source policy.
func TestLoginThrottleBySource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 0; i < 100; i++ {
		body := login("user"+strconv.Itoa(i), "demo-password")
		if r := e.postJSON("/v2/token", body); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	if r := e.postJSON("/v2/token", demoLogin); r.status != http.StatusTooManyRequests {
		t.Fatalf("a source with 100 failures: %d, want 429", r.status)
	}
}

// On Redis, two replicas count the same failures.
func TestLoginThrottleSharedOnRedis(t *testing.T) {
	t.Parallel()
	url := redisserver.Start(t)
	st := openRedis(t, url)
	a := newEnvOn(t, st)
	b := newEnvOn(t, st)
	wrong := login("pea", "nope")
	for i := 0; i < 5; i++ {
		e := []*env{a, b}[i%2]
		if r := e.postJSON("/v2/token", wrong); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	for _, e := range []*env{a, b} {
		if r := e.postJSON("/v2/token", demoLogin); r.status != http.StatusTooManyRequests {
			t.Fatalf("replica: %d, want 429", r.status)
		}
	}
	var _ store.Store = st
}

// login is a /v2/token body for the demo domain.
func login(username, password string) map[string]string {
	m := map[string]string{}
	for k, v := range demoLogin {
		m[k] = v
	}
	m["username"], m["password"] = username, password
	return m
}
