// SPDX-License-Identifier: Apache-2.0

// Package benchmd writes benchmark tables into BENCHMARKS.md at the module
// root. Each producer owns one section between `<!-- NAME:begin -->` and
// `<!-- NAME:end -->`; writing a section keeps every other section.
package benchmd

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/credgate/credgate/internal/modroot"
)

// WriteSection replaces (or appends) the named section of BENCHMARKS.md at
// the root of the module containing the working directory.
func WriteSection(name, table string) error {
	root, err := modroot.Find()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "BENCHMARKS.md")
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(path, []byte(Splice(string(old), name, table)), 0o644)
}

// Splice returns doc with the named section set to table.
func Splice(doc, name, table string) string {
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	if !strings.HasSuffix(table, "\n") {
		table += "\n"
	}
	section := begin + "\n" + table + end
	if doc == "" {
		doc = "# Benchmarks\n"
	}
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i >= 0 && j > i {
		return doc[:i] + section + doc[j+len(end):]
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + section + "\n"
}
