// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

func TestTenantSource(t *testing.T) {
	r := reqTo("/v1/acme/orders", "Shop.Example.com", "x-tenant", "beta")
	tests := []struct {
		name   string
		src    TenantSource
		want   string
		wantOK bool
	}{
		{name: "header", src: TenantSource{From: TenantFromHeader, Header: "x-tenant"}, want: "beta", wantOK: true},
		{name: "absent header", src: TenantSource{From: TenantFromHeader, Header: "x-other"}},
		{name: "host label 0", src: TenantSource{From: TenantFromHostLabel, Index: 0}, want: "shop", wantOK: true},
		{name: "host label 2", src: TenantSource{From: TenantFromHostLabel, Index: 2}, want: "com", wantOK: true},
		{name: "host label past the end", src: TenantSource{From: TenantFromHostLabel, Index: 3}},
		{name: "path segment 2", src: TenantSource{From: TenantFromPathSegment, Index: 2}, want: "acme", wantOK: true},
		{name: "path segment past the end", src: TenantSource{From: TenantFromPathSegment, Index: 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.src.Tenant(r)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("tenant %q %v, want %q %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
	if _, ok := (TenantSource{From: TenantFromPathSegment, Index: 1}).Tenant(reqTo("/", "h")); ok {
		t.Fatal("empty path segment named a tenant")
	}
}

func TestAPIKeyOptions(t *testing.T) {
	for _, bad := range []TenantSource{
		{From: TenantFromHeader}, {From: TenantFromHeader, Header: "X-Tenant"}, {From: TenantFromHostLabel, Index: -1},
		{From: TenantFromPathSegment, Index: 0}, {From: "cookie"},
	} {
		if _, err := NewAPIKey(APIKeyOptions{Tenant: bad}); err == nil {
			t.Errorf("accepted tenant source %+v", bad)
		}
	}
}

func TestAPIKeyPrepare(t *testing.T) {
	v, _ := NewAPIKey(APIKeyOptions{Tenant: TenantSource{From: TenantFromHeader, Header: "x-tenant"}})
	if !v.Present(reqTo("/", "h", "ApiKey", "")) || v.Present(reqTo("/", "h", "authorization", "Bearer x")) {
		t.Fatal("Present")
	}
	claim, _ := NewAPIKey(APIKeyOptions{ClaimMissing: true})
	if !claim.Present(reqTo("/", "h")) || !claim.Present(reqTo("/", "h", "authorization", "Bearer x")) {
		t.Fatal("a last api_key scheme does not claim requests without an ApiKey header")
	}
	l, d := v.Prepare(reqTo("/", "h", "ApiKey", "key-123", "x-tenant", "acme"), stamp.Of(testNow))
	if d != nil {
		t.Fatal(d)
	}
	checkLookup(t, l, tokenapi.PathVerify, APIKeyName, "key-123", "key-123")
	var body tokenapi.VerifyRequest
	if err := json.Unmarshal(l.AppendBody(nil), &body); err != nil || l.ContentType != "application/json" {
		t.Fatalf("body %s: %v", l.AppendBody(nil), err)
	}
	if body != (tokenapi.VerifyRequest{Kind: tokenapi.KindAPIKey, Credential: "key-123"}) {
		t.Fatalf("body = %+v", body)
	}
	tests := []struct {
		name   string
		req    authn.Request
		kind   error
		reason string
		code   int
	}{
		// The platform answers code -23 for every ApiKey failure.
		{name: "missing", req: reqTo("/", "h"), kind: authn.ErrMissing, reason: "api_key_missing", code: CodeAPIKey},
		{name: "missing, other credentials", req: reqTo("/", "h", "authorization", "Bearer x", "x-tenant", "acme"), kind: authn.ErrMissing, reason: "api_key_missing", code: CodeAPIKey},
		{name: "empty", req: reqTo("/", "h", "apikey", "", "x-tenant", "acme"), kind: authn.ErrMalformed, reason: "api_key_malformed", code: CodeAPIKey},
		{name: "space", req: reqTo("/", "h", "apikey", "a b", "x-tenant", "acme"), kind: authn.ErrMalformed, reason: "api_key_malformed", code: CodeAPIKey},
		{name: "control character", req: reqTo("/", "h", "apikey", "a\x01b", "x-tenant", "acme"), kind: authn.ErrMalformed, reason: "api_key_malformed", code: CodeAPIKey},
		{name: "too long", req: reqTo("/", "h", "apikey", strings.Repeat("k", authn.MaxHeaderValue+1), "x-tenant", "acme"), kind: authn.ErrMalformed, code: CodeAPIKey},
		{name: "no tenant", req: reqTo("/", "h", "apikey", "key-123"), kind: authn.ErrInvalid, reason: "api_key_no_tenant", code: CodeAPIKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d := v.Prepare(tc.req, stamp.Of(testNow))
			wantDeny(t, d, tc.kind, tc.reason, 401)
			if d.Code != tc.code {
				t.Fatalf("code %d, want %d", d.Code, tc.code)
			}
		})
	}
}

func TestAPIKeyComplete(t *testing.T) {
	hostTenant := TenantSource{From: TenantFromHostLabel, Index: 0}
	key := func(edit func(a *authn.Answer)) *authn.Answer {
		return active(tokenapi.KindAPIKey, func(a *authn.Answer) {
			a.Digest = tokenapi.Digest("key-123")
			if edit != nil {
				edit(a)
			}
		})
	}
	tests := []struct {
		name   string
		opts   APIKeyOptions
		host   string
		answer *authn.Answer
		kind   error
		reason string
		status int
		code   int
	}{
		{name: "no tenant check", host: "other.example", answer: key(nil)},
		{name: "tenant from host", opts: APIKeyOptions{Tenant: hostTenant}, host: "acme.api.example", answer: key(nil)},
		{name: "key of another tenant", opts: APIKeyOptions{Tenant: hostTenant}, host: "beta.api.example", answer: key(nil), kind: authn.ErrInvalid, reason: "api_key_wrong_tenant", status: 401, code: -23},
		{name: "allowed tenant", opts: APIKeyOptions{AllowedTenants: []string{"zeta", "acme"}}, host: "h", answer: key(nil)},
		{name: "tenant not allowed", opts: APIKeyOptions{AllowedTenants: []string{"zeta"}}, host: "h", answer: key(nil), kind: authn.ErrForbidden, reason: "api_key_tenant_forbidden", status: 403},
		{name: "wrong tenant before allow list", opts: APIKeyOptions{Tenant: hostTenant, AllowedTenants: []string{"zeta"}}, host: "beta.x", answer: key(nil), kind: authn.ErrInvalid, code: -23},
		{name: "unknown", host: "h", answer: inactive(tokenapi.ReasonUnknown), kind: authn.ErrInvalid, reason: "api_key_invalid", status: 401, code: -23},
		{name: "expired", host: "h", answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "api_key_expired", status: 401, code: -23},
		{name: "expired while cached", host: "h", answer: key(func(a *authn.Answer) { a.ExpiresAt = stamp.Of(testNow) }), kind: authn.ErrExpired, reason: "api_key_expired", status: 401, code: -23},
		{name: "revoked", host: "h", answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "api_key_revoked", status: 401, code: -23},
		{name: "answer of another kind", host: "h", answer: key(func(a *authn.Answer) { a.Kind = tokenapi.KindOAuth2 }), kind: authn.ErrInvalid, status: 401, code: -23},
		{name: "answer for another key", host: "h", answer: key(func(a *authn.Answer) { a.Digest = tokenapi.Digest("other") }), kind: authn.ErrUnavailable, status: 503},
		{name: "no subject", host: "h", answer: key(func(a *authn.Answer) { a.Subject = "" }), kind: authn.ErrInvalid, status: 401, code: -23},
		{name: "no answer", host: "h", kind: authn.ErrUnavailable, status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewAPIKey(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			id, d := v.Complete(reqTo("/", tc.host, "apikey", "key-123"), tc.answer, stamp.Of(testNow))
			if l, _ := v.Prepare(reqTo("/", tc.host, "apikey", "key-123"), stamp.Of(testNow)); l != nil && !l.Answers(tc.answer) {
				id, d = nil, withAPIKeyCode(authn.Deny(authn.ErrUnavailable, "api_key_answer_mismatch", "x"))
			}
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, tc.status)
				if d.Code != tc.code || id != nil {
					t.Fatalf("code %d (want %d), identity %v", d.Code, tc.code, id)
				}
				return
			}
			if d != nil {
				t.Fatalf("denied: %v", d)
			}
			if id.Subject != "sub-1" || id.Tenant != "acme" || id.Scheme != APIKeyName || id.TokenType != "api_key" {
				t.Fatalf("identity = %+v", id)
			}
		})
	}
}
