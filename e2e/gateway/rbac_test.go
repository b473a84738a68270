// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRBAC reads envoy.yaml's RBAC filter and applies it to filter state as
// Envoy's RBAC filter does.
func TestRBAC(t *testing.T) {
	bs := loadRepoBootstrap(t)
	if len(bs.RBAC) != 1 || !bs.RBAC[0].Deny || len(bs.RBAC[0].Policies) != 2 {
		t.Fatalf("RBAC %+v", bs.RBAC)
	}
	f := bs.RBAC[0]
	tests := []struct {
		name  string
		state map[string][]byte
		allow bool
	}{
		{name: "verified caller", state: map[string][]byte{"wasm.credgate.subject": []byte("customer-9"), "wasm.credgate.tenant": []byte("acme")}, allow: true},
		{name: "blocked subject", state: map[string][]byte{"wasm.credgate.subject": []byte("customer-blocked")}},
		{name: "suspended tenant", state: map[string][]byte{"wasm.credgate.subject": []byte("x"), "wasm.credgate.tenant": []byte("suspended")}},
		{name: "exact values only", state: map[string][]byte{"wasm.credgate.tenant": []byte("suspended2")}, allow: true},
		{name: "anonymous request", allow: true},
	}
	for _, tc := range tests {
		if got := f.allows(tc.state); got != tc.allow {
			t.Errorf("%s: allows = %v, want %v", tc.name, got, tc.allow)
		}
	}
	allow := RBAC{Policies: []RBACPolicy{{Principals: []FilterStateMatch{{Key: "wasm.credgate.tenant", Value: "acme"}}}}}
	if !allow.allows(map[string][]byte{"wasm.credgate.tenant": []byte("acme")}) || allow.allows(nil) {
		t.Error("ALLOW policy applied wrong")
	}
}

// TestRBACRefusesWhatItCannotHonour: RBAC rules beyond the subset are an
// error when the bootstrap is read, not a silently different filter.
func TestRBACRefusesWhatItCannotHonour(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("..", "..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ from, to string }{
		"header permission": {"permissions: [{any: true}]\n                    principals:\n                    - filter_state: {key: wasm.credgate.subject",
			"permissions: [{header: {name: x, present_match: true}}]\n                    principals:\n                    - filter_state: {key: wasm.credgate.subject"},
		"prefix match":    {"string_match: {exact: customer-blocked}", "string_match: {prefix: customer-}"},
		"other principal": {"- filter_state: {key: wasm.credgate.tenant, string_match: {exact: suspended}}", "- any: true"},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(orig), tc.from) {
				t.Fatalf("envoy.yaml no longer contains %q", tc.from)
			}
			_, err := ParseBootstrap([]byte(strings.Replace(string(orig), tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), "RBAC policy") {
				t.Fatalf("err %v, want an RBAC error", err)
			}
		})
	}
}
