// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"net/url"
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/pathre"
)

func TestNormalPath(t *testing.T) {
	tests := []struct {
		name string
		path string
		want bool
	}{
		{name: "root", path: "/", want: true},
		{name: "plain", path: "/v0/products/12", want: true},
		{name: "trailing slash", path: "/v0/products/", want: true},
		{name: "dot-dot", path: "/v0/products/../orders"},
		{name: "trailing dot-dot", path: "/v0/products/.."},
		{name: "dot", path: "/v0/./orders"},
		{name: "double slash", path: "/v0//orders"},
		{name: "encoded slash", path: "/v0/products%2F..%2Forders"},
		{name: "encoded dot", path: "/v0/products/%2e%2e/orders"},
		{name: "backslash", path: "/v0/products\\..\\orders"},
		{name: "relative", path: "v0/orders"},
		{name: "empty", path: ""},
		{name: "fragment", path: "/v0/orders#x"},
		{name: "encoded backslash", path: "/v0/a%5Cb"},
		{name: "percent not an escape of interest", path: "/v0/a%20b", want: true},
		{name: "dots inside a segment", path: "/v0/a..b/.well-known", want: true},
		{name: "encoded unreserved letter", path: "/v2/%6frder"},
		{name: "encoded unreserved upper", path: "/v2/%4Frder"},
		{name: "encoded digit", path: "/v2/order%31"},
		{name: "encoded tilde", path: "/v2/%7euser"},
		{name: "encoded dash", path: "/v2/a%2db"},
		{name: "encoded underscore", path: "/v2/a%5fb"},
		{name: "path parameter", path: "/v0/products/..;/orders"},
		{name: "semicolon", path: "/v0/orders;jsessionid=1"},
		{name: "encoded semicolon", path: "/v0/orders%3bx"},
		{name: "encoded NUL", path: "/v0/orders%00"},
		{name: "truncated escape", path: "/v0/orders%4"},
		{name: "bad escape", path: "/v0/orders%zz"},
		{name: "space", path: "/v0/a b"},
		{name: "control", path: "/v0/a\x01b"},
		{name: "non-ASCII byte", path: "/v0/caf\xc3\xa9"},
		{name: "encoded reserved kept", path: "/v0/a%3Ab%40c%2Bd", want: true},
		{name: "double-encoded dot", path: "/users/%252e%252e/admin"},
		{name: "encoded percent alone kept", path: "/v0/100%25", want: true},
		{name: "encoded non-ASCII kept", path: "/v0/caf%C3%A9", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalPath(tc.path); got != tc.want {
				t.Fatalf("NormalPath(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func TestNormalPathDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { NormalPath("/v0/products/12/reviews?x=1") }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// FuzzNormalPath checks the canonical form's promise on arbitrary paths: a
// path it accepts decodes to itself segment by segment (no escape changes
// what an upstream reads), has no parameters and no dot segments.
func FuzzNormalPath(f *testing.F) {
	for _, p := range []string{"/", "/v0/products/12", "/v2/%6frder", "/v0/products/..;/orders", "/a%2Fb", "/caf%C3%A9", "/a//b", "/a/./b"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !NormalPath(p) {
			return
		}
		dec, err := url.PathUnescape(p)
		if err != nil {
			t.Fatalf("accepted %q, which does not decode: %v", p, err)
		}
		if strings.ContainsAny(dec, ";\\") || strings.Count(dec, "/") != strings.Count(p, "/") {
			t.Fatalf("accepted %q, which decodes to %q", p, dec)
		}
		for _, seg := range strings.Split(dec, "/")[1:] {
			if seg == "." || seg == ".." {
				t.Fatalf("accepted %q, which decodes to the dot segment in %q", p, dec)
			}
		}
		for i := 0; i+2 < len(p); i++ {
			if p[i] == '%' {
				if b, _ := url.PathUnescape(p[i : i+3]); len(b) == 1 && ambiguousEscape(b[0]) {
					t.Fatalf("accepted %q with the escape %q", p, p[i:i+3])
				}
			}
		}
	})
}

// TestMatchesFolded: routes as an upstream that ignores case and a
// trailing slash reads them.
func TestMatchesFolded(t *testing.T) {
	exact := &Route{Exact: "/Orders/Create"}
	prefix := &Route{Prefix: "/Admin/"}
	regex := &Route{Regex: mustRegex(t, `^/v[0-9]+/users$`)}
	upper := &Route{Regex: mustRegex(t, `^/Orders/[0-9]+$`)}
	caseOff := &Route{Regex: mustRegex(t, `^(?-i)/admin(/.*)?$`)}
	negated := &Route{Regex: mustRegex(t, `^/admin/[^A-Z]+$`)}
	p := &Policy{Routes: []*Route{exact, prefix, regex, upper, caseOff, negated}}
	p.prepare()
	tests := []struct {
		rt   *Route
		path string
		want bool
	}{
		{exact, "/orders/create", true},
		{exact, "/ORDERS/CREATE/", true},
		{exact, "/orders/creat", false},
		{exact, "/orders/createx", false},
		{prefix, "/admin/x", true},
		{prefix, "/ADMIN/", true},
		{prefix, "/admin", true}, // the prefix's directory itself
		{prefix, "/admi", false},
		{prefix, "/adminx", false},
		{prefix, "/", false},
		{regex, "/V2/Users", true},
		{regex, "/v2/users/", true},
		{regex, "/v2/user", false},
		{upper, "/Orders/1", true}, // its own path: upper case in the expression
		{upper, "/orders/1/", true},
		{upper, "/orders/x", false},
		// An expression that turns folding off, or negates a letter class,
		// still reads every spelling the upstream may: as lowered, or as sent.
		{caseOff, "/ADMIN/users", true},
		{caseOff, "/admin", true},
		{negated, "/ADMIN/users", true},
		{negated, "/admin/users", true},
		{negated, "/admin/", false},
	}
	for _, tc := range tests {
		var lower string
		if got := tc.rt.matchesFolded("GET", "h", tc.path, &lower); got != tc.want {
			t.Errorf("route %+v, path %q: %v, want %v", tc.rt, tc.path, got, tc.want)
		}
	}
}

func mustRegex(t *testing.T, expr string) *pathre.Regexp {
	t.Helper()
	re, err := pathre.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}
