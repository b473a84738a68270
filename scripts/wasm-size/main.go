// SPDX-License-Identifier: Apache-2.0

// Command wasm-size tells where the bytes of a Go-built wasm module go: the
// size of every section, the data segments, and the function body bytes of
// the code section summed per Go package, from the module's name section.
//
//	go run ./scripts/wasm-size [-n 40] MODULE.wasm [OTHER.wasm]
//
// The name section is needed, so measure an unstripped build
// (`WASM_STRIP=0 scripts/build-wasm.sh build/x.wasm`); a stripped module
// still shows its sections. With two modules it prints both per package and
// the difference (second minus first), sorted by the size of the difference: measure the
// plugin against the floor (`--floor`) to see what the plugin adds.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	n := flag.Int("n", 40, "packages (or functions, with -pkg) to list (0: all)")
	pkg := flag.String("pkg", "", "list the functions of this package (as the package table names it), largest first")
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 || (*pkg != "" && flag.NArg() != 1) {
		fmt.Fprintln(os.Stderr, "usage: wasm-size [-n N] MODULE.wasm [OTHER.wasm] | wasm-size [-n N] -pkg PACKAGE MODULE.wasm")
		os.Exit(2)
	}
	var mods []*module
	for _, path := range flag.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			fail(err)
		}
		m, err := parse(b)
		if err != nil {
			fail(fmt.Errorf("%s: %w", path, err))
		}
		m.path = path
		mods = append(mods, m)
	}
	if *pkg != "" {
		functions(mods[0], *pkg, *n)
		return
	}
	if len(mods) == 1 {
		report(mods[0], *n)
		return
	}
	compare(mods[0], mods[1], *n)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wasm-size:", err)
	os.Exit(1)
}

// module is what wasm-size reads of a module.
type module struct {
	path     string
	size     int
	sections []section
	imported int      // imported functions, which come first in the function index space
	bodies   []int    // size of each function body, by index in the code section
	names    []string // function names by function index (imports included); nil if stripped
	data     []int    // size of each data segment's bytes
}

type section struct {
	name string
	size int // payload bytes, without id and size
}

var sectionNames = [...]string{"custom", "type", "import", "function", "table", "memory",
	"global", "export", "start", "element", "code", "data", "datacount"}

func parse(b []byte) (*module, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return nil, errors.New("not a wasm module")
	}
	m := &module{size: len(b)}
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		id := r.byte()
		size := int(r.uleb())
		if r.err != nil || r.off+size > len(b) {
			return nil, errors.New("truncated section")
		}
		body := &reader{b: b[r.off : r.off+size]}
		name := "unknown"
		if int(id) < len(sectionNames) {
			name = sectionNames[id]
		}
		switch id {
		case 0:
			cname := body.name()
			name = "custom " + cname
			if cname == "name" {
				m.readNames(body)
			}
		case 2:
			m.readImports(body)
		case 10:
			count := int(body.uleb())
			for i := 0; i < count && body.err == nil; i++ {
				sz := int(body.uleb())
				body.off += sz
				m.bodies = append(m.bodies, sz)
			}
		case 11:
			m.readData(body)
		}
		if body.err != nil {
			return nil, fmt.Errorf("section %s: %w", name, body.err)
		}
		m.sections = append(m.sections, section{name, size})
		r.off += size
	}
	return m, r.err
}

func (m *module) readImports(r *reader) {
	count := int(r.uleb())
	for i := 0; i < count && r.err == nil; i++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0: // function: type index
			r.uleb()
			m.imported++
		case 1: // table: reftype, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
		case 3: // global: valtype, mutability
			r.byte()
			r.byte()
		default:
			r.err = fmt.Errorf("import kind %d", kind)
		}
	}
}

func (m *module) readNames(r *reader) {
	for r.off < len(r.b) && r.err == nil {
		id := r.byte()
		size := int(r.uleb())
		end := r.off + size
		if id == 1 { // function names
			count := int(r.uleb())
			for i := 0; i < count && r.err == nil; i++ {
				idx := int(r.uleb())
				name := r.name()
				for len(m.names) <= idx {
					m.names = append(m.names, "")
				}
				m.names[idx] = name
			}
		}
		r.off = end
	}
}

func (m *module) readData(r *reader) {
	count := int(r.uleb())
	for i := 0; i < count && r.err == nil; i++ {
		switch flags := r.uleb(); flags {
		case 0: // active, memory 0, offset expression
			r.expr()
		case 1: // passive
		case 2: // active, memory index, offset expression
			r.uleb()
			r.expr()
		default:
			r.err = fmt.Errorf("data segment flags %d", flags)
			return
		}
		sz := int(r.uleb())
		r.off += sz
		m.data = append(m.data, sz)
	}
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		if r.err == nil {
			r.err = errors.New("unexpected end")
		}
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	return v
}

func (r *reader) name() string {
	n := int(r.uleb())
	if r.err != nil || r.off+n > len(r.b) {
		if r.err == nil {
			r.err = errors.New("name past end")
		}
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.uleb()
	}
	r.uleb()
}

// expr skips a constant expression (i32.const N end, or global.get N end).
func (r *reader) expr() {
	for r.err == nil {
		switch op := r.byte(); op {
		case 0x0b:
			return
		case 0x41, 0x42, 0x23:
			r.uleb()
		default:
			r.err = fmt.Errorf("offset expression opcode %#x", op)
		}
	}
}

// pkgOf returns the Go package of a function's name as the Go linker writes
// it into the name section, where every character but letters, digits, '_'
// and '.' has become '_':
// "regexp_syntax.__parser_.push" → "regexp_syntax",
// "github.com_tidwall_gjson.Get" → "github.com_tidwall_gjson",
// "slices.SortFunc_go.shape.string_" → "slices",
// "type_.eq.internal_abi.ITab" → "type:.eq (compiler-generated)".
func pkgOf(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	for _, p := range []string{"type_.", "go_."} {
		if strings.HasPrefix(name, p) {
			rest := name[len(p):]
			if i := strings.IndexByte(rest, '.'); i >= 0 {
				rest = rest[:i]
			}
			return strings.TrimSuffix(p, "_.") + ":." + rest + " (compiler-generated)"
		}
	}
	// A module path begins with a domain ("github.com_", "filippo.io_"):
	// its dots are not the one that ends the package path.
	start := 0
	if m := domain.FindStringIndex(name); m != nil {
		start = m[1]
	}
	if i := strings.IndexByte(name[start:], '.'); i >= 0 {
		return name[:start+i]
	}
	return name
}

var domain = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|org|io|net|dev|in|cc|me|co|app|cloud|sh|page|land|xyz|tech)_`)

type row struct {
	pkg   string
	a, b  int // bytes
	na    int // functions
	delta int
}

func (m *module) perPackage() map[string]*row {
	rows := map[string]*row{}
	for i, sz := range m.bodies {
		name := ""
		if idx := m.imported + i; idx < len(m.names) {
			name = m.names[idx]
		}
		p := pkgOf(name)
		r := rows[p]
		if r == nil {
			r = &row{pkg: p}
			rows[p] = r
		}
		r.a += sz
		r.na++
	}
	return rows
}

// functions prints the functions of package pkg, largest first.
func functions(m *module, pkg string, n int) {
	if m.names == nil {
		fail(errors.New("no name section (stripped module): build with WASM_STRIP=0"))
	}
	type fn struct {
		name string
		size int
	}
	var list []fn
	total := 0
	for i, sz := range m.bodies {
		if idx := m.imported + i; idx < len(m.names) && pkgOf(m.names[idx]) == pkg {
			list = append(list, fn{m.names[idx], sz})
			total += sz
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].size != list[j].size {
			return list[i].size > list[j].size
		}
		return list[i].name < list[j].name
	})
	fmt.Printf("%s: package %s, %d functions, %d bytes of code\n\n", m.path, pkg, len(list), total)
	for i, f := range list {
		if n > 0 && i >= n {
			fmt.Printf("(%d more functions)\n", len(list)-n)
			break
		}
		fmt.Printf("%9d %s\n", f.size, f.name)
	}
}

func (m *module) sectionSize(name string) int {
	total := 0
	for _, s := range m.sections {
		if s.name == name {
			total += s.size
		}
	}
	return total
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

func report(m *module, n int) {
	fmt.Printf("%s: %d bytes (%.2f MB)\n\n", m.path, m.size, float64(m.size)/1e6)
	fmt.Println("section                      bytes")
	for _, s := range m.sections {
		fmt.Printf("%-24s %9d\n", s.name, s.size)
	}
	fmt.Printf("\nfunctions %d (imported %d), code bodies %d bytes; data segments %d, %d bytes\n",
		len(m.bodies), m.imported, sum(m.bodies), len(m.data), sum(m.data))
	if m.names == nil {
		fmt.Println("\nno name section (stripped module): build with WASM_STRIP=0 for the per-package table")
		return
	}
	rows := m.perPackage()
	list := make([]*row, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].a != list[j].a {
			return list[i].a > list[j].a
		}
		return list[i].pkg < list[j].pkg
	})
	total := sum(m.bodies)
	fmt.Printf("\n%-60s %9s %6s %5s\n", "package (function bodies)", "bytes", "%code", "funcs")
	rest, restN := 0, 0
	for i, r := range list {
		if n > 0 && i >= n {
			rest += r.a
			restN += r.na
			continue
		}
		fmt.Printf("%-60s %9d %5.1f%% %5d\n", r.pkg, r.a, 100*float64(r.a)/float64(total), r.na)
	}
	if rest > 0 {
		fmt.Printf("%-60s %9d %5.1f%% %5d\n", fmt.Sprintf("(%d more packages)", len(list)-n), rest,
			100*float64(rest)/float64(total), restN)
	}
}

func compare(a, b *module, n int) {
	fmt.Printf("A %s: %d bytes (%.2f MB)\nB %s: %d bytes (%.2f MB)\nB-A %d bytes\n\n",
		a.path, a.size, float64(a.size)/1e6, b.path, b.size, float64(b.size)/1e6, b.size-a.size)
	fmt.Printf("%-24s %9s %9s %9s\n", "section", "A", "B", "B-A")
	seen := map[string]bool{}
	for _, m := range []*module{a, b} {
		for _, s := range m.sections {
			if seen[s.name] {
				continue
			}
			seen[s.name] = true
			sa, sb := a.sectionSize(s.name), b.sectionSize(s.name)
			fmt.Printf("%-24s %9d %9d %9d\n", s.name, sa, sb, sb-sa)
		}
	}
	fmt.Printf("%-24s %9d %9d %9d\n", "(code bodies)", sum(a.bodies), sum(b.bodies), sum(b.bodies)-sum(a.bodies))
	fmt.Printf("%-24s %9d %9d %9d\n", "(data bytes)", sum(a.data), sum(b.data), sum(b.data)-sum(a.data))
	if a.names == nil || b.names == nil {
		fmt.Println("\na module has no name section (stripped): build with WASM_STRIP=0 for the per-package table")
		return
	}
	ra, rb := a.perPackage(), b.perPackage()
	rows := map[string]*row{}
	for p, r := range ra {
		rows[p] = &row{pkg: p, a: r.a}
	}
	for p, r := range rb {
		if rows[p] == nil {
			rows[p] = &row{pkg: p}
		}
		rows[p].b = r.a
	}
	list := make([]*row, 0, len(rows))
	for _, r := range rows {
		r.delta = r.b - r.a
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		if di, dj := abs(list[i].delta), abs(list[j].delta); di != dj {
			return di > dj
		}
		return list[i].pkg < list[j].pkg
	})
	fmt.Printf("\n%-60s %9s %9s %9s\n", "package (function bodies)", "A", "B", "B-A")
	rest := 0
	for i, r := range list {
		if n > 0 && i >= n {
			rest += r.delta
			continue
		}
		fmt.Printf("%-60s %9d %9d %9d\n", r.pkg, r.a, r.b, r.delta)
	}
	if n > 0 && len(list) > n {
		fmt.Printf("%-60s %9s %9s %9d\n", fmt.Sprintf("(%d more packages)", len(list)-n), "", "", rest)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
