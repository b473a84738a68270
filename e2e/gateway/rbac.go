// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"fmt"
	"net/http"

	rbacconfigv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/credgate/credgate/hostcalls"
)

// RBAC is one RBAC HTTP filter after the plugin, in the subset the gateway
// honours: policies that allow any permission and name their principals by
// exact filter state values (what the plugin publishes). Any other RBAC
// configuration is refused when the bootstrap is read, rather than served
// differently from Envoy.
type RBAC struct {
	// Deny is action DENY: a matching policy refuses the request. Otherwise
	// (ALLOW) a request no policy matches is refused.
	Deny     bool
	Policies []RBACPolicy
}

// RBACPolicy applies when any of its principals matches.
type RBACPolicy struct {
	Name       string
	Principals []FilterStateMatch
}

// FilterStateMatch is a filter_state principal with an exact string match.
type FilterStateMatch struct{ Key, Value string }

// rbacFilters reads the RBAC filters of the connection manager.
func rbacFilters(hcm *hcmv3.HttpConnectionManager) ([]RBAC, error) {
	var out []RBAC
	for _, f := range hcm.GetHttpFilters() {
		var cfg rbacv3.RBAC
		if !f.GetTypedConfig().MessageIs(&cfg) {
			continue
		}
		if err := f.GetTypedConfig().UnmarshalTo(&cfg); err != nil {
			return nil, err
		}
		rules := cfg.GetRules()
		if rules == nil {
			continue // no rules: Envoy lets everything through (shadow rules only log)
		}
		r := RBAC{Deny: rules.GetAction() == rbacconfigv3.RBAC_DENY}
		if a := rules.GetAction(); a != rbacconfigv3.RBAC_DENY && a != rbacconfigv3.RBAC_ALLOW {
			return nil, fmt.Errorf("RBAC action %v is not supported", a)
		}
		for name, p := range rules.GetPolicies() {
			pol, err := rbacPolicy(name, p)
			if err != nil {
				return nil, err
			}
			r.Policies = append(r.Policies, pol)
		}
		out = append(out, r)
	}
	return out, nil
}

func rbacPolicy(name string, p *rbacconfigv3.Policy) (RBACPolicy, error) {
	unsupported := fmt.Errorf("RBAC policy %q: only permissions {any: true} and filter_state principals with an exact string_match are supported", name)
	if p.GetCondition() != nil || p.GetCheckedCondition() != nil {
		return RBACPolicy{}, unsupported
	}
	for _, perm := range p.GetPermissions() {
		if !perm.GetAny() {
			return RBACPolicy{}, unsupported
		}
	}
	pol := RBACPolicy{Name: name}
	for _, pr := range p.GetPrincipals() {
		fs := pr.GetFilterState()
		exact := fs.GetStringMatch().GetExact()
		if fs == nil || exact == "" || fs.GetStringMatch().GetIgnoreCase() {
			return RBACPolicy{}, unsupported
		}
		pol.Principals = append(pol.Principals, FilterStateMatch{Key: fs.GetKey(), Value: exact})
	}
	return pol, nil
}

// allows applies the filter to the filter state of a request.
func (r RBAC) allows(state map[string][]byte) bool {
	matched := false
	for _, p := range r.Policies {
		for _, m := range p.Principals {
			if v, ok := state[m.Key]; ok && string(v) == m.Value {
				matched = true
			}
		}
	}
	return matched != r.Deny
}

// rbacDenied reports whether an RBAC filter refuses r, and answers as
// Envoy's RBAC filter does (403 "RBAC: access denied").
func rbacDenied(filters []RBAC, w http.ResponseWriter, r *http.Request) bool {
	state := hostcalls.FilterStateOf(r)
	for _, f := range filters {
		if !f.allows(state) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("RBAC: access denied"))
			return true
		}
	}
	return false
}
