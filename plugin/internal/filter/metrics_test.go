// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/policy"
)

func TestRouteLabel(t *testing.T) {
	for _, tc := range []struct {
		route *policy.Route
		want  string
	}{
		{nil, "-"},
		{&policy.Route{}, "-"},
		{&policy.Route{Name: "zakeke-order"}, "zakeke-order"},
		{&policy.Route{Name: "Orders_Create2"}, "Orders_Create2"},
		{&policy.Route{Name: "a.b c/d"}, "a_b_c_d"},
		{&policy.Route{Name: "é"}, "__"},
		{&policy.Route{Name: strings.Repeat("r", 100)}, strings.Repeat("r", maxLabel)},
	} {
		if got := routeLabel(tc.route); got != tc.want {
			t.Errorf("routeLabel(%+v) = %q, want %q", tc.route, got, tc.want)
		}
	}
}

func TestReasonLabel(t *testing.T) {
	m := newMetrics()
	for _, tc := range []struct{ reason, want string }{
		{"jwt_expired", "jwt_expired"},
		{"api_key_wrong_tenant", "api_key_wrong_tenant"},
		{"", "other"},
		{"Jwt_Expired", "other"},
		{"jwt.expired", "other"},
		{"jwt-expired", "other"},
		{strings.Repeat("a", maxLabel+1), "other"},
	} {
		if got := m.reasonLabel(tc.reason); got != tc.want {
			t.Errorf("reasonLabel(%q) = %q, want %q", tc.reason, got, tc.want)
		}
	}
	// Past maxReasons distinct codes, new ones count as other; known ones
	// keep their label.
	for i := 0; len(m.reasons) < maxReasons; i++ {
		m.reasonLabel("r" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)))
	}
	if got := m.reasonLabel("a_new_reason"); got != "other" {
		t.Errorf("reason past the bound = %q, want other", got)
	}
	if got := m.reasonLabel("jwt_expired"); got != "jwt_expired" {
		t.Errorf("known reason past the bound = %q, want jwt_expired", got)
	}
}
