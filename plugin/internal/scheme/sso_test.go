// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"encoding/json"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

func TestSSOPrepare(t *testing.T) {
	v, _ := NewSSO(SSOOptions{})
	r := reqTo("/login?sso-token=abc%2Bdef&next=/x", "h")
	if !v.Present(r) || v.Present(reqTo("/login", "h", "sso-token", "abc")) {
		t.Fatal("Present must read the query parameter only")
	}
	l, d := v.Prepare(r, stamp.Of(testNow))
	if d != nil {
		t.Fatal(d)
	}
	if !l.NoCache {
		t.Fatal("a single-use token's answer must never be cached")
	}
	if l.Path != tokenapi.PathVerify || l.Digest() != tokenapi.Digest("abc+def") {
		t.Fatalf("lookup %+v", l)
	}
	var body tokenapi.VerifyRequest
	if json.Unmarshal(l.AppendBody(nil), &body) != nil || body != (tokenapi.VerifyRequest{Kind: tokenapi.KindSSO, Credential: "abc+def"}) {
		t.Fatalf("body %s", l.AppendBody(nil))
	}
	_, d = v.Prepare(reqTo("/login?sso-token=", "h"), stamp.Of(testNow))
	wantDeny(t, d, authn.ErrMalformed, "sso_malformed", 401)
	_, d = v.Prepare(reqTo("/login", "h"), stamp.Of(testNow))
	wantDeny(t, d, authn.ErrMissing, "sso_missing", 401)
	if loc := v.Strip(); len(loc.Query) != 1 || loc.Query[0] != "sso-token" || len(loc.Headers) != 0 {
		t.Fatalf("strip %+v", loc)
	}
}

func TestSSOComplete(t *testing.T) {
	v, _ := NewSSO(SSOOptions{})
	r := reqTo("/login?sso-token=abc", "h")
	tests := []struct {
		name   string
		req    authn.Request
		answer *authn.Answer
		kind   error
		reason string
	}{
		{name: "first use", req: r, answer: active(tokenapi.KindSSO, func(a *authn.Answer) { a.Digest = tokenapi.Digest("abc") })},
		{name: "consumed", req: r, answer: inactive(tokenapi.ReasonConsumed), kind: authn.ErrInvalid, reason: "sso_consumed"},
		{name: "expired", req: r, answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "sso_expired"},
		{name: "unknown", req: r, answer: inactive(tokenapi.ReasonUnknown), kind: authn.ErrInvalid, reason: "sso_invalid"},
		{name: "revoked user", req: r, answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "sso_revoked"},
		{name: "api key answer", req: r, answer: active(tokenapi.KindAPIKey, nil), kind: authn.ErrInvalid, reason: "sso_wrong_kind"},
		{name: "no token", req: reqTo("/login", "h"), answer: active(tokenapi.KindSSO, nil), kind: authn.ErrMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, d := v.Complete(tc.req, tc.answer, stamp.Of(testNow))
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, 401)
				return
			}
			if d != nil || id.Subject != "sub-1" || id.Scheme != SSOName || id.TokenType != "sso" {
				t.Fatalf("identity %+v, %v", id, d)
			}
		})
	}
}
