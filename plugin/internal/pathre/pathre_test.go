// SPDX-License-Identifier: Apache-2.0

package pathre

import (
	"regexp"
	"strings"
	"testing"
)

// accepted are expressions the subset must take: the README's, the demo's
// and what route tables are usually written with.
var accepted = []string{
	`^/storefront/[a-z-]+$`,
	`^/products/[0-9]+$`,
	`^/Orders/[0-9]+$`,
	`^(?-i)/admin(/.*)?$`,
	`(?i)^/Admin`,
	`^/(token|v0/tokens|tokens|v2/token(/.*)?)$`,
	`^/(?:orders|carts)/[0-9]+$`,
	`^/api/v[12]/users/\d{1,12}/?$`,
	`^/v1/stores/[^/]+/carts/[A-Za-z0-9_-]{8,64}$`,
	`\A/v1/x`,
	`/admin`,
	`(?m)^/admin$`,
	`^/a\.b`,
	`^\Q/x+y\E`,
	`^/\Q+\E*x`,
	`^/(a|)x`,
	`^/x*`,
	`^/ab?c`,
	`^/files/.+\.(?:png|jpe?g)$`,
	`^/[[:alpha:]]+/[[:^digit:]]*$`,
	`(?i)^/[^k]`,
	`(?i)\W`,
	`(?s)^/a.b`,
	`\bitems\b`,
	`\Bx`,
	`^/a{2}b{2,}c{0,3}$`,
	`^/(?:[0-9]{2}){3}$`,
	`(?:a{3,}){3}`,
	`(?:a?){5}b`,
	`(?:^)*a`,
	`^/[]a-]+$`,
	`^/[\d\-.]+$`,
	`^/\x2f\x{41}`,
	`(?U)^/a+?`,
	`(?i:^/AB)c`,
	`^/(a*)*$`,
	`()`,
	``,
	`a|b|`,
	`^/%[0-9A-F]{2}`,
	`^/[\t\n\f\r]`,
	`}`,
}

// refused are expressions outside the subset (or invalid): the message
// says what is wrong.
var refused = []struct{ expr, msg string }{
	{`^/café`, "not ASCII"},
	{`[é]`, "not ASCII"},
	{`(`, "missing closing )"},
	{`)`, "unexpected )"},
	{`[a`, "missing closing ]"},
	{`[b-a]`, "invalid character class range"},
	{`a**`, "nested repetition"},
	{`a*{2}`, "nested repetition"},
	{`*a`, "missing argument"},
	{`^*`, "argument to repetition"},
	{`(?i)*`, "argument to repetition"},
	{`a{1001}`, "invalid repeat count"},
	{`a{2,1}`, "invalid repeat count"},
	{`a{,2}`, "literal brace"},
	{`a{x`, "literal brace"},
	{`a{01}`, "literal brace"},
	{`(?P<id>x)`, "named groups"},
	{`(?<id>x)`, "named groups"},
	{`(?)`, "invalid or unsupported group"},
	{`(?i-)`, "invalid or unsupported group"},
	{`(?x)`, "invalid or unsupported group"},
	{`\pL`, "unsupported escape"},
	{`\1`, "unsupported escape"},
	{`\0`, "unsupported escape"},
	{`\x{80}`, "\\x escape"},
	{`\xff`, "\\x escape"},
	{`[[:foo:]]`, "unknown ASCII class"},
	{`\`, "trailing backslash"},
	{`[\b]`, "unsupported escape"},
	{`\Q\E*`, "argument to repetition"},
	{`(a{100}){101}`, "invalid repeat count"},
	{`(?:a{600}){2}`, "invalid repeat count"},
	{`(a{2}){501}`, "invalid repeat count"},
	{`((a{10}){10}){11}`, "invalid repeat count"},
	{`(?:a{3,}){400}`, "invalid repeat count"},
	{`(0{11}){91}`, "invalid repeat count"},
	{`(a{30}){33}`, "too large"},
	{strings.Repeat("x|", 1000) + "x", "too large"},
	{strings.Repeat("(", 101) + strings.Repeat(")", 101), "nested too deep"},
}

var paths = []string{"", "/", "/storefront/shoes", "/STOREFRONT/shoes", "/storefront/", "/products/12", "/products/1x",
	"/Orders/12", "/orders/12", "/admin", "/ADMIN/x", "/admin/x", "/a.b", "/aXb", "/x+y", "/+x", "/++x", "/x", "/ax", "/abc",
	"/ac", "/token", "/TOKENS", "/v2/token/x", "/api/v1/users/42", "/api/v2/users/42/", "/api/v3/users/42",
	"/v1/stores/s1/carts/abcdefgh", "/v1/stores/s1/carts/abc", "/files/a.png", "/files/a.jpeg", "/files/a.gif",
	"/abc/xyz", "/abc/123", "/k", "/K", "/\u212a", "/s", "/\u017f", "/é", "/a\nb", "/a\n", "line\n/admin", "the items here",
	"itemsx", "/aabb", "/aabbbccc", "/aabbcccc", "/]]-a", "/1-2.3", "/A", "//A", "/%2F", "/%2f", "/\t", "/a/b", "\xff/",
	"a", "b", "}", "x"}

func TestAccepted(t *testing.T) {
	for _, expr := range accepted {
		ours, err := Compile(expr)
		if err != nil {
			t.Errorf("%q refused: %v", expr, err)
			continue
		}
		std := regexp.MustCompile(expr)
		fold, err := Compile("(?i)" + expr)
		if err != nil {
			t.Errorf("(?i)%q refused: %v", expr, err)
			continue
		}
		stdFold := regexp.MustCompile("(?i)" + expr)
		for _, p := range paths {
			if got, want := ours.MatchString(p), std.MatchString(p); got != want {
				t.Errorf("%q on %q: %v, regexp says %v", expr, p, got, want)
			}
			if got, want := fold.MatchString(p), stdFold.MatchString(p); got != want {
				t.Errorf("(?i)%q on %q: %v, regexp says %v", expr, p, got, want)
			}
			if got, want := ours.MatchLower(p), std.MatchString(strings.ToLower(p)); isASCII(p) && got != want {
				t.Errorf("%q on %q in lower case: %v, regexp says %v", expr, p, got, want)
			}
		}
		if ours.String() != expr {
			t.Errorf("String() = %q", ours.String())
		}
	}
}

func TestRefused(t *testing.T) {
	for _, c := range refused {
		_, err := Compile(c.expr)
		if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "at byte ") {
			t.Errorf("%q: %v, want an error saying %q", c.expr, err, c.msg)
		}
	}
}

// The prefix check only ever refuses what the expression refuses, and
// does decide: the demo's routes skip paths that cannot match without
// running the automaton.
func TestAnchoredPrefix(t *testing.T) {
	for _, c := range []struct {
		expr, prefix string
		fold         bool
	}{
		{`^/storefront/[a-z-]+$`, "/storefront/", false},
		{`(?i)^/Admin`, "/admin", true},
		{`^/a\.b`, "/a.b", false},
		{`^\Q/x+y\E`, "/x+y", false},
		{`^/(a|b)`, "/", false},
		{`^/ab?c`, "/a", false},
		{`/admin`, "", false},
	} {
		re, err := Compile(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for _, p := range re.prefix {
			got = append(got, p.b)
			if p.fold != c.fold && p.b >= 'a' {
				t.Errorf("%q: byte %q fold %v", c.expr, p.b, p.fold)
			}
		}
		if string(got) != c.prefix {
			t.Errorf("%q: prefix %q, want %q", c.expr, got, c.prefix)
		}
	}
	re, _ := Compile(`(?i)^/k`)
	if !re.MatchString("/\u212a") || re.MatchString("/x") {
		t.Error("a folded prefix refuses the Kelvin sign or accepts another letter")
	}
}

// A warm expression matches without allocating.
func TestMatchDoesNotAllocate(t *testing.T) {
	re, err := Compile(`^/v1/stores/[^/]+/carts/[A-Za-z0-9_-]{8,64}$`)
	if err != nil {
		t.Fatal(err)
	}
	re.MatchString("/warm")
	if n := testing.AllocsPerRun(200, func() { re.MatchString("/v1/stores/s1/carts/abcdefgh12") }); n != 0 {
		t.Errorf("%v allocations per match", n)
	}
}

// Concurrent matches each get a machine of their own.
func TestConcurrentMatches(t *testing.T) {
	re := mustCompile(t, `^/a+b$`)
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 2000; i++ {
				if !re.MatchString("/aaab") || re.MatchString("/aaac") {
					t.Error("wrong answer under concurrency")
				}
			}
			done <- true
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

func mustCompile(t *testing.T, expr string) *Regexp {
	t.Helper()
	re, err := Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

// FuzzMatch: whatever Compile accepts, regexp accepts, and both answer the
// same for any input, with and without case.
func FuzzMatch(f *testing.F) {
	for _, e := range accepted {
		for _, p := range []string{"/storefront/x", "/ADMIN/x", "/a\nb", "/\u212a"} {
			f.Add(e, p)
		}
	}
	for _, c := range refused {
		f.Add(c.expr, "/x")
	}
	f.Fuzz(func(t *testing.T, expr, input string) {
		if len(expr) > 100 || len(input) > 200 {
			return
		}
		if _, err := Compile(expr); err == nil {
			if _, err := Compile("(?i)" + expr); err != nil {
				t.Fatalf("%q compiles, (?i)%q does not: %v", expr, expr, err)
			}
		}
		for _, e := range []string{expr, "(?i)" + expr} {
			ours, err := Compile(e)
			if err != nil {
				continue
			}
			std, err := regexp.Compile(e)
			if err != nil {
				t.Fatalf("%q accepted here, refused by regexp: %v", e, err)
			}
			for _, in := range []string{input, strings.ToLower(input), "/" + input} {
				if got, want := ours.MatchString(in), std.MatchString(in); got != want {
					t.Fatalf("%q on %q: %v, regexp says %v", e, in, got, want)
				}
			}
			if got, want := ours.MatchLower(input), std.MatchString(strings.ToLower(input)); isASCII(input) && got != want {
				t.Fatalf("%q on %q in lower case: %v, regexp says %v", e, input, got, want)
			}
		}
	})
}

// TestRandomExpressions composes expressions from the subset's pieces, which
// random bytes seldom reach, and compares every answer with regexp's.
func TestRandomExpressions(t *testing.T) {
	atoms := []string{"a", "b", "k", "S", "/", ".", `\.`, `\d`, `\W`, `\s`, "[a-c]", "[^/]", "[[:upper:]]", "[^k]", `\b`, `\B`,
		"^", "$", `\A`, `\z`, `\Q+k\E`, `\x41`, "(?i)", "(?-i)", "(?m)", "(?s)"}
	quants := []string{"", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "{0,2}?"}
	inputs := []string{"", "/", "a", "ab/", "/AB", "k\u212a", "s\u017f", "a\nb", "/a.b/", "A1 b", "bbb", "/k/S/", "x\n", "\n"}
	seed := uint32(1)
	next := func(n int) int {
		seed = seed*1664525 + 1013904223
		return int(seed>>16) % n
	}
	var expr func(depth int) string
	expr = func(depth int) string {
		var b strings.Builder
		for i := next(4) + 1; i > 0; i-- {
			if depth < 3 && next(4) == 0 {
				open := []string{"(", "(?:", "(?i:", "(?-i:"}[next(4)]
				b.WriteString(open + expr(depth+1) + "|" + expr(depth+1) + ")")
			} else {
				b.WriteString(atoms[next(len(atoms))])
			}
			b.WriteString(quants[next(len(quants))])
		}
		return b.String()
	}
	compared := 0
	for i := 0; i < 20000; i++ {
		e := expr(0)
		ours, err := Compile(e)
		std, stdErr := regexp.Compile(e)
		if err != nil {
			continue
		}
		if stdErr != nil {
			t.Fatalf("%q accepted here, refused by regexp: %v", e, stdErr)
		}
		compared++
		for _, in := range inputs {
			if got, want := ours.MatchString(in), std.MatchString(in); got != want {
				t.Fatalf("%q on %q: %v, regexp says %v", e, in, got, want)
			}
		}
	}
	if compared < 5000 {
		t.Fatalf("only %d of 20000 expressions compiled", compared)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestNextByteFilter: an anchored expression knows which bytes may follow
// its literal prefix, and refuses other texts before running; one that may
// match nothing more after the prefix claims nothing.
func TestNextByteFilter(t *testing.T) {
	tests := []struct {
		expr    string
		hasNext bool
		refused []string // refused by the filter alone
	}{
		{`^/(token|v0/tokens|tokens|v2/token(/.*)?)$`, true, []string{"/healthz", "/Supplier/x", "/"}},
		{`(?i)^/(token|v2/x)$`, true, []string{"/healthz"}},
		{`^/a*$`, false, nil},
		{`^/\bk`, true, []string{"/x"}},
		{`^/(x|)y`, true, []string{"/z"}},
		{`^/(x|)$`, false, nil},
	}
	for _, tc := range tests {
		re, err := Compile(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if re.hasNext != tc.hasNext {
			t.Fatalf("%q: hasNext = %v", tc.expr, re.hasNext)
		}
		for _, s := range tc.refused {
			c := s[min(len(re.prefix), len(s)-1)]
			if len(s) > len(re.prefix) && re.next.has(lowerASCII(c)) {
				t.Fatalf("%q: the filter lets %q through", tc.expr, s)
			}
			if re.MatchString(s) {
				t.Fatalf("%q matches %q", tc.expr, s)
			}
		}
	}
	// (?i) reads K (Kelvin sign) as k: a byte from 0x80 may follow.
	if re, _ := Compile(`(?i)^/k`); !re.MatchString("/\u212a") {
		t.Fatal("(?i)^/k refuses the Kelvin sign")
	}
}

// TestLiteralPrefixes: an anchored expression of alternatives knows the
// literal texts one of which every match begins with, and refuses other
// texts before running; one whose match may begin with anything claims no
// set. Every answer is also regexp's.
func TestLiteralPrefixes(t *testing.T) {
	tests := []struct {
		expr     string
		literals []string // "" for none; an upper-case letter stands for either case
		refused  []string // refused by the set alone
		matched  []string
	}{
		{`^/(token|v0/tokens|tokens|v2/token(/.*)?)$`, []string{"/token", "/v0/tokens", "/tokens", "/v2/token"},
			[]string{"/v2/payform", "/v0/products", "/tok"}, []string{"/token", "/v2/token/x", "/v0/tokens"}},
		{`(?i)^/(ab|cd)/x`, []string{"/AB/X", "/CD/X"}, []string{"/ab/y", "/ce/x"}, []string{"/AB/x", "/cD/x/y"}},
		{`^/(a|b)+c`, []string{"/a", "/b"}, []string{"/c"}, []string{"/abac", "/bc"}},
		{`^/(a|b)\d`, []string{"/a", "/b"}, []string{"/c1"}, []string{"/a1"}},
		{`^/(a|b)(c|d)$`, []string{"/ac", "/bc", "/ad", "/bd"}, []string{"/ab", "/a"}, []string{"/bd"}},
		{`^/(a|)b`, []string{"/ab", "/b"}, []string{"/a"}, []string{"/b", "/ab"}},
		{`^/x(a|b)?`, nil, nil, []string{"/x", "/xc"}}, // one text: the prefix says it all
		{`^(/a|.)`, nil, nil, []string{"x"}},
		{`^(a|)$`, nil, nil, []string{""}},
		// 24 texts would pass the bound: the set stops at what came before.
		{`^/(a|b|c|d|e|f|g|h)(a|b|c)`, []string{"/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h"}, []string{"/i"}, []string{"/hc"}},
		{`^/(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q)`, nil, nil, []string{"/q"}}, // 17 alternatives: none
	}
	for _, tc := range tests {
		re, err := Compile(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		std := regexp.MustCompile(tc.expr)
		var got []string
		for _, p := range re.literals {
			var b []byte
			for _, pb := range p {
				c := pb.b
				if pb.fold {
					c -= 'a' - 'A'
				}
				b = append(b, c)
			}
			got = append(got, string(b))
		}
		if strings.Join(got, " ") != strings.Join(tc.literals, " ") {
			t.Fatalf("%q: literals %q, want %q", tc.expr, got, tc.literals)
		}
		for _, s := range tc.refused {
			if hasAnyPrefix(s, re.literals, false) {
				t.Fatalf("%q: the set lets %q through", tc.expr, s)
			}
		}
		for _, s := range append(tc.matched, tc.refused...) {
			for _, in := range []string{s, strings.ToUpper(s), strings.ToLower(s)} {
				if got, want := re.MatchString(in), std.MatchString(in); got != want {
					t.Fatalf("%q on %q: %v, regexp says %v", tc.expr, in, got, want)
				}
				if got, want := re.MatchLower(in), std.MatchString(strings.ToLower(in)); got != want {
					t.Fatalf("%q on %q in lower case: %v, regexp says %v", tc.expr, in, got, want)
				}
			}
		}
		for _, s := range tc.matched {
			if !re.MatchString(s) {
				t.Fatalf("%q refuses %q", tc.expr, s)
			}
		}
	}
}
