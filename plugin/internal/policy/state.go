// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"github.com/credgate/credgate/plugin/internal/authn"
)

// The filter state keys the plugin sets with proxy_set_property. Envoy
// stores each under "wasm." + key (Context::setProperty), where the rest of
// Envoy reads it: access logs as %FILTER_STATE(wasm.credgate.subject:PLAIN)%,
// RBAC and rate-limit filter-state matchers under the key
// "wasm.credgate.subject". Each is one path segment, so the plugin can read
// it back with the same path.
const (
	StateRoute      = "credgate.route"
	StateScheme     = "credgate.scheme"
	StateSubject    = "credgate.subject"
	StateTenant     = "credgate.tenant"
	StateScopes     = "credgate.scopes"
	StateDenyReason = "credgate.deny_reason"
)

// MaxStateValue bounds a published value. A longer value, or one with a
// control character, is not published at all rather than cut or cleaned:
// an RBAC rule matching a cut subject would also match every subject that
// shares its first bytes.
const MaxStateValue = 512

// Property is one filter state entry.
type Property struct{ Key, Value string }

// State lists what the plugin publishes about a decision: the credgate
// route and the deciding scheme, the verified identity (subject, tenant,
// scopes space-separated) when there is one, and the reason code of a
// denial. Credentials are never part of it: subjects and tenants are the
// identities the verifiers establish, and a reason is a fixed code. Empty
// and unsafe values are left out, so a log shows "-" for them.
func State(route, scheme string, id *authn.Identity, reason string) []Property {
	var out []Property
	_ = EachState(route, scheme, id, reason, func(k, v string) error {
		out = append(out, Property{k, v})
		return nil
	})
	return out
}

// EachState calls set with each entry State lists, in order, and stops at
// the first error.
func EachState(route, scheme string, id *authn.Identity, reason string, set func(key, value string) error) error {
	var err error
	add := func(k, v string) {
		if err == nil && v != "" && len(v) <= MaxStateValue && printable(v) {
			err = set(k, v)
		}
	}
	add(StateRoute, route)
	add(StateScheme, scheme)
	if id != nil {
		add(StateSubject, id.Subject)
		add(StateTenant, id.Tenant)
		add(StateScopes, id.ScopeText())
	}
	add(StateDenyReason, reason)
	return err
}

// Publishable reports whether every part of an identity that the plugin
// publishes (subject, tenant, scopes) and sets on the request is safe as it
// is: at most MaxStateValue bytes, no control characters. The policy refuses
// an identity that is not, so the upstream's headers and the filter state
// RBAC reads never disagree.
func Publishable(id *authn.Identity) bool {
	for _, v := range [...]string{id.Subject, id.Tenant, id.ScopeText(), id.Customer, id.Visitor} {
		if len(v) > MaxStateValue || !printable(v) {
			return false
		}
	}
	for _, kv := range id.Headers {
		if len(kv[1]) > MaxStateValue || !printable(kv[1]) {
			return false
		}
	}
	return true
}

// printable reports whether v has no control characters (which would let
// a value split an access log line).
func printable(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return false
		}
	}
	return true
}
