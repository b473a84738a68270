// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// reqTo builds a request to target (path and query) on host with header pairs.
func reqTo(target, host string, headers ...string) authn.Request {
	pairs := [][2]string{{":method", "GET"}, {":path", target}, {":authority", host}}
	for i := 0; i+1 < len(headers); i += 2 {
		pairs = append(pairs, [2]string{headers[i], headers[i+1]})
	}
	return authn.NewHeaderRequest(pairs)
}

// active is an active answer of the given kind, valid well past testNow.
func active(kind string, edit func(a *authn.Answer)) *authn.Answer {
	a := &authn.Answer{Active: true, Kind: kind, Subject: "sub-1", Tenant: "acme", Scopes: []string{"read"},
		ExpiresAt: stamp.Of(testNow.Add(time.Hour)), CacheTTL: time.Minute}
	if edit != nil {
		edit(a)
	}
	return a
}

func inactive(reason string) *authn.Answer { return &authn.Answer{Reason: reason} }

// wantDeny checks a denial's class, reason and (when set) status.
func wantDeny(t *testing.T, d *authn.DenyError, kind error, reason string, status int) {
	t.Helper()
	if d == nil {
		t.Fatalf("allowed, want a %v denial", kind)
	}
	if !errors.Is(d, kind) {
		t.Fatalf("denial %v is not %v", d, kind)
	}
	if reason != "" && d.Reason != reason {
		t.Fatalf("reason %q, want %q", d.Reason, reason)
	}
	if status != 0 && d.Status != status {
		t.Fatalf("status %d, want %d", d.Status, status)
	}
}

// checkLookup asserts the shape common to every lookup.
func checkLookup(t *testing.T, l *authn.Lookup, path, scheme, raw string, parts ...string) {
	t.Helper()
	if l == nil {
		t.Fatal("no lookup")
	}
	if l.Method != "POST" || l.Path != path {
		t.Fatalf("lookup %s %s, want POST %s", l.Method, l.Path, path)
	}
	if l.Digest() != tokenapi.Digest(raw) {
		t.Fatalf("digest %s, want the digest of the raw credential", l.Digest())
	}
	key := "r" + scheme + "\x00" + strings.Join(parts, "\x00")
	if len(key) > 257 {
		sum := sha256.Sum256([]byte(key[1:]))
		key = "h" + string(sum[:])
	}
	if got := string(l.AppendKey(nil)); got != key {
		t.Fatalf("cache key %q is not the scheme and parts (%q)", got, key)
	}
	sum := sha256.Sum256([]byte(key))
	if l.SharedKey() != hex.EncodeToString(sum[:]) {
		t.Fatalf("shared key %s is not the digest of the cache key", l.SharedKey())
	}
}

func formOf(t *testing.T, l *authn.Lookup) url.Values {
	t.Helper()
	if l.ContentType != "application/x-www-form-urlencoded" {
		t.Fatalf("content type %q", l.ContentType)
	}
	v, err := url.ParseQuery(string(l.AppendBody(nil)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCacheKey(t *testing.T) {
	if cacheKey("a", "b", "c") == cacheKey("a", "b\x00c") && cacheKey("a", "bc") == cacheKey("a", "b", "c") {
		t.Fatal("cache keys collide")
	}
	if cacheKey("api_key", "k") == cacheKey("session_token", "k") {
		t.Fatal("schemes share cache keys")
	}
}

func TestInactiveReasons(t *testing.T) {
	n := nouns{scheme: "x", noun: "credential"}
	tests := []struct {
		name   string
		answer *authn.Answer
		kind   error
		reason string
		status int
	}{
		{name: "no answer fails closed", answer: nil, kind: authn.ErrUnavailable, reason: "x_no_answer", status: 503},
		{name: "unknown", answer: inactive(tokenapi.ReasonUnknown), kind: authn.ErrInvalid, reason: "x_invalid", status: 401},
		{name: "mismatch", answer: inactive(tokenapi.ReasonMismatch), kind: authn.ErrInvalid, reason: "x_invalid", status: 401},
		{name: "expired", answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "x_expired", status: 401},
		{name: "revoked", answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "x_revoked", status: 401},
		{name: "consumed", answer: inactive(tokenapi.ReasonConsumed), kind: authn.ErrInvalid, reason: "x_consumed", status: 401},
		{name: "new reason", answer: inactive("frozen"), kind: authn.ErrInvalid, reason: "x_invalid", status: 401},
		{name: "other kind", answer: active("session", nil), kind: authn.ErrInvalid, reason: "x_wrong_kind"},
		{name: "answer past expiry", answer: active("k", func(a *authn.Answer) { a.ExpiresAt = stamp.Of(testNow) }), kind: authn.ErrExpired, reason: "x_expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantDeny(t, n.checkAnswer(tc.answer, "k", testNow), tc.kind, tc.reason, tc.status)
		})
	}
	if d := n.checkAnswer(active("k", nil), "k", testNow); d != nil {
		t.Fatalf("active answer denied: %v", d)
	}
}

// decide runs a remote verifier as the filter does: Prepare, the answer
// checked against the lookup (authn.Lookup.Answers), then Complete.
func decide(v authn.RemoteVerifier, r authn.Request, a *authn.Answer) (*authn.Identity, *authn.DenyError) {
	l, d := v.Prepare(r, stamp.Of(testNow))
	if d != nil {
		return nil, d
	}
	if l != nil && !l.Answers(a) {
		return nil, authn.Deny(authn.ErrUnavailable, v.Name()+"_answer_mismatch", "The credentials cannot be verified right now.")
	}
	return v.Complete(r, a, stamp.Of(testNow))
}

// An introspection body is the form net/url writes for the same values,
// byte for byte, for any token and hint, and appends to what dst holds.
func FuzzIntrospectionBody(f *testing.F) {
	f.Add("opaque-token", "access_token")
	f.Add("a b&c=d%e+f/ü", "")
	f.Fuzz(func(t *testing.T, token, hint string) {
		l := introspection(reqTo("/", "shop"), "oauth2_bearer", token, hint)
		want := url.Values{"token": {token}, "token_type_hint": {hint}}.Encode()
		if got := string(l.AppendBody(nil)); got != want {
			t.Fatalf("body %q; net/url: %q", got, want)
		}
		if got := string(l.AppendBody([]byte("kept"))); got != "kept"+want {
			t.Fatalf("appended body %q", got)
		}
	})
}

// A verification body appends to what dst holds, as an introspection body
// does, and is the JSON of tokenapi.VerifyRequest.
func TestVerificationBodyAppends(t *testing.T) {
	l := verification(reqTo("/", "shop"), "api_key", tokenapi.VerifyRequest{Kind: tokenapi.KindAPIKey, Credential: "k\"1"}, "k\"1", "k\"1")
	alone := string(l.AppendBody(nil))
	if got := string(l.AppendBody([]byte("kept"))); got != "kept"+alone {
		t.Fatalf("appended body %q, alone %q", got, alone)
	}
	var body tokenapi.VerifyRequest
	if err := json.Unmarshal([]byte(alone), &body); err != nil || body.Credential != "k\"1" || body.Kind != tokenapi.KindAPIKey {
		t.Fatalf("body %s: %+v %v", alone, body, err)
	}
}
