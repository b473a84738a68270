// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"strings"
	"testing"
)

func TestHeaderSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                                "plain",
		"evil\r\nx-injected: 1\u0000":          "evilx-injected: 1",
		"tab\there\x7f":                        "tabhere",
		"é€":                                   "é€",
		strings.Repeat("a", MaxHeaderValue+10): strings.Repeat("a", MaxHeaderValue),
	} {
		if got := HeaderSafe(in); got != want {
			t.Errorf("HeaderSafe(%.20q) = %.20q, want %.20q", in, got, want)
		}
	}
}

func TestStripQuery(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"user-api-key=k&page=2", "/p?page=2"},
		{"USER_API_KEY=k&user.api.key=x&a=1", "/p?a=1"},
		{"user%2Dapi%2Dkey=k", "/p"},
		{"a=1&b=2", "/p?a=1&b=2"},
	} {
		if got := StripQuery("/p", c.raw, []string{"user-api-key", "user_api_key"}); got != c.want {
			t.Errorf("StripQuery(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}

func TestUpstreamHeaders(t *testing.T) {
	id := &Identity{Subject: "alice\r\nx: 1", Tenant: "acme", Scopes: []string{"a", "b"}, Scheme: "jwt",
		Headers: [][2]string{{"x-jwt-kind", "partner"}, {"x-empty", ""}}}
	got := UpstreamHeaders("x-credgate-", id)
	want := [][2]string{{"x-credgate-subject", "alicex: 1"}, {"x-credgate-tenant", "acme"}, {"x-credgate-scopes", "a b"},
		{"x-credgate-scheme", "jwt"}, {"x-jwt-kind", "partner"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
