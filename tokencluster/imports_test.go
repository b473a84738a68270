// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the layout: the token cluster imports only
// plugin/tokenapi from the plugin and nothing of the test host, and
// tokenapi imports only the standard library.
func TestImportRules(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	const mod = "github.com/credgate/credgate/"
	for _, d := range deps("github.com/credgate/credgate/tokencluster/...") {
		switch {
		case strings.HasPrefix(d, mod+"plugin/") && d != mod+"plugin/tokenapi",
			strings.HasPrefix(d, mod+"hostcalls"), strings.Contains(d, "wazero"), strings.Contains(d, "proxy-wasm"):
			t.Errorf("tokencluster depends on %s", d)
		}
	}
	if got := deps(mod + "plugin/tokenapi"); len(got) != 1 || got[0] != mod+"plugin/tokenapi" {
		t.Errorf("plugin/tokenapi has non-standard dependencies: %v", got)
	}
}
