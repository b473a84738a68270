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

func TestParseDomainKey(t *testing.T) {
	tests := []struct {
		name, in, domain, key string
		ok                    bool
	}{
		{name: "pair", in: "shop.example|k-1", domain: "shop.example", key: "k-1", ok: true},
		{name: "first bar splits", in: "shop|k|2", domain: "shop", key: "k|2", ok: true},
		{name: "colon is part of the key", in: "shop|k:2", domain: "shop", key: "k:2", ok: true},
		{name: "no bar", in: "shop"},
		{name: "empty domain", in: "|k"},
		{name: "empty key", in: "shop|"},
		{name: "space", in: "shop |k"},
		{name: "empty", in: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, k, ok := parseDomainKey(tc.in)
			if ok != tc.ok || d != tc.domain || k != tc.key {
				t.Fatalf("got %q %q %v", d, k, ok)
			}
		})
	}
}

func TestDomainKeyPrepare(t *testing.T) {
	v, _ := NewDomainKey(DomainKeyOptions{ClaimMissing: true})
	l, d := v.Prepare(authReq(basic("shop.example|k-1")), stamp.Of(testNow))
	if d != nil {
		t.Fatal(d)
	}
	checkLookup(t, l, tokenapi.PathVerify, DomainKeyName, "k-1", "shop.example", "k-1")
	var body tokenapi.VerifyRequest
	want := tokenapi.VerifyRequest{Kind: tokenapi.KindDomainKey, Domain: "shop.example", Credential: "k-1"}
	if json.Unmarshal(l.AppendBody(nil), &body) != nil || body != want {
		t.Fatalf("body %s", l.AppendBody(nil))
	}
	tests := []struct {
		name   string
		req    authn.Request
		kind   error
		reason string
	}{
		{name: "missing header", req: reqTo("/", "h"), kind: authn.ErrMissing, reason: "domain_key_missing"},
		{name: "bearer", req: authReq("Bearer x"), kind: authn.ErrMissing, reason: "domain_key_missing"},
		{name: "bad base64", req: authReq("Basic ***"), kind: authn.ErrMalformed, reason: "domain_key_malformed"},
		{name: "no bar", req: authReq(basic("shop:k")), kind: authn.ErrMalformed, reason: "domain_key_malformed"},
		{name: "empty domain", req: authReq(basic("|k")), kind: authn.ErrMalformed},
		{name: "empty key", req: authReq(basic("shop|")), kind: authn.ErrMalformed},
		{name: "too long", req: authReq(basic("shop|" + strings.Repeat("k", authn.MaxHeaderValue))), kind: authn.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !v.Present(tc.req) {
				t.Fatal("the last domain_key scheme must claim the request")
			}
			_, d := v.Prepare(tc.req, stamp.Of(testNow))
			wantDeny(t, d, tc.kind, tc.reason, 403)
			if d.Message != DomainKeyMessage {
				t.Fatalf("message %q", d.Message)
			}
		})
	}
}

func TestDomainKeyPresentNotLast(t *testing.T) {
	v, _ := NewDomainKey(DomainKeyOptions{})
	for in, want := range map[string]bool{basic("shop|k"): true, "Basic ***": true, basic("u:k"): false, "Bearer x": false, "": false} {
		r := reqTo("/", "h")
		if in != "" {
			r = authReq(in)
		}
		if got := v.Present(r); got != want {
			t.Errorf("Present(%q) = %v", in, got)
		}
	}
}

func TestDomainKeyComplete(t *testing.T) {
	v, _ := NewDomainKey(DomainKeyOptions{})
	r := authReq(basic("shop.example|k-1"))
	dom := func(sub string) *authn.Answer {
		return active(tokenapi.KindDomainKey, func(a *authn.Answer) { a.Subject, a.Digest = sub, tokenapi.Digest("k-1") })
	}
	tests := []struct {
		name   string
		answer *authn.Answer
		kind   error
		reason string
		status int
	}{
		{name: "valid", answer: dom("shop.example")},
		{name: "mismatch", answer: inactive(tokenapi.ReasonMismatch), kind: authn.ErrInvalid, reason: "domain_key_invalid", status: 403},
		{name: "unknown domain", answer: inactive(tokenapi.ReasonUnknown), kind: authn.ErrInvalid, reason: "domain_key_invalid", status: 403},
		{name: "expired", answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "domain_key_expired", status: 403},
		{name: "revoked", answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "domain_key_revoked", status: 403},
		{name: "answer for another domain", answer: dom("other.example"), kind: authn.ErrInvalid, status: 403},
		{name: "no answer stays 503", kind: authn.ErrUnavailable, status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, d := v.Complete(r, tc.answer, stamp.Of(testNow))
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, tc.status)
				if d.Status == 403 && d.Message != DomainKeyMessage {
					t.Fatalf("message %q", d.Message)
				}
				return
			}
			if d != nil || id.Subject != "shop.example" || id.Scheme != DomainKeyName {
				t.Fatalf("identity %+v, %v", id, d)
			}
		})
	}
}

func TestDomainKeyUnchecked(t *testing.T) {
	var v authn.Verifier = DomainKeyUnchecked{}
	if _, remote := v.(authn.RemoteVerifier); remote {
		t.Fatal("the unchecked verifier must not need the token cluster")
	}
	r := reqTo("/", "h")
	id, d := v.Verify(r, stamp.Of(testNow))
	if !v.Present(r) || d != nil || id.Scheme != DomainKeyUncheckedName || v.Name() != DomainKeyUncheckedName || id.Subject != "" {
		t.Fatalf("identity %+v, %v", id, d)
	}
	if loc := v.Strip(); len(loc.Headers)+len(loc.Query) != 0 {
		t.Fatalf("strip %+v", loc)
	}
}

// FuzzDomainKeyBasic feeds arbitrary Authorization values to the Basic
// domain|key path. Invariants: no panic; every denial is a 403 with the
// Znode message (503 for an answer about another key); an identity only for the pair the answer was made for.
func FuzzDomainKeyBasic(f *testing.F) {
	for _, s := range []string{basic("shop|k-1"), basic("shop|k|2"), basic("|k"), basic("shop|"), basic("shop"), basic("a:b"),
		"Basic ", "Basic ***", "Bearer x", "", "Basic " + strings.Repeat("QUFB", 3000), basic("shop\x00|k")} {
		f.Add(s, "k-1")
	}
	f.Fuzz(func(t *testing.T, auth, answerKey string) {
		r := reqTo("/", "h")
		if auth != "" {
			r = authReq(auth)
		}
		v, _ := NewDomainKey(DomainKeyOptions{ClaimMissing: true})
		if _, d := v.Prepare(r, stamp.Of(testNow)); d != nil && (d.Status != 403 || d.Message != DomainKeyMessage) {
			t.Fatalf("denial %d %q", d.Status, d.Message)
		}
		a := active(tokenapi.KindDomainKey, func(a *authn.Answer) { a.Subject, a.Digest = "shop", tokenapi.Digest(answerKey) })
		id, d := decide(v, r, a)
		if (id == nil) == (d == nil) {
			t.Fatal("Complete must return exactly one of identity and denial")
		}
		// An answer for another key is a fault of the cache or the cluster: 503.
		if d != nil && d.Status != 403 && d.Reason != "domain_key_answer_mismatch" {
			t.Fatalf("status %d reason %s", d.Status, d.Reason)
		}
		if id != nil {
			payload, _, _ := basicValue(r)
			dom, key, ok := parseDomainKey(payload)
			if !ok || dom != "shop" || key != answerKey || id.Subject != "shop" {
				t.Fatalf("identity %+v for %q", id, payload)
			}
		}
	})
}
