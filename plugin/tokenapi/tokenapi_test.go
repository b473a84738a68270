// SPDX-License-Identifier: Apache-2.0

package tokenapi_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
)

func TestDigest(t *testing.T) {
	// sha256("abc") from FIPS 180-2.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := tokenapi.Digest("abc"); got != want {
		t.Fatalf("Digest(abc) = %s", got)
	}
}

func TestVerifyResponseFieldNames(t *testing.T) {
	resp := tokenapi.VerifyResponse{Active: true, Kind: tokenapi.KindAPIKey, Subject: "s", Tenant: "t",
		Scopes: []string{"a"}, ExpiresAt: 1, CacheTTL: 2, Revoked: true, Digest: "d", DeveloperID: "dev",
		AppID: "app", HMACKey: "k", Reason: tokenapi.ReasonRevoked}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{tokenapi.FieldActive, tokenapi.FieldKind, tokenapi.FieldReason, tokenapi.FieldSubject,
		tokenapi.FieldTenant, tokenapi.FieldScopes, tokenapi.FieldExpiresAt, tokenapi.FieldCacheTTL,
		tokenapi.FieldRevoked, tokenapi.FieldDigest, tokenapi.FieldDeveloperID, tokenapi.FieldAppID,
		tokenapi.FieldHMACKey} {
		if _, ok := m[f]; !ok {
			t.Errorf("field %q missing from %s", f, b)
		}
	}
	if len(m) != 13 {
		t.Errorf("unexpected field count %d in %s", len(m), b)
	}
}

func TestIntrospectInactiveIsSmall(t *testing.T) {
	b, err := json.Marshal(tokenapi.IntrospectResponse{Reason: tokenapi.ReasonUnknown, CacheTTL: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"active":false,"reason":"unknown","cache_ttl":5}` {
		t.Fatalf("inactive introspection = %s", got)
	}
}

func FuzzVerifyRequestDecode(f *testing.F) {
	f.Add(`{"kind":"api_key","credential":"k"}`)
	f.Add(`{"kind":"user_api_key","user_id":"u","credential":"k","developer_id":"d"}`)
	f.Add(`{"kind":` + strings.Repeat("[", 1000))
	f.Fuzz(func(t *testing.T, in string) {
		dec := json.NewDecoder(bytes.NewReader([]byte(in)))
		dec.DisallowUnknownFields()
		var req tokenapi.VerifyRequest
		if dec.Decode(&req) != nil {
			return
		}
		if _, err := json.Marshal(req); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRevocationsPath(t *testing.T) {
	for _, c := range []struct {
		cursor string
		wait   time.Duration
		want   string
	}{
		{"12", 0, "/v1/revocations?since=12"},
		{"3f2a9c1b7d6e5f40:12", 30 * time.Second, "/v1/revocations?since=3f2a9c1b7d6e5f40:12&wait=30"},
		{"a b:1+2", 0, "/v1/revocations?since=a+b:1%2B2"},
		{"12", 30 * time.Second, "/v1/revocations?since=12&wait=30"},
		{"a&b", 1500 * time.Millisecond, "/v1/revocations?since=a%26b&wait=1"},
		{"1", time.Hour, "/v1/revocations?since=1&wait=300"},
	} {
		if got := tokenapi.RevocationsPath(c.cursor, c.wait); got != c.want {
			t.Errorf("RevocationsPath(%q, %v) = %q, want %q", c.cursor, c.wait, got, c.want)
		}
	}
}

// FuzzQueryEscape: the cursor is escaped as net/url escapes it, its colons
// kept as they are (a query may hold them).
func FuzzQueryEscape(f *testing.F) {
	for _, s := range []string{"", "abc-_.~", "a b+c", "%/?&=#", "é\x00\xff", "42:7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := tokenapi.PathRevocations + "?" + tokenapi.RevocationsSince + "=" + strings.ReplaceAll(url.QueryEscape(s), "%3A", ":")
		if got := tokenapi.RevocationsPath(s, 0); got != want {
			t.Fatalf("RevocationsPath(%q) = %q, with net/url's escaping %q", s, got, want)
		}
	})
}
