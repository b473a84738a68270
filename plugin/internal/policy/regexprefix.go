// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"regexp/syntax"
	"unicode/utf8"
)

// maxPrefixes bounds the alternatives anchoredPrefixes keeps; a larger
// set says nothing (it is dropped for "").
const maxPrefixes = 16

// anchoredPrefixes are literals one of which every match of expr begins
// with, when expr is anchored at the start of the text (^ without (?m), or
// \A): the literal runes after the anchor and, when a group or an
// alternation follows them, each alternative's own leading literal. They
// are in ASCII lower case and stop at the first non-ASCII rune. nil when
// there are none. A route whose path can begin with none of them is refused
// without running the expression (mayBeginAny): on the demo policy that is
// every regex route of most requests.
func anchoredPrefixes(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	set := leads(re.Sub[1:])
	for _, p := range set {
		if p == "" {
			return nil // some match may begin with anything
		}
	}
	return set
}

// leads are the literals one of which every match of the concatenation
// subs begins with ([""]: no knowledge).
func leads(subs []*syntax.Regexp) []string {
	acc := []string{""}
	for _, s := range subs {
		switch s.Op {
		case syntax.OpLiteral:
			lit, whole := asciiLower(s.Rune)
			for i := range acc {
				acc[i] += lit
			}
			if !whole {
				return acc
			}
			continue
		case syntax.OpCapture, syntax.OpAlternate:
			alts := s.Sub
			if s.Op == syntax.OpCapture {
				alts = []*syntax.Regexp{s.Sub[0]}
			}
			var next []string
			for _, a := range alts {
				next = append(next, leadsOf(a)...)
			}
			if len(acc)*len(next) > maxPrefixes {
				return acc
			}
			var out []string
			for _, x := range acc {
				for _, y := range next {
					out = append(out, x+y)
				}
			}
			return out // where each alternative ends is not known here
		}
		return acc
	}
	return acc
}

// leadsOf is leads of one expression.
func leadsOf(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpConcat:
		return leads(re.Sub)
	case syntax.OpLiteral, syntax.OpCapture, syntax.OpAlternate:
		return leads([]*syntax.Regexp{re})
	}
	return []string{""}
}

// asciiLower is runes in ASCII lower case up to the first non-ASCII rune,
// and whether that was all of them.
func asciiLower(runes []rune) (string, bool) {
	b := make([]byte, 0, len(runes))
	for _, r := range runes {
		if r >= utf8.RuneSelf {
			return string(b), false
		}
		b = append(b, lowerASCII(byte(r)))
	}
	return string(b), true
}

// mayBeginAny is mayBegin for any of prefixes; nil prefixes: true.
func mayBeginAny(s string, prefixes []string) bool {
	if prefixes == nil {
		return true
	}
	for _, p := range prefixes {
		if mayBegin(s, p) {
			return true
		}
	}
	return false
}

// mayBegin reports whether s can begin with prefix (anchoredPrefixes) in any
// case: false only when some byte of s is ASCII and differs from prefix's
// in every case, or s is shorter. A non-ASCII byte answers true: under
// (?i) a literal k also matches the Kelvin sign, so only ASCII bytes are
// decided here. It is a necessary condition for the expression, and the
// expression without case, to match s, or s in lower case.
func mayBegin(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return true
		}
		if lowerASCII(c) != prefix[i] {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
