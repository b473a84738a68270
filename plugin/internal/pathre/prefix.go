// SPDX-License-Identifier: Apache-2.0

package pathre

// What a compiled expression knows before it runs: the literal prefix an
// anchored expression begins with, and the bytes any match may begin with.

// anchoredPrefix reports whether every match of n begins at the start of
// the text, and the literal bytes it then begins with.
func anchoredPrefix(n *node) (bool, []prefixByte) {
	items := []*node{n}
	if n.kind == nConcat {
		items = n.subs
	}
	if items[0].kind != nAssert || items[0].assert != beginText {
		return false, nil
	}
	var prefix []prefixByte
	for _, it := range items[1:] {
		pb, ok := literalByte(it)
		if !ok {
			break
		}
		prefix = append(prefix, pb)
	}
	return true, prefix
}

// firstSet is a set of bytes: ASCII ones by bit, and whether any byte from
// 0x80 may be (the first byte of a non-ASCII rune).
type firstSet struct {
	ascii    [2]uint64
	nonASCII bool
}

func (f *firstSet) union(g firstSet) {
	f.ascii[0] |= g.ascii[0]
	f.ascii[1] |= g.ascii[1]
	f.nonASCII = f.nonASCII || g.nonASCII
}

func (f *firstSet) has(b byte) bool {
	if b >= 0x80 {
		return f.nonASCII
	}
	return f.ascii[b>>6]&(1<<(b&63)) != 0
}

// first is the set of bytes a match of n may begin with, and whether n
// may match the empty string (then a match may begin with whatever
// follows it). Assertions take no text.
func first(n *node) (firstSet, bool) {
	switch n.kind {
	case nChar:
		return firstSet{ascii: n.cls.ascii, nonASCII: n.cls.others || n.cls.kelvin || n.cls.longS}, false
	case nAssert, nEmpty:
		return firstSet{}, true
	case nConcat:
		return firstOfSeq(n.subs)
	case nAlt:
		var f firstSet
		empty := false
		for _, sub := range n.subs {
			g, e := first(sub)
			f.union(g)
			empty = empty || e
		}
		return f, empty
	case nRepeat:
		f, e := first(n.subs[0])
		return f, e || n.min == 0
	}
	return firstSet{}, true // unknown: claims nothing
}

// firstOfSeq is first of the concatenation of seq.
func firstOfSeq(seq []*node) (firstSet, bool) {
	var f firstSet
	for _, n := range seq {
		g, empty := first(n)
		f.union(g)
		if !empty {
			return f, false
		}
	}
	return f, true
}

// literalByte is the byte a one-character node stands for: exactly one
// ASCII byte, or one letter in both cases and nothing else but its fold
// partner.
func literalByte(n *node) (prefixByte, bool) {
	if n.kind != nChar || n.cls.others {
		return prefixByte{}, false
	}
	var members []byte
	for b := 0; b < 0x80 && len(members) <= 2; b++ {
		if n.cls.hasByte(byte(b)) {
			members = append(members, byte(b))
		}
	}
	switch {
	case len(members) == 1 && !n.cls.kelvin && !n.cls.longS:
		return prefixByte{b: members[0]}, true
	case len(members) == 2 && members[0]+'a'-'A' == members[1] && 'a' <= members[1] && members[1] <= 'z':
		low := members[1]
		if n.cls.kelvin != (low == 'k') || n.cls.longS != (low == 's') {
			return prefixByte{}, false
		}
		return prefixByte{b: low, fold: true}, true
	}
	return prefixByte{}, false
}

// Bounds of a literal prefix set: beyond them an expression claims none.
const (
	maxLiteralPrefixes = 16
	maxLiteralLen      = 32
)

// literalPrefixes is a set of literal texts one of which begins the text
// of every match of n (an anchored expression's items after its ^), for
// example /token, /v0/tokens and /v2/token for ^/(token|v0/tokens|v2/token)$;
// nil when it cannot tell, or when some match may begin with anything.
func literalPrefixes(n *node) [][]prefixByte {
	set, _ := extend([][]prefixByte{nil}, n)
	for _, p := range set {
		if len(p) == 0 {
			return nil
		}
	}
	return set
}

// extend is each text of acc followed by each text a match of n may begin
// with, and whether those are the whole texts n matches (exact); nil when
// n may begin with anything or the set would pass its bounds. A sequence
// stops at an item that is not exact or cannot be told, and then its texts
// so far are prefixes.
func extend(acc [][]prefixByte, n *node) (out [][]prefixByte, exact bool) {
	switch n.kind {
	case nChar:
		pb, ok := literalByte(n)
		for _, a := range acc {
			if !ok || len(a) >= maxLiteralLen {
				return nil, false
			}
			out = append(out, append(a[:len(a):len(a)], pb))
		}
		return out, true
	case nAssert, nEmpty: // no text
		return acc, true
	case nConcat:
		for _, sub := range n.subs {
			next, e := extend(acc, sub)
			if next == nil {
				return acc, false
			}
			if acc = next; !e {
				return acc, false
			}
		}
		return acc, true
	case nAlt:
		exact = true
		for _, sub := range n.subs {
			s, e := extend(acc, sub)
			if s == nil || len(out)+len(s) > maxLiteralPrefixes {
				return nil, false
			}
			out, exact = append(out, s...), exact && e
		}
		return out, exact
	case nRepeat:
		if n.min > 0 {
			out, _ = extend(acc, n.subs[0]) // the first repetition's
		}
	}
	return out, false
}
