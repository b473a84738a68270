// SPDX-License-Identifier: Apache-2.0

// Package pathre matches request paths against route expressions in RE2
// syntax, as regexp.MatchString does, without the standard library's
// regexp: that package, regexp/syntax and the Unicode tables they reach are
// about 0.5 MB of the Wasm module, and a route only asks whether a path
// matches. It accepts a documented subset of RE2 (README, "Route
// expressions") and refuses the rest when the configuration is read,
// saying where; whatever it accepts, regexp accepts and answers the same
// for every input (FuzzMatch). Matching simulates the expression's
// automaton (Thompson's construction, one pass over the input, never
// backtracking), so its cost is bounded by the input's length times the
// expression's size, and it does not allocate once warm.
//
// The subset: ASCII expressions only (paths are matched in their
// percent-encoded ASCII form); literals, `.`, `^`, `$`, `\A`, `\z`, `\b`,
// `\B`; classes `[...]` and `[^...]` with ranges, the Perl classes `\d \s
// \w \D \S \W` and the ASCII classes `[:alpha:]` etc.; escapes of
// punctuation, `\a \f \t \n \r \v`, `\x41`, `\x{41}` and `\Q...\E`;
// groups `(...)` and `(?:...)`; flags `i m s U` in `(?flags)` and
// `(?flags:...)`; alternation; `* + ? {n} {n,} {n,m}` (n, m ≤ 1000), each
// optionally followed by `?`. Refused: named groups, Unicode classes
// (`\p`), octal and back-reference escapes, a literal `{` (write `\{`), a
// repetition operator directly after an assertion or a flag group (a
// group holding an assertion may be repeated), nested counts over 1000
// (as regexp), and expressions larger than maxInst instructions or deeper
// than maxDepth.
package pathre

import (
	"strconv"
)

// Limits of what Compile accepts.
const (
	maxRepeat = 1000 // as RE2's
	maxInst   = 2000 // program instructions: a match costs at most the path's length times this
	maxDepth  = 100  // nested groups
)

// Error is an expression Compile refuses: Offset is the byte it stopped at.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return "at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// flags in effect while parsing.
type flags uint8

const (
	foldCase  flags = 1 << iota // i
	multiLine                   // m: ^ and $ at line boundaries
	dotNL                       // s: . matches \n
	ungreedy                    // U: no effect on whether a path matches
)

// Empty-width assertions.
const (
	beginText uint8 = iota
	endText
	beginLine
	endLine
	wordBoundary
	noWordBoundary
)

type nodeKind uint8

const (
	nChar nodeKind = iota
	nAssert
	nEmpty
	nConcat
	nAlt
	nRepeat
)

// node is a parsed expression.
type node struct {
	kind     nodeKind
	counted  bool  // nRepeat written {n}, {n,} or {n,m}
	cls      class // nChar
	assert   uint8 // nAssert
	min, max int   // nRepeat; max -1: unbounded
	subs     []*node
}

type parser struct {
	src   string
	pos   int
	flags flags
	depth int
}

func (p *parser) fail(msg string) error { return &Error{Offset: p.pos, Msg: msg} }

func (p *parser) more() bool { return p.pos < len(p.src) }

func (p *parser) peek() byte { return p.src[p.pos] }

// parseAlt reads alternatives up to a ')' or the end.
func (p *parser) parseAlt() (*node, error) {
	var alts []*node
	for {
		c, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		alts = append(alts, c)
		if !p.more() || p.peek() != '|' {
			break
		}
		p.pos++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return &node{kind: nAlt, subs: alts}, nil
}

// parseConcat reads repeated atoms up to a '|', a ')' or the end.
func (p *parser) parseConcat() (*node, error) {
	var items []*node
	for p.more() && p.peek() != '|' && p.peek() != ')' {
		atom, repeatable, err := p.parseAtom()
		if err != nil {
			return nil, err
		}
		if atom, err = p.parseRepeats(atom, repeatable); err != nil {
			return nil, err
		}
		switch {
		case atom == nil:
		case atom.kind == nConcat:
			items = append(items, atom.subs...) // a group or a quote: one sequence
		default:
			items = append(items, atom)
		}
	}
	switch len(items) {
	case 0:
		return &node{kind: nEmpty}, nil
	case 1:
		return items[0], nil
	}
	return &node{kind: nConcat, subs: items}, nil
}

func isRepeatOp(c byte) bool { return c == '*' || c == '+' || c == '?' || c == '{' }

// parseRepeats applies the repetition operators after an atom. atom is nil
// after a flag group; repeatable is false for assertions.
func (p *parser) parseRepeats(atom *node, repeatable bool) (*node, error) {
	stacked := false
	for p.more() && isRepeatOp(p.peek()) {
		start := p.pos
		if stacked {
			return nil, p.fail("invalid nested repetition operator")
		}
		if atom == nil || !repeatable {
			return nil, p.fail("missing or unsupported argument to repetition operator")
		}
		min, max := 0, -1
		switch p.peek() {
		case '*':
			p.pos++
		case '+':
			min = 1
			p.pos++
		case '?':
			max = 1
			p.pos++
		case '{':
			var ok bool
			if min, max, ok = p.parseCount(); !ok {
				p.pos = start
				return nil, p.fail("invalid repetition; write \\{ for a literal brace")
			}
			if min > maxRepeat || max > maxRepeat || max >= 0 && max < min {
				p.pos = start
				return nil, p.fail("invalid repeat count")
			}
		}
		counted := p.src[start] == '{'
		if p.more() && p.peek() == '?' {
			p.pos++ // non-greedy: the same paths match
		}
		atom = &node{kind: nRepeat, counted: counted, min: min, max: max, subs: []*node{atom}}
		if counted && (min >= 2 || max >= 2) && !repeatIsValid(atom, maxRepeat) {
			p.pos = start
			return nil, p.fail("invalid repeat count (nested counts over 1000)")
		}
		stacked = true
	}
	return atom, nil
}

// repeatIsValid is regexp/syntax's rule for nested counted repetitions:
// the counts along any path into n, each dividing what is left, never
// exceed n copies of the innermost expression (* + ? are not counted).
func repeatIsValid(n *node, limit int) bool {
	if n.kind == nRepeat && n.counted {
		m := n.max
		if m == 0 {
			return true
		}
		if m < 0 {
			m = n.min
		}
		if m > limit {
			return false
		}
		if m > 0 {
			limit /= m
		}
	}
	for _, sub := range n.subs {
		if !repeatIsValid(sub, limit) {
			return false
		}
	}
	return true
}

// parseCount reads {n}, {n,} or {n,m}.
func (p *parser) parseCount() (min, max int, ok bool) {
	p.pos++ // {
	if min, ok = p.parseInt(); !ok {
		return 0, 0, false
	}
	max = min
	if p.more() && p.peek() == ',' {
		p.pos++
		max = -1
		if p.more() && p.peek() != '}' {
			if max, ok = p.parseInt(); !ok {
				return 0, 0, false
			}
		}
	}
	if !p.more() || p.peek() != '}' {
		return 0, 0, false
	}
	p.pos++
	return min, max, true
}

// parseInt reads a decimal number without a leading zero, at most 8 digits.
func (p *parser) parseInt() (int, bool) {
	start, n := p.pos, 0
	for p.more() && '0' <= p.peek() && p.peek() <= '9' {
		n = n*10 + int(p.peek()-'0')
		p.pos++
		if p.pos-start > 8 {
			return 0, false
		}
	}
	if p.pos == start || p.pos-start > 1 && p.src[start] == '0' {
		return 0, false
	}
	return n, true
}

// parseAtom reads one atom. It returns nil for a flag group, which only
// changes the flags; repeatable is false for assertions.
func (p *parser) parseAtom() (n *node, repeatable bool, err error) {
	c := p.peek()
	switch c {
	case '(':
		n, err := p.parseGroup()
		return n, n != nil, err
	case '[':
		cls, err := p.parseClass()
		return &node{kind: nChar, cls: cls}, true, err
	case '.':
		p.pos++
		cls := fullClass()
		if p.flags&dotNL == 0 {
			cls.remove('\n')
		}
		return &node{kind: nChar, cls: cls}, true, nil
	case '^':
		p.pos++
		if p.flags&multiLine != 0 {
			return &node{kind: nAssert, assert: beginLine}, false, nil
		}
		return &node{kind: nAssert, assert: beginText}, false, nil
	case '$':
		p.pos++
		if p.flags&multiLine != 0 {
			return &node{kind: nAssert, assert: endLine}, false, nil
		}
		return &node{kind: nAssert, assert: endText}, false, nil
	case '\\':
		return p.parseEscapeAtom()
	case '*', '+', '?', '{':
		return nil, false, p.fail("missing argument to repetition operator")
	}
	if c >= 0x80 {
		return nil, false, p.fail("not ASCII: paths are matched percent-encoded, so write %XX escapes")
	}
	p.pos++
	return p.literal(c), true, nil
}

// literal is the one-character node for c under the current flags.
func (p *parser) literal(c byte) *node {
	var cls class
	cls.add(c)
	if p.flags&foldCase != 0 {
		cls.fold()
	}
	return &node{kind: nChar, cls: cls}
}

// parseGroup reads (...), (?:...), (?flags) and (?flags:...).
func (p *parser) parseGroup() (*node, error) {
	p.pos++ // (
	saved := p.flags
	if p.more() && p.peek() == '?' {
		p.pos++
		set, colon, err := p.parseFlags()
		if err != nil {
			return nil, err
		}
		p.flags = set
		if !colon {
			return nil, nil // (?flags): in effect up to the enclosing group's end
		}
	}
	if p.depth++; p.depth > maxDepth {
		return nil, p.fail("groups nested too deep")
	}
	n, err := p.parseAlt()
	if err != nil {
		return nil, err
	}
	if !p.more() {
		return nil, p.fail("missing closing )")
	}
	p.pos++ // )
	p.depth--
	p.flags = saved
	return n, nil
}

// parseFlags reads "flags)" or "flags:" after "(?", with at least one flag
// and, after a '-', at least one more.
func (p *parser) parseFlags() (set flags, colon bool, err error) {
	set = p.flags
	clear, saw, sawAfterMinus := false, false, false
	for p.more() {
		c := p.peek()
		var f flags
		switch c {
		case 'i':
			f = foldCase
		case 'm':
			f = multiLine
		case 's':
			f = dotNL
		case 'U':
			f = ungreedy
		case '-':
			if clear {
				return 0, false, p.fail("invalid flags")
			}
			clear = true
			p.pos++
			continue
		case ':', ')':
			if !saw && c == ')' || clear && !sawAfterMinus {
				return 0, false, p.fail("invalid or unsupported group; named groups are not needed, write (?:...)")
			}
			p.pos++
			return set, c == ':', nil
		default:
			return 0, false, p.fail("invalid or unsupported group; named groups are not needed, write (?:...)")
		}
		saw = true
		if clear {
			sawAfterMinus = true
			set &^= f
		} else {
			set |= f
		}
		p.pos++
	}
	return 0, false, p.fail("missing closing )")
}
