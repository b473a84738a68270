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

func authReq(value string) authn.Request { return reqTo("/", "h", "authorization", value) }

func TestParsePublicKeyAuth(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     publicKeyAuth
		ours, ok bool
	}{
		{name: "key", in: "pk-1", want: publicKeyAuth{key: "pk-1"}, ours: true, ok: true},
		{name: "key and token", in: "pk-1:tok", want: publicKeyAuth{key: "pk-1", token: "tok", hasToken: true}, ours: true, ok: true},
		{name: "colon in token", in: "pk-1:t:o", want: publicKeyAuth{key: "pk-1", token: "t:o", hasToken: true}, ours: true, ok: true},
		{name: "bearer is not ours", in: "Bearer x"},
		{name: "basic is not ours", in: "Basic eDp5"},
		{name: "empty", in: "", ours: true},
		{name: "empty key", in: ":tok", ours: true},
		{name: "empty token", in: "pk-1:", ours: true},
		{name: "control character", in: "pk\x00:tok", ours: true},
		{name: "too long", in: strings.Repeat("p", authn.MaxHeaderValue+1), ours: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ours, ok := parsePublicKeyAuth(tc.in)
			if ours != tc.ours || ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("got %+v ours=%v ok=%v", got, ours, ok)
			}
		})
	}
}

func TestPublicKeyPresent(t *testing.T) {
	tests := []struct {
		name      string
		pk        PublicKeyOptions
		pkt       PublicKeyTokenOptions
		req       authn.Request
		pkWant    bool
		tokenWant bool
	}{
		{name: "lone key, alone", req: authReq("pk"), pkWant: true, tokenWant: true},
		{name: "key:token, alone", req: authReq("pk:t"), pkWant: true, tokenWant: true},
		{name: "lone key, shared route", pk: PublicKeyOptions{DeferTokens: true}, pkt: PublicKeyTokenOptions{DeferPublic: true}, req: authReq("pk"), pkWant: true},
		{name: "key:token, shared route", pk: PublicKeyOptions{DeferTokens: true}, pkt: PublicKeyTokenOptions{DeferPublic: true}, req: authReq("pk:t"), tokenWant: true},
		{name: "malformed, shared route", pk: PublicKeyOptions{DeferTokens: true}, pkt: PublicKeyTokenOptions{DeferPublic: true}, req: authReq(":"), pkWant: true, tokenWant: true},
		{name: "bearer never", pk: PublicKeyOptions{ClaimMissing: true}, pkt: PublicKeyTokenOptions{ClaimMissing: true}, req: authReq("Bearer pk")},
		{name: "basic never", pk: PublicKeyOptions{ClaimMissing: true}, pkt: PublicKeyTokenOptions{ClaimMissing: true}, req: authReq("Basic cGs6dA==")},
		{name: "missing, not last", req: reqTo("/", "h")},
		{name: "missing, last", pk: PublicKeyOptions{ClaimMissing: true}, pkt: PublicKeyTokenOptions{ClaimMissing: true}, req: reqTo("/", "h"), pkWant: true, tokenWant: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk, _ := NewPublicKey(tc.pk)
			pkt, _ := NewPublicKeyToken(tc.pkt)
			if got := pk.Present(tc.req); got != tc.pkWant {
				t.Errorf("public_key Present = %v", got)
			}
			if got := pkt.Present(tc.req); got != tc.tokenWant {
				t.Errorf("public_key_token Present = %v", got)
			}
		})
	}
}

func TestPublicKeyVerifier(t *testing.T) {
	v, _ := NewPublicKey(PublicKeyOptions{})
	l, d := v.Prepare(authReq("pk-1:ignored"), stamp.Of(testNow))
	if d != nil {
		t.Fatal(d)
	}
	checkLookup(t, l, tokenapi.PathVerify, PublicKeyName, "pk-1", "pk-1")
	var body tokenapi.VerifyRequest
	if json.Unmarshal(l.AppendBody(nil), &body) != nil || body != (tokenapi.VerifyRequest{Kind: tokenapi.KindPublicKey, Credential: "pk-1"}) {
		t.Fatalf("body %s", l.AppendBody(nil))
	}
	_, d = v.Prepare(reqTo("/", "h"), stamp.Of(testNow))
	wantDeny(t, d, authn.ErrMissing, "public_key_missing", 401)
	if d.Message != "Authorization is missing" {
		t.Fatalf("message %q", d.Message)
	}
	_, d = v.Prepare(authReq("pk-1:"), stamp.Of(testNow))
	wantDeny(t, d, authn.ErrMalformed, "public_key_malformed", 401)

	app := active(tokenapi.KindPublicKey, func(a *authn.Answer) { a.Subject, a.AppID, a.Digest = "pk-1", "pk-1", tokenapi.Digest("pk-1") })
	id, d := v.Complete(authReq("pk-1"), app, stamp.Of(testNow))
	if d != nil || id.Subject != "pk-1" || id.Scheme != PublicKeyName || id.Tenant != "acme" {
		t.Fatalf("identity %+v, %v", id, d)
	}
	_, d = v.Complete(authReq("pk-1"), inactive(tokenapi.ReasonUnknown), stamp.Of(testNow))
	wantDeny(t, d, authn.ErrInvalid, "public_key_invalid", 401)
	if other, _ := v.Prepare(authReq("pk-2"), stamp.Of(testNow)); other.Answers(app) {
		t.Fatal("an answer for pk-1 answers the lookup of pk-2")
	}
}

func TestPublicKeyTokenVerifier(t *testing.T) {
	v, _ := NewPublicKeyToken(PublicKeyTokenOptions{})
	l, d := v.Prepare(authReq("pk-1:tok-9"), stamp.Of(testNow))
	if d != nil {
		t.Fatal(d)
	}
	checkLookup(t, l, tokenapi.PathVerify, PublicKeyTokenName, "tok-9", "pk-1", "tok-9")
	var body tokenapi.VerifyRequest
	want := tokenapi.VerifyRequest{Kind: tokenapi.KindPublicKeyToken, PublicKey: "pk-1", Credential: "tok-9"}
	if json.Unmarshal(l.AppendBody(nil), &body) != nil || body != want {
		t.Fatalf("body %s", l.AppendBody(nil))
	}
	tok := func(app string) *authn.Answer {
		return active(tokenapi.KindPublicKeyToken, func(a *authn.Answer) { a.AppID, a.Digest = app, tokenapi.Digest("tok-9") })
	}
	tests := []struct {
		name    string
		req     authn.Request
		answer  *authn.Answer
		kind    error
		reason  string
		message string
	}{
		{name: "valid", req: authReq("pk-1:tok-9"), answer: tok("pk-1")},
		{name: "missing", req: reqTo("/", "h"), kind: authn.ErrMissing, message: "Authorization is missing"},
		{name: "public key alone", req: authReq("pk-1"), answer: tok("pk-1"), kind: authn.ErrMissing, reason: "public_key_token_missing_token", message: "Authorization token is missing"},
		{name: "token of another app", req: authReq("pk-1:tok-9"), answer: tok("pk-2"), kind: authn.ErrInvalid, reason: "public_key_token_other_app"},
		{name: "mismatch at the cluster", req: authReq("pk-1:tok-9"), answer: inactive(tokenapi.ReasonMismatch), kind: authn.ErrInvalid, reason: "public_key_token_invalid"},
		{name: "expired", req: authReq("pk-1:tok-9"), answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "public_key_token_expired"},
		{name: "revoked app", req: authReq("pk-1:tok-9"), answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "public_key_token_revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.kind != nil && tc.answer == nil {
				_, d := v.Prepare(tc.req, stamp.Of(testNow))
				wantDeny(t, d, tc.kind, tc.reason, 401)
				return
			}
			id, d := v.Complete(tc.req, tc.answer, stamp.Of(testNow))
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, 401)
				if tc.message != "" && d.Message != tc.message {
					t.Fatalf("message %q", d.Message)
				}
				return
			}
			if d != nil || id.Subject != "sub-1" || id.Scheme != PublicKeyTokenName {
				t.Fatalf("identity %+v, %v", id, d)
			}
		})
	}
	if _, d := v.Prepare(authReq("pk-1"), stamp.Of(testNow)); d == nil || d.Status != 401 {
		t.Fatalf("a lone public key passed Prepare on a restricted route: %v", d)
	}
}

// FuzzPublicKeyAuth feeds arbitrary Authorization values to the
// `public-key[:token]` parser and both verifiers. Invariants: no panic; a
// parsed value rebuilds the header; Bearer and Basic are never claimed; an
// identity only for the token the answer was made for, bound to its app.
func FuzzPublicKeyAuth(f *testing.F) {
	for _, s := range []string{"pk-1", "pk-1:tok-9", "pk-1:t:o", ":tok", "pk-1:", ":", "", "Bearer pk-1:tok-9", "Basic cGs6dA==",
		"pk\x00:t", strings.Repeat("p", 9000), "pk-1:" + strings.Repeat("t", 9000)} {
		f.Add(s, "tok-9")
	}
	f.Fuzz(func(t *testing.T, auth, answerToken string) {
		p, ours, ok := parsePublicKeyAuth(auth)
		if ok {
			rebuilt := p.key
			if p.hasToken {
				rebuilt += ":" + p.token
			}
			if !ours || rebuilt != auth || p.key == "" || strings.Contains(p.key, ":") {
				t.Fatalf("parsed %q as %+v", auth, p)
			}
		}
		r := authReq(auth)
		pk, _ := NewPublicKey(PublicKeyOptions{})
		pkt, _ := NewPublicKeyToken(PublicKeyTokenOptions{})
		if lower := strings.ToLower(auth); strings.HasPrefix(lower, "bearer ") || strings.HasPrefix(lower, "basic ") {
			if pk.Present(r) || pkt.Present(r) {
				t.Fatal("claimed a Bearer or Basic value")
			}
		}
		a := active(tokenapi.KindPublicKeyToken, func(a *authn.Answer) { a.AppID, a.Digest = "pk-1", tokenapi.Digest(answerToken) })
		id, d := decide(pkt, r, a)
		if (id == nil) == (d == nil) {
			t.Fatal("Complete must return exactly one of identity and denial")
		}
		if id != nil && (!ok || p.key != "pk-1" || !p.hasToken || p.token != answerToken) {
			t.Fatalf("identity for %q against a token of pk-1", auth)
		}
		// JSON escapes a byte into at most 6 ("\u003c"), so the body stays linear.
		if l, _ := pk.Prepare(r, stamp.Of(testNow)); l != nil && len(l.AppendBody(nil)) > 6*authn.MaxHeaderValue+128 {
			t.Fatalf("lookup body of %d bytes", len(l.AppendBody(nil)))
		}
	})
}
