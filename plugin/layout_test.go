// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayout enforces the plugin's layout: only plugin/internal/filter (and
// plugin/main.go) talk to the SDK, nothing in the module imports the test
// host, and the SDK-facing glue stays under 10% of the plugin's lines, so
// the decisions live in plain Go packages that are tested natively.
func TestLayout(t *testing.T) {
	const mod = "github.com/credgate/credgate/"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		for _, imp := range imports {
			sdk := strings.HasPrefix(imp, "github.com/tetratelabs/proxy-wasm-go-sdk")
			// plugin/floor is the benchmarks' bare SDK module, not the plugin.
			if sdk && pkg != mod+"plugin/internal/filter" && pkg != mod+"plugin" && pkg != mod+"plugin/floor" {
				t.Errorf("%s imports the SDK (%s): only plugin/internal/filter may", pkg, imp)
			}
			if strings.HasPrefix(imp, mod+"hostcalls") || strings.Contains(imp, "wazero") {
				t.Errorf("%s imports %s: the module must not know the test host", pkg, imp)
			}
		}
	}
	lines := func(dir string) (n int) {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p == "floor" {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			n += bytes.Count(b, []byte("\n"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	glue, all := lines("internal/filter"), lines(".")
	if 10*glue >= all {
		t.Errorf("plugin/internal/filter has %d of the plugin's %d lines (%.1f%%): move decisions into plain packages (under 10%%)",
			glue, all, 100*float64(glue)/float64(all))
	}
}
