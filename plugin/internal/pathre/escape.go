// SPDX-License-Identifier: Apache-2.0

package pathre

// parseEscapeAtom reads an escape outside a class.
func (p *parser) parseEscapeAtom() (*node, bool, error) {
	if p.pos+1 >= len(p.src) {
		return nil, false, p.fail("trailing backslash")
	}
	switch c := p.src[p.pos+1]; c {
	case 'A', 'z', 'b', 'B':
		p.pos += 2
		a := beginText
		switch c {
		case 'z':
			a = endText
		case 'b':
			a = wordBoundary
		case 'B':
			a = noWordBoundary
		}
		return &node{kind: nAssert, assert: a}, false, nil
	case 'd', 'D', 's', 'S', 'w', 'W':
		p.pos += 2
		return &node{kind: nChar, cls: p.perlClass(c)}, true, nil
	case 'Q':
		p.pos += 2
		var items []*node
		for p.more() && !(p.peek() == '\\' && p.pos+1 < len(p.src) && p.src[p.pos+1] == 'E') {
			if p.peek() >= 0x80 {
				return nil, false, p.fail("not ASCII: paths are matched percent-encoded, so write %XX escapes")
			}
			items = append(items, p.literal(p.peek()))
			p.pos++
		}
		if p.more() {
			p.pos += 2 // \E
		}
		switch len(items) {
		case 0:
			return &node{kind: nEmpty}, false, nil // Go repeats the empty quote's neighbour: refuse
		case 1:
			return items[0], true, nil
		}
		// A repetition applies to the quote's last character.
		last := items[len(items)-1]
		n, err := p.parseRepeats(last, true)
		if err != nil {
			return nil, false, err
		}
		items[len(items)-1] = n
		return &node{kind: nConcat, subs: items}, false, nil
	}
	c, err := p.parseEscapeChar()
	if err != nil {
		return nil, false, err
	}
	return p.literal(c), true, nil
}

// parseEscapeChar reads an escape that stands for one character.
func (p *parser) parseEscapeChar() (byte, error) {
	start := p.pos
	if p.pos+1 >= len(p.src) {
		return 0, p.fail("trailing backslash")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	switch c {
	case 'a':
		return '\a', nil
	case 'f':
		return '\f', nil
	case 't':
		return '\t', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 'v':
		return '\v', nil
	case 'x':
		v, ok := p.parseHex()
		if !ok {
			p.pos = start
			return 0, p.fail("invalid or non-ASCII \\x escape")
		}
		return v, nil
	}
	if c < 0x80 && !isAlnum(c) {
		return c, nil
	}
	p.pos = start
	return 0, p.fail("invalid or unsupported escape")
}

// parseHex reads the digits of \xHH or \x{H...} for a value below 0x80.
func (p *parser) parseHex() (byte, bool) {
	v, digits := 0, 0
	if p.more() && p.peek() == '{' {
		p.pos++
		for p.more() && p.peek() != '}' {
			d := hexVal(p.peek())
			if d < 0 || v > 0x7f {
				return 0, false
			}
			v = v*16 + d
			digits++
			p.pos++
		}
		if !p.more() || digits == 0 || v > 0x7f {
			return 0, false
		}
		p.pos++
		return byte(v), true
	}
	for ; digits < 2; digits++ {
		if !p.more() || hexVal(p.peek()) < 0 {
			return 0, false
		}
		v = v*16 + hexVal(p.peek())
		p.pos++
	}
	return byte(v), v <= 0x7f
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
