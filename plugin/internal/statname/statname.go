// SPDX-License-Identifier: Apache-2.0

// Package statname builds the plugin's stat names so that every variable
// part is one dotted segment between fixed words, which Envoy's
// stats_config.stats_tags (envoy/envoy.yaml) turn into the Prometheus
// labels route, scheme, outcome and reason. No segment ever comes from a
// request: routes are the configuration's names, schemes the plugin's own,
// outcomes fixed, and reasons the plugin's reason codes, bounded per VM.
//
// The plugin's stats; in Envoy they appear under the wasmcustom prefix, for
// example wasmcustom.credgate.requests.storefront.jwt.allow:
//
//	credgate.requests.<route>.<scheme>.<allow|deny|unavailable>
//	credgate.denials.<route>.<reason>
//	credgate.cache.<hit|miss|stale>
//	credgate.cluster.errors, credgate.cluster.latency_ms (histogram)
//	credgate.revocations.<evicted|errors|behind>
//	credgate.jwks.<fetches|errors>
//	credgate.vm.<slot>.<heap_bytes|heap_goal_bytes|gc_cycles|linear_memory_bytes> (gauges)
//	credgate.vm.<slot>.gc_corrections
package statname

// Labels for decisions no route took, and for reasons that are not a
// plain reason code.
const (
	NoRoute     = "-"
	NoScheme    = "none"
	OtherReason = "other"
	// MaxReasons bounds the distinct reason labels of a Reasons; the plugin
	// has far fewer reason codes, so the bound only guards against a mistake.
	MaxReasons = 128
	// MaxLabel bounds a label's length.
	MaxLabel = 64
)

// Request is the counter of one decision:
// credgate.requests.<route>.<scheme>.<outcome>. route is a Route label,
// scheme a scheme name ("" for none), outcome allow, deny or unavailable.
func Request(route, scheme, outcome string) string {
	if scheme == "" {
		scheme = NoScheme
	}
	return "credgate.requests." + route + "." + scheme + "." + outcome
}

// Denial is the counter of one denial: credgate.denials.<route>.<reason>,
// reason being a Reasons label.
func Denial(route, reason string) string {
	return "credgate.denials." + route + "." + reason
}

// Route returns a route's configured name as one segment: a character
// other than a letter, digit, '-' or '_' (a '.' would split the segment)
// becomes '_', and the label is at most MaxLabel bytes. An empty name is
// NoRoute.
func Route(name string) string {
	if name == "" {
		return NoRoute
	}
	if len(name) > MaxLabel {
		name = name[:MaxLabel]
	}
	var b []byte
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			if b == nil {
				b = []byte(name)
			}
			b[i] = '_'
		}
	}
	if b == nil {
		return name
	}
	return string(b)
}

// Reasons turns deny reason codes into labels, remembering the codes it
// has seen (one per VM; not safe for concurrent use, as a VM is single
// threaded). The zero value is ready to use.
type Reasons struct {
	seen map[string]bool
}

// Label returns the reason code itself when it is a short lower-case code
// (letters, digits, '_') among the first MaxReasons seen, else OtherReason.
func (r *Reasons) Label(reason string) string {
	if r.seen[reason] {
		return reason
	}
	if !code(reason) || len(r.seen) >= MaxReasons {
		return OtherReason
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[reason] = true
	return reason
}

func code(s string) bool {
	if s == "" || len(s) > MaxLabel {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Outcome is a denial's outcome label: unavailable when the plugin could not
// decide (a dependency down), deny otherwise.
func Outcome(unavailable bool) string {
	if unavailable {
		return "unavailable"
	}
	return "deny"
}
