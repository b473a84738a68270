// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var prefixCases = []struct {
	expr     string
	prefixes []string
}{
	{`^/storefront/[a-z-]+$`, []string{"/storefront/"}},
	{`^/Orders/[0-9]+$`, []string{"/orders/"}},
	{`\A/v1/x`, []string{"/v1/x"}},
	{`^(?-i)/admin(/.*)?$`, []string{"/admin"}},
	{`(?i)^/Admin`, []string{"/admin"}},
	{`^/a\.b`, []string{"/a.b"}},
	{`^\Q/x+y\E`, []string{"/x+y"}},
	{`^/café/x`, []string{"/caf"}},
	{`^/ſ`, []string{"/"}},      // long s: folds to s and S
	{`(?i)^/k`, []string{"/k"}}, // also matches the Kelvin sign
	{`/admin`, nil},             // not anchored
	{`(?m)^/admin`, nil},        // start of a line, not of the text
	{`^/a|^/b`, nil},            // alternation of anchors
	{`^(/admin)`, []string{"/admin"}},
	{`^[/]admin`, []string{"/admin"}}, // a one-byte class is a literal
	{`^`, nil},
	{`^/x*`, []string{"/"}},
	{`^/ab?c`, []string{"/a"}},
	{`^/(token|v0/tokens|tokens|v2/token(/.*)?)$`, []string{"/token", "/v0/tokens", "/tokens", "/v2/token"}},
	{`^/(a|b)/(c|d)`, []string{"/"}},  // (a|b) parses as a class
	{`^/(a|)x`, []string{"/a", "/"}},  // an empty alternative
	{`^/(?:a|[b-c])x`, []string{"/"}}, // a class alternative
	{`^(/a|/b)?x`, nil},               // optional
	{`^/(é|a)`, []string{"/"}},
	{`^/(?:orders|carts)/[0-9]+$`, []string{"/orders", "/carts"}},
	{`^/(?:v1|v2)/(?:x|y)`, []string{"/v"}}, // v1|v2 parses as v[12]
}

func TestAnchoredPrefixes(t *testing.T) {
	for _, c := range prefixCases {
		if got := anchoredPrefixes(c.expr); !slices.Equal(got, c.prefixes) {
			t.Errorf("anchoredPrefixes(%q) = %q, want %q", c.expr, got, c.prefixes)
		}
	}
}

// checkPrefixNecessary fails when mayBegin refuses a path that the
// expression, its case-less form or its lower-case reading would match.
func checkPrefixNecessary(t *testing.T, expr, path string) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return
	}
	fold := regexp.MustCompile("(?i)" + expr)
	prefix := anchoredPrefixes(expr)
	if mayBeginAny(path, prefix) {
		return
	}
	lower := strings.ToLower(path)
	for _, p := range []string{path, trimSlash(path)} {
		if re.MatchString(p) || fold.MatchString(p) {
			t.Fatalf("%q matches %q but mayBegin(%q) refused it", expr, p, prefix)
		}
	}
	for _, p := range []string{lower, trimSlash(lower)} {
		if re.MatchString(p) {
			t.Fatalf("%q matches %q (lower case) but mayBegin(%q) refused it", expr, p, prefix)
		}
	}
}

func TestRegexPrefixNeverRefusesAMatch(t *testing.T) {
	paths := []string{"/", "/storefront/shoes", "/STOREFRONT/shoes", "/Orders/12", "/orders/12", "/admin", "/ADMIN/x",
		"/a.b", "/x+y", "/café/x", "/caf", "/s", "/S", "/ſ", "/\u212a", "/k", "/v1/x/", "/b", "/abc", "/ac", "", "/token", "/TOKENS", "/v2/token/x", "/v0/tokens/", "/a/c", "/bx", "/x", "/éa", "/ax", "/Carts/1", "/orders/2", "/order", "/v3/x"}
	for _, c := range prefixCases {
		for _, p := range paths {
			checkPrefixNecessary(t, c.expr, p)
		}
	}
	// The filter does refuse: the demo's routes skip what cannot match.
	if mayBeginAny("/healthz", anchoredPrefixes(`^/storefront/[a-z-]+$`)) || !mayBegin("/StoreFront/x", "/storefront/") ||
		mayBeginAny("/healthz", anchoredPrefixes(`^/(token|v0/tokens|tokens|v2/token(/.*)?)$`)) {
		t.Fatal("mayBegin does not decide")
	}
}

// The route matchers give the same answers with and without the prefix.
func TestRegexPrefixKeepsRouteAnswers(t *testing.T) {
	for _, c := range prefixCases {
		re, err := regexp.Compile(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		with := &Policy{Routes: []*Route{{Name: "r", Regex: re}}}
		with.prepare()
		without := &Route{Regex: re, foldRegex: with.Routes[0].foldRegex}
		for _, p := range []string{"/storefront/shoes", "/Storefront/shoes/", "/orders/1", "/ADMIN", "/a.b", "/x+y", "/healthz", "/ſ", "/K"} {
			var l1, l2 string
			if a, b := with.Routes[0].matchesFolded("GET", "h", p, &l1), without.matchesFolded("GET", "h", p, &l2); a != b {
				t.Errorf("%q on %q: folded %v with the prefix, %v without", c.expr, p, a, b)
			}
			if a, b := with.Routes[0].Matches("GET", "h", p), without.Matches("GET", "h", p); a != b {
				t.Errorf("%q on %q: %v with the prefix, %v without", c.expr, p, a, b)
			}
		}
	}
}

// FuzzRegexPrefix: for any expression and path, mayBegin refuses only paths
// none of the route's regex readings match.
func FuzzRegexPrefix(f *testing.F) {
	for _, c := range prefixCases {
		f.Add(c.expr, "/storefront/x")
		for _, p := range c.prefixes {
			f.Add(c.expr, strings.ToUpper(p)+"x")
		}
	}
	f.Fuzz(func(t *testing.T, expr, path string) {
		if len(expr) > 200 || len(path) > 200 {
			return
		}
		checkPrefixNecessary(t, expr, path)
	})
}
