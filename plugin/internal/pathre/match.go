// SPDX-License-Identifier: Apache-2.0

package pathre

import (
	"strconv"
	"sync/atomic"
	"unicode/utf8"
)

// Regexp is a compiled expression. It is safe for concurrent use.
type Regexp struct {
	expr    string
	prog    []inst
	classes []class
	start   uint32
	// anchored: every match begins at the start of the text.
	anchored bool
	// prefix is what an anchored match's text begins with: literal bytes,
	// some without case (fold).
	prefix []prefixByte
	// next, when hasNext, holds every byte the text of an anchored match
	// may have right after prefix (read in lower case when matching
	// without case), so that most texts are refused without running the
	// automaton: a route's expression is tried on every request.
	next    firstSet
	hasNext bool
	// literals, when there are two or more, are the texts one of which an
	// anchored match's text begins with (literalPrefixes): a route
	// expression of alternatives refuses most paths before running.
	literals [][]prefixByte
	// spare is a machine kept for the next match.
	spare atomic.Pointer[machine]
}

type prefixByte struct {
	b    byte // in lower case when fold
	fold bool
}

type op uint8

const (
	opChar   op = iota // one rune in classes[arg]
	opSplit            // out and out1
	opJmp              // out
	opAssert           // out when the assertion arg holds
	opMatch
)

type inst struct {
	op        op
	arg       uint32
	out, out1 uint32
}

// Compile parses an expression in the subset the package documents.
func Compile(expr string) (*Regexp, error) {
	p := &parser{src: expr}
	n, err := p.parseAlt()
	if err != nil {
		return nil, err
	}
	if p.more() {
		return nil, p.fail("unexpected )")
	}
	if size(n) > maxInst {
		return nil, &Error{Offset: 0, Msg: "expression too large (over " + strconv.Itoa(maxInst) + " instructions)"}
	}
	re := &Regexp{expr: expr}
	f := re.compile(n)
	re.patch(f.outs, re.emit(inst{op: opMatch}))
	re.start = f.start
	re.anchored, re.prefix = anchoredPrefix(n)
	if re.anchored {
		items := []*node{n}
		if n.kind == nConcat {
			items = n.subs
		}
		var rest []*node
		if k := 1 + len(re.prefix); k < len(items) {
			rest = items[k:]
		}
		var empty bool
		re.next, empty = firstOfSeq(rest)
		re.hasNext = !empty
		if set := literalPrefixes(&node{kind: nConcat, subs: items[1:]}); len(set) > 1 {
			re.literals = set
		}
	}
	return re, nil
}

// String is the expression as written.
func (re *Regexp) String() string { return re.expr }

// size is the number of instructions n compiles to, saturating.
func size(n *node) int {
	switch n.kind {
	case nChar, nAssert, nEmpty:
		return 1
	case nConcat, nAlt:
		s := len(n.subs)
		for _, sub := range n.subs {
			if s += size(sub); s > maxInst {
				return maxInst + 1
			}
		}
		return s
	}
	sub, copies := size(n.subs[0]), n.min
	if n.max > n.min {
		copies = n.max
	} else if n.max < 0 {
		copies++
	}
	if copies > maxInst || sub*copies > maxInst {
		return maxInst + 1
	}
	return (sub + 1) * (copies + 1)
}

// frag is a compiled piece: its entry and its dangling exits.
type frag struct {
	start uint32
	outs  []hole
}

// hole is an exit still to patch: out, or out1 when second.
type hole struct {
	pc     uint32
	second bool
}

func (re *Regexp) emit(in inst) uint32 {
	re.prog = append(re.prog, in)
	return uint32(len(re.prog) - 1)
}

func (re *Regexp) patch(outs []hole, to uint32) {
	for _, h := range outs {
		if h.second {
			re.prog[h.pc].out1 = to
		} else {
			re.prog[h.pc].out = to
		}
	}
}

func (re *Regexp) compile(n *node) frag {
	switch n.kind {
	case nChar:
		re.classes = append(re.classes, n.cls)
		pc := re.emit(inst{op: opChar, arg: uint32(len(re.classes) - 1)})
		return frag{pc, []hole{{pc, false}}}
	case nAssert:
		pc := re.emit(inst{op: opAssert, arg: uint32(n.assert)})
		return frag{pc, []hole{{pc, false}}}
	case nEmpty:
		pc := re.emit(inst{op: opJmp})
		return frag{pc, []hole{{pc, false}}}
	case nConcat:
		f := re.compile(n.subs[0])
		for _, sub := range n.subs[1:] {
			g := re.compile(sub)
			re.patch(f.outs, g.start)
			f.outs = g.outs
		}
		return f
	case nAlt:
		f := re.compile(n.subs[0])
		for _, sub := range n.subs[1:] {
			g := re.compile(sub)
			pc := re.emit(inst{op: opSplit, out: f.start, out1: g.start})
			f = frag{pc, append(f.outs, g.outs...)}
		}
		return f
	}
	return re.compileRepeat(n)
}

// compileRepeat is x{min,max}: min copies, then x* when unbounded, or
// max-min nested optional copies (x(x(x)?)?)?.
func (re *Regexp) compileRepeat(n *node) frag {
	sub := n.subs[0]
	var f *frag
	then := func(g frag) {
		if f == nil {
			f = &g
			return
		}
		re.patch(f.outs, g.start)
		f.outs = g.outs
	}
	for i := 0; i < n.min; i++ {
		then(re.compile(sub))
	}
	switch {
	case n.max < 0:
		g := re.compile(sub)
		pc := re.emit(inst{op: opSplit, out: g.start})
		re.patch(g.outs, pc)
		then(frag{pc, []hole{{pc, true}}})
	case n.max > n.min:
		var entry uint32
		var prev, exits []hole
		for i := n.min; i < n.max; i++ {
			pc := re.emit(inst{op: opSplit})
			g := re.compile(sub)
			re.prog[pc].out = g.start
			if i == n.min {
				entry = pc
			} else {
				re.patch(prev, pc)
			}
			exits = append(exits, hole{pc, true})
			prev = g.outs
		}
		then(frag{entry, append(exits, prev...)})
	}
	if f == nil {
		pc := re.emit(inst{op: opJmp})
		return frag{pc, []hole{{pc, false}}}
	}
	return *f
}

// machine is the state of one match: the threads at this position and the
// next, and a stack for following empty transitions.
type machine struct {
	cur, next queue
	stack     []uint32
}

// queue is a sparse set of instructions (Briggs and Torczon).
type queue struct {
	sparse, dense []uint32
}

func newMachine(n int) *machine {
	return &machine{
		cur:   queue{sparse: make([]uint32, n), dense: make([]uint32, 0, n)},
		next:  queue{sparse: make([]uint32, n), dense: make([]uint32, 0, n)},
		stack: make([]uint32, 0, 2*n+1),
	}
}

func (q *queue) has(pc uint32) bool {
	i := q.sparse[pc]
	return int(i) < len(q.dense) && q.dense[i] == pc
}

func (q *queue) insert(pc uint32) {
	q.sparse[pc] = uint32(len(q.dense))
	q.dense = append(q.dense, pc)
}

// MatchString reports whether s contains a match of the expression, as
// regexp's MatchString does.
func (re *Regexp) MatchString(s string) bool { return re.match(s, false) }

// MatchLower reports whether strings.ToLower(s) contains a match, for an
// ASCII s, without making the lower-case copy: ASCII letters are read in
// lower case as the automaton runs.
func (re *Regexp) MatchLower(s string) bool { return re.match(s, true) }

func (re *Regexp) match(s string, lower bool) bool {
	if re.anchored && !hasPrefix(s, re.prefix, lower) {
		return false
	}
	if re.hasNext {
		if len(s) <= len(re.prefix) {
			return false // the rest must take a byte
		}
		c := s[len(re.prefix)]
		if lower {
			c = lowerASCII(c)
		}
		if !re.next.has(c) {
			return false
		}
	}
	if len(re.literals) > 0 && !hasAnyPrefix(s, re.literals, lower) {
		return false
	}
	m := re.spare.Swap(nil)
	if m == nil {
		m = newMachine(len(re.prog))
	}
	ok := re.run(m, s, lower)
	re.spare.Store(m)
	return ok
}

// hasPrefix reports whether s (in lower case when lower) may begin with
// prefix: a non-ASCII byte where a letter without case is expected may be
// its fold partner.
func hasPrefix(s string, prefix []prefixByte, lower bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		c := s[i]
		if lower {
			c = lowerASCII(c)
		}
		switch {
		case !p.fold:
			if c != p.b {
				return false
			}
		case c >= 0x80:
			return true
		case c|0x20 != p.b:
			return false
		}
	}
	return true
}

func hasAnyPrefix(s string, set [][]prefixByte, lower bool) bool {
	for _, p := range set {
		if hasPrefix(s, p, lower) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (re *Regexp) run(m *machine, s string, lower bool) bool {
	cur, next := &m.cur, &m.next
	cur.dense = cur.dense[:0]
	for pos := 0; ; {
		if (pos == 0 || !re.anchored) && re.add(m, cur, re.start, s, pos) {
			return true
		}
		if pos >= len(s) || len(cur.dense) == 0 && re.anchored {
			return false
		}
		r, w := rune(s[pos]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(s[pos:])
		} else if lower {
			r = rune(lowerASCII(byte(r)))
		}
		next.dense = next.dense[:0]
		for _, pc := range cur.dense {
			in := &re.prog[pc]
			if in.op == opChar && re.classes[in.arg].has(r) && re.add(m, next, in.out, s, pos+w) {
				return true
			}
		}
		pos += w
		cur, next = next, cur
	}
}

// add puts pc and every instruction its empty transitions reach at pos
// into q, and reports whether one of them is the match.
func (re *Regexp) add(m *machine, q *queue, pc uint32, s string, pos int) bool {
	stack := append(m.stack[:0], pc)
	for len(stack) > 0 {
		pc = stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if q.has(pc) {
			continue
		}
		q.insert(pc)
		in := &re.prog[pc]
		switch in.op {
		case opMatch:
			m.stack = stack
			return true
		case opJmp:
			stack = append(stack, in.out)
		case opSplit:
			stack = append(stack, in.out1, in.out)
		case opAssert:
			if holds(uint8(in.arg), s, pos) {
				stack = append(stack, in.out)
			}
		}
	}
	m.stack = stack
	return false
}

// holds reports whether an assertion holds at pos in s.
func holds(a uint8, s string, pos int) bool {
	switch a {
	case beginText:
		return pos == 0
	case endText:
		return pos == len(s)
	case beginLine:
		return pos == 0 || s[pos-1] == '\n'
	case endLine:
		return pos == len(s) || s[pos] == '\n'
	}
	before := pos > 0 && isWordByte(s[pos-1])
	after := pos < len(s) && isWordByte(s[pos])
	return (before != after) == (a == wordBoundary)
}

// isWordByte: RE2's \b is ASCII; the bytes of a non-ASCII rune are none.
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }
