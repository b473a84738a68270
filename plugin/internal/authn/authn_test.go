// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"errors"
	"strings"
	"testing"
)

func TestHeaderRequest(t *testing.T) {
	r := NewHeaderRequest([][2]string{
		{":method", "GET"}, {":path", "/v2/contacts?user-id=u1&developer-id=d%201&x"}, {":authority", "api.example:8443"},
		{"ApiKey", "first"}, {"apikey", "second"},
	})
	if r.Method() != "GET" || r.Path() != "/v2/contacts" || r.Host() != "api.example" {
		t.Fatalf("method/path/host = %q %q %q", r.Method(), r.Path(), r.Host())
	}
	if v, ok := r.Header("apikey"); !ok || v != "first" {
		t.Fatalf("apikey = %q %v, want the first value", v, ok)
	}
	if v, ok := r.Query("developer-id"); !ok || v != "d 1" {
		t.Fatalf("developer-id = %q %v", v, ok)
	}
	if _, ok := r.Query("user_id"); ok {
		t.Fatal("underscore name matched the dashed parameter")
	}
	if got := NewHeaderRequest([][2]string{{":authority", "[::1]:80"}}).Host(); got != "[::1]" {
		t.Fatalf("ipv6 host = %q", got)
	}
}

func TestSecretEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "equal", a: "s3cret", b: "s3cret", want: true},
		{name: "different", a: "s3cret", b: "s3creT"},
		{name: "prefix", a: "s3cret", b: "s3cre"},
		{name: "empty", a: "", b: "", want: true},
		{name: "empty and not", a: "", b: "s"},
		{name: "trailing zero byte", a: "s3cret\x00", b: "s3cret"},
		{name: "longer first", a: "s3cret-and-more", b: "s3cret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SecretEqual(tc.a, tc.b); got != tc.want {
				t.Fatalf("SecretEqual = %v", got)
			}
		})
	}
	if FingerprintOf("abc") != "ba7816bf" {
		t.Fatalf("fingerprint = %s", FingerprintOf("abc"))
	}
}

func TestDenyStatusFollowsClass(t *testing.T) {
	tests := []struct {
		kind error
		want int
	}{
		{ErrMissing, 401}, {ErrMalformed, 401}, {ErrInvalid, 401}, {ErrExpired, 401}, {ErrForbidden, 403}, {ErrUnavailable, 503},
	}
	for _, tc := range tests {
		d := Deny(tc.kind, "r", "m")
		if d.Status != tc.want || !errors.Is(d, tc.kind) {
			t.Errorf("%v: status %d, want %d", tc.kind, d.Status, tc.want)
		}
	}
}

func TestIsIdentityHeader(t *testing.T) {
	t.Parallel()
	const prefix = "x-credgate-"
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"x-credgate-subject", true},
		{"X-Credgate-Tenant", true},
		{"x_credgate_subject", true},
		{"X_CREDGATE_SUBJECT", true},
		{"x-credgate_subject", true},
		{"x_credgate-", true},
		{"x-credgate", false},
		{"x-credgatesubject", false},
		{"authorization", false},
		{"xx-credgate-subject", false},
		{"", false},
	} {
		if got := IsIdentityHeader(tc.name, prefix); got != tc.want {
			t.Errorf("IsIdentityHeader(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The host may hand over names in any case (not every host lower-cases
// them); every variant goes, everything else stays in order.
func TestWithoutIdentityHeaders(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{{":path", "/x"}, {"X-Credgate-Subject", "a"}, {"accept", "*/*"},
		{"x_credgate_tenant", "b"}, {"X_CREDGATE_SCOPES", "c"}, {"x-request-id", "1"}}
	kept, found := WithoutIdentityHeaders(pairs, "x-credgate-")
	want := [][2]string{{":path", "/x"}, {"accept", "*/*"}, {"x-request-id", "1"}}
	if !found || len(kept) != len(want) {
		t.Fatalf("kept %v (found %v), want %v", kept, found, want)
	}
	for i := range want {
		if kept[i] != want[i] {
			t.Fatalf("kept %v, want %v", kept, want)
		}
	}
	clean := [][2]string{{":path", "/x"}, {"accept", "*/*"}}
	if got, found := WithoutIdentityHeaders(clean, "x-credgate-"); found || &got[0] != &clean[0] {
		t.Fatal("a request without identity headers must be returned as is")
	}
}

func TestCanonicalHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"admin.example":       "admin.example",
		"Admin.Example":       "admin.example",
		"admin.example.":      "admin.example",
		"admin.example.:80":   "admin.example",
		"ADMIN.example.:8443": "admin.example",
		"admin.example..":     "admin.example",
		"[::1]:80":            "[::1]",
		"[FE80::1]":           "[fe80::1]",
		"127.0.0.1:10000":     "127.0.0.1",
		"":                    "",
	} {
		if got := CanonicalHost(in); got != want {
			t.Errorf("CanonicalHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAmbiguous(t *testing.T) {
	t.Parallel()
	in := Locations{Headers: []string{"authorization", "visitorcode", "x-tenant"}, Query: []string{"visitorcode", "access-token"}}
	req := func(path string, hs ...string) *HeaderRequest {
		pairs := [][2]string{{":method", "GET"}, {":path", path}, {":authority", "api.example"}}
		for i := 0; i+1 < len(hs); i += 2 {
			pairs = append(pairs, [2]string{hs[i], hs[i+1]})
		}
		return NewHeaderRequest(pairs)
	}
	tests := []struct {
		name   string
		r      *HeaderRequest
		refuse bool
	}{
		{"one of each", req("/x?visitorcode=v-1", "authorization", "Bearer a", "x-tenant", "acme"), false},
		{"same code in header and query", req("/x?visitorcode=v-1", "visitorcode", "v-1"), false},
		{"code differs between header and query", req("/x?visitorcode=v-2", "visitorcode", "v-1"), true},
		{"code header twice", req("/x", "visitorcode", "v-1", "visitorcode", "v-2"), true},
		{"code header twice, same value", req("/x", "visitorcode", "v-1", "VisitorCode", "v-1"), true},
		{"code query twice", req("/x?visitorcode=v-1&visitorcode=v-2"), true},
		{"tenant twice", req("/x", "x-tenant", "globex", "x-tenant", "acme"), true},
		{"authorization twice", req("/x", "authorization", "Bearer a", "authorization", "Bearer b"), true},
		{"access token query twice", req("/x?access-token=a&access-token=b"), true},
		{"semicolon in the query", req("/x?x=1;user-id=admin", "authorization", "Bearer a"), true},
		{"other headers may repeat", req("/x", "accept", "a", "accept", "b", "authorization", "Bearer a"), false},
		{"other query parameters may repeat", req("/x?page=1&page=2"), false},
	}
	for _, tc := range tests {
		d := Ambiguous(tc.r, in)
		if (d != nil) != tc.refuse {
			t.Errorf("%s: Ambiguous = %v, want refused %v", tc.name, d, tc.refuse)
		}
		if d != nil && (d.Status != 400 || d.Reason != "ambiguous_credentials") {
			t.Errorf("%s: %d %s, want 400 ambiguous_credentials", tc.name, d.Status, d.Reason)
		}
		if tc.name == "semicolon in the query" && (d == nil || !strings.Contains(d.Detail, "';'")) {
			t.Errorf("semicolon: detail %v, want it to name ';'", d)
		}
	}
}

func TestFoldNames(t *testing.T) {
	for in, want := range map[string]string{"user-id": "user-id", "User_Id": "user-id", "X_TENANT": "x-tenant", ":path": ":path"} {
		if got := FoldHeaderName(in); got != want {
			t.Errorf("FoldHeaderName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"user-id": "user-id", "USER-ID": "user-id", "user_id": "user_id",
		".method": "_method", " method": "_method", "[method": "_method", "_METHOD": "_method"} {
		if got := FoldQueryName(in); got != want {
			t.Errorf("FoldQueryName(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { FoldHeaderName("x-request-id") }); n != 0 {
		t.Errorf("folding a folded name allocates %v times", n)
	}
	r := NewHeaderRequest([][2]string{{"user-id", "a"}, {"User_Id", "b"}, {"accept", "x"}})
	if got := r.Spellings("user-id"); len(got) != 2 || got[1] != "User_Id" {
		t.Errorf("Spellings(user-id) = %v", got)
	}
	if r.HeaderCount("user-id") != 2 || r.HeaderCount("accept") != 1 {
		t.Error("spellings of one name are not counted together")
	}
}

// FuzzSecretEqual checks the constant-time comparison against ==.
func FuzzSecretEqual(f *testing.F) {
	f.Add("s3cret", "s3cret")
	f.Add("s3cret\x00", "s3cret")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got := SecretEqual(a, b); got != (a == b) {
			t.Fatalf("SecretEqual(%q, %q) = %v", a, b, got)
		}
	})
}
