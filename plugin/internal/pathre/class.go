// SPDX-License-Identifier: Apache-2.0

package pathre

// The two non-ASCII runes that fold to ASCII letters (unicode.SimpleFold's
// orbits k → K → U+212A and s → S → U+017F): under (?i), k also matches
// the Kelvin sign and s the long s, as in regexp.
const (
	kelvinSign rune = 0x212a
	longS      rune = 0x17f
)

// class is a set of runes. An expression is ASCII, so every non-ASCII rune
// other than the two fold partners is in a class or not all together.
type class struct {
	ascii                 [2]uint64
	kelvin, longS, others bool
}

func fullClass() class {
	return class{ascii: [2]uint64{^uint64(0), ^uint64(0)}, kelvin: true, longS: true, others: true}
}

func (c *class) add(b byte)    { c.ascii[b>>6] |= 1 << (b & 63) }
func (c *class) remove(b byte) { c.ascii[b>>6] &^= 1 << (b & 63) }

func (c *class) hasByte(b byte) bool { return b < 0x80 && c.ascii[b>>6]&(1<<(b&63)) != 0 }

func (c *class) addRange(lo, hi byte) {
	for b := int(lo); b <= int(hi); b++ {
		c.add(byte(b))
	}
}

func (c *class) union(d class) {
	c.ascii[0] |= d.ascii[0]
	c.ascii[1] |= d.ascii[1]
	c.kelvin, c.longS, c.others = c.kelvin || d.kelvin, c.longS || d.longS, c.others || d.others
}

func (c *class) negate() {
	c.ascii[0], c.ascii[1] = ^c.ascii[0], ^c.ascii[1]
	c.kelvin, c.longS, c.others = !c.kelvin, !c.longS, !c.others
}

// fold adds every letter's other case and, for k and s, its non-ASCII
// partner. Only sets of ASCII runes are folded: a negated set is folded
// before it is negated, as regexp/syntax does.
func (c *class) fold() {
	for b := byte('a'); b <= 'z'; b++ {
		if c.hasByte(b) || c.hasByte(b-'a'+'A') {
			c.add(b)
			c.add(b - 'a' + 'A')
		}
	}
	c.kelvin = c.kelvin || c.hasByte('k')
	c.longS = c.longS || c.hasByte('s')
}

// has reports whether r is in the set.
func (c *class) has(r rune) bool {
	if r < 0x80 {
		return c.hasByte(byte(r))
	}
	switch r {
	case kelvinSign:
		return c.kelvin
	case longS:
		return c.longS
	}
	return c.others
}

// group builds a Perl or POSIX class from ASCII ranges (pairs of bounds),
// folded under (?i) before it is negated.
func (p *parser) group(negated bool, ranges string) class {
	var c class
	for i := 0; i+1 < len(ranges); i += 2 {
		c.addRange(ranges[i], ranges[i+1])
	}
	if p.flags&foldCase != 0 {
		c.fold()
	}
	if negated {
		c.negate()
	}
	return c
}

// perlClass is \d, \s, \w or their negations, in RE2's ASCII meaning.
func (p *parser) perlClass(c byte) class {
	var ranges string
	switch c | 0x20 {
	case 'd':
		ranges = "09"
	case 's':
		ranges = "\t\n\f\r  "
	case 'w':
		ranges = "09AZaz__"
	}
	return p.group(c < 'a', ranges)
}

// posixClasses are the ASCII classes of [[:name:]], as RE2 defines them.
var posixClasses = []struct{ name, ranges string }{
	{"alnum", "09AZaz"},
	{"alpha", "AZaz"},
	{"ascii", "\x00\x7f"},
	{"blank", "\t\t  "},
	{"cntrl", "\x00\x1f\x7f\x7f"},
	{"digit", "09"},
	{"graph", "!~"},
	{"lower", "az"},
	{"print", " ~"},
	{"punct", "!/:@[`{~"},
	{"space", "\t\r  "},
	{"upper", "AZ"},
	{"word", "09AZaz__"},
	{"xdigit", "09AFaf"},
}

// parseClass reads [...] or [^...].
func (p *parser) parseClass() (class, error) {
	p.pos++ // [
	var cls class
	negated := false
	if p.more() && p.peek() == '^' {
		negated = true
		p.pos++
	}
	for first := true; ; first = false {
		if !p.more() {
			return cls, p.fail("missing closing ]")
		}
		c := p.peek()
		if c == ']' && !first {
			p.pos++
			break
		}
		if c == '[' && p.pos+1 < len(p.src) && p.src[p.pos+1] == ':' {
			g, err := p.parsePOSIX()
			if err != nil {
				return cls, err
			}
			cls.union(g)
			continue
		}
		if c == '\\' && p.pos+1 < len(p.src) {
			switch e := p.src[p.pos+1]; e {
			case 'd', 'D', 's', 'S', 'w', 'W':
				p.pos += 2
				cls.union(p.perlClass(e))
				continue
			}
		}
		lo, err := p.parseClassChar()
		if err != nil {
			return cls, err
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.peek() == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			if hi, err = p.parseClassChar(); err != nil {
				return cls, err
			}
			if hi < lo {
				return cls, p.fail("invalid character class range")
			}
		}
		var r class
		r.addRange(lo, hi)
		if p.flags&foldCase != 0 {
			r.fold()
		}
		cls.union(r)
	}
	if negated {
		cls.negate()
	}
	return cls, nil
}

// parsePOSIX reads [:name:] or [:^name:] inside a class.
func (p *parser) parsePOSIX() (class, error) {
	rest := p.src[p.pos+2:]
	negated := len(rest) > 0 && rest[0] == '^'
	if negated {
		rest = rest[1:]
	}
	for _, pc := range posixClasses {
		if len(rest) >= len(pc.name)+2 && rest[:len(pc.name)] == pc.name && rest[len(pc.name):len(pc.name)+2] == ":]" {
			p.pos += 2 + len(pc.name) + 2
			if negated {
				p.pos++
			}
			return p.group(negated, pc.ranges), nil
		}
	}
	return class{}, p.fail("unknown ASCII class; write \\[ for a literal [ before :")
}

// parseClassChar reads one character of a class: a literal or an escape.
func (p *parser) parseClassChar() (byte, error) {
	c := p.peek()
	if c == '\\' {
		return p.parseEscapeChar()
	}
	if c >= 0x80 {
		return 0, p.fail("not ASCII: paths are matched percent-encoded, so write %XX escapes")
	}
	p.pos++
	return c, nil
}
