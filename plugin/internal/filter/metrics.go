// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"errors"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/policy"
)

// metrics defines the plugin's stats lazily, on first use. In Envoy they
// appear under the wasmcustom prefix, for example
// wasmcustom.credgate.requests.storefront.jwt.allow.
//
//	credgate.requests.<route>.<scheme>.<allow|deny|unavailable>
//	credgate.denials.<route>.<reason>
//	credgate.cache.<hit|miss|stale>
//	credgate.cluster.errors, credgate.cluster.latency_ms (histogram)
//	credgate.revocations.<evicted|errors>
//	credgate.vm.<slot>.<heap_bytes|heap_goal_bytes|gc_cycles|linear_memory_bytes> (gauges)
//	credgate.vm.<slot>.gc_corrections
//
// Every dotted segment between fixed words is one label value, so Envoy's
// stats_config.stats_tags (envoy/envoy.yaml) turn route, scheme, outcome,
// reason and vm_slot into Prometheus labels. No segment ever comes from the
// request: routes are the configuration's names, schemes the plugin's own,
// outcomes the three above, and reasons the plugin's fixed reason codes
// (see reasonLabel), so the number of stats is bounded by the configuration.
type metrics struct {
	counters map[string]proxywasm.MetricCounter
	gauges   map[string]proxywasm.MetricGauge
	latHist  *proxywasm.MetricHistogram
	reasons  map[string]bool
}

// Labels for requests no route decided, and for denials whose reason is
// not a plain reason code.
const (
	noRoute     = "-"
	otherReason = "other"
	// maxReasons bounds the distinct reason labels of a VM; the plugin has
	// far fewer reason codes, so the bound only guards against a mistake.
	maxReasons = 128
	// maxLabel bounds a label's length.
	maxLabel = 64
)

func newMetrics() metrics {
	return metrics{counters: map[string]proxywasm.MetricCounter{}, gauges: map[string]proxywasm.MetricGauge{},
		reasons: map[string]bool{}}
}

// set gives a gauge an absolute value (the SDK's gauges only add).
func (m *metrics) set(name string, v uint64) {
	g, ok := m.gauges[name]
	if !ok {
		g = proxywasm.DefineGaugeMetric(name)
		m.gauges[name] = g
	}
	if d := int64(v) - g.Value(); d != 0 {
		g.Add(d)
	}
}

func (m *metrics) add(name string, n uint64) {
	c, ok := m.counters[name]
	if !ok {
		c = proxywasm.DefineCounterMetric(name)
		m.counters[name] = c
	}
	c.Increment(n)
}

func (m *metrics) inc(name string) { m.add(name, 1) }

// request counts one decision of a route (nil: decided before any route
// matched) by the deciding scheme ("" when none) and outcome.
func (m *metrics) request(rt *policy.Route, scheme, outcome string) {
	if scheme == "" {
		scheme = "none"
	}
	m.inc("credgate.requests." + routeLabel(rt) + "." + scheme + "." + outcome)
}

// denial counts one denial of a route by its reason code.
func (m *metrics) denial(rt *policy.Route, d *authn.DenyError) {
	m.inc("credgate.denials." + routeLabel(rt) + "." + m.reasonLabel(d.Reason))
}

func (m *metrics) latency(d time.Duration) {
	if m.latHist == nil {
		h := proxywasm.DefineHistogramMetric("credgate.cluster.latency_ms")
		m.latHist = &h
	}
	m.latHist.Record(uint64(d.Milliseconds()))
}

// routeLabel is the route's configured name as one stat segment: a
// character other than a letter, digit, '-' or '_' (a '.' would split the
// segment) becomes '_', and the label is at most maxLabel bytes.
func routeLabel(rt *policy.Route) string {
	if rt == nil || rt.Name == "" {
		return noRoute
	}
	return label(rt.Name)
}

func label(s string) string {
	if len(s) > maxLabel {
		s = s[:maxLabel]
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			if b == nil {
				b = []byte(s)
			}
			b[i] = '_'
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

// reasonLabel returns a denial's reason code as a label. Reason codes are
// constants of the plugin (for example jwt_expired, api_key_wrong_tenant);
// anything that is not a short lower-case code, and any code past the
// first maxReasons of the VM, counts as "other".
func (m *metrics) reasonLabel(reason string) string {
	if m.reasons[reason] {
		return reason
	}
	if !reasonCode(reason) || len(m.reasons) >= maxReasons {
		return otherReason
	}
	m.reasons[reason] = true
	return reason
}

func reasonCode(s string) bool {
	if s == "" || len(s) > maxLabel {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func outcomeOf(d *authn.DenyError) string {
	if errors.Is(d, authn.ErrUnavailable) {
		return "unavailable"
	}
	return "deny"
}
