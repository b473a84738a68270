// SPDX-License-Identifier: Apache-2.0

package statname

import (
	"fmt"
	"strings"
	"testing"
)

func TestRoute(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", "-"},
		{"zakeke-order", "zakeke-order"},
		{"Orders_Create2", "Orders_Create2"},
		{"a.b c/d", "a_b_c_d"},
		{"é", "__"},
		{strings.Repeat("r", 100), strings.Repeat("r", MaxLabel)},
	} {
		if got := Route(tc.name); got != tc.want {
			t.Errorf("Route(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Request("storefront", "jwt", "allow"), "credgate.requests.storefront.jwt.allow"},
		{Request(NoRoute, "", "deny"), "credgate.requests.-.none.deny"},
		{Denial("supplier", "api_key_wrong_tenant"), "credgate.denials.supplier.api_key_wrong_tenant"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}

func TestReasons(t *testing.T) {
	var r Reasons
	for _, tc := range []struct{ reason, want string }{
		{"jwt_expired", "jwt_expired"},
		{"api_key_wrong_tenant", "api_key_wrong_tenant"},
		{"", "other"},
		{"Jwt_Expired", "other"},
		{"jwt.expired", "other"},
		{"jwt-expired", "other"},
		{strings.Repeat("a", MaxLabel+1), "other"},
	} {
		if got := r.Label(tc.reason); got != tc.want {
			t.Errorf("Label(%q) = %q, want %q", tc.reason, got, tc.want)
		}
	}
	// Past MaxReasons distinct codes, new ones count as other; known ones
	// keep their label.
	for i := 0; len(r.seen) < MaxReasons; i++ {
		r.Label(fmt.Sprintf("reason_%d", i))
	}
	if got := r.Label("a_new_reason"); got != "other" {
		t.Errorf("a reason past the bound = %q, want other", got)
	}
	if got := r.Label("jwt_expired"); got != "jwt_expired" {
		t.Errorf("a known reason past the bound = %q, want jwt_expired", got)
	}
}
