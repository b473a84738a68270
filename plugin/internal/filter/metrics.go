// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"errors"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/policy"
	"github.com/credgate/credgate/plugin/internal/statname"
)

// metrics defines the plugin's stats lazily, on first use. In Envoy they
// appear under the wasmcustom prefix, for example
// wasmcustom.credgate.requests.storefront.jwt.allow.
//
//	credgate.requests.<route>.<scheme>.<allow|deny|unavailable>
//	credgate.denials.<route>.<reason>
//	credgate.cache.<hit|miss|stale>
//	credgate.cluster.errors, credgate.cluster.latency_ms (histogram)
//	credgate.revocations.<evicted|errors|behind>
//	credgate.vm.<slot>.<heap_bytes|heap_goal_bytes|gc_cycles|linear_memory_bytes> (gauges)
//	credgate.vm.<slot>.gc_corrections
//
// Package statname shapes the names of the first two, whose segments are
// Prometheus labels through envoy.yaml's stats_config.
type metrics struct {
	counters map[string]proxywasm.MetricCounter
	gauges   map[string]proxywasm.MetricGauge
	latHist  *proxywasm.MetricHistogram
	reasons  statname.Reasons
}

func newMetrics() metrics {
	return metrics{counters: map[string]proxywasm.MetricCounter{}, gauges: map[string]proxywasm.MetricGauge{}}
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
	m.inc(statname.Request(routeLabel(rt), scheme, outcome))
}

// denial counts one denial of a route by its reason code.
func (m *metrics) denial(rt *policy.Route, d *authn.DenyError) {
	m.inc(statname.Denial(routeLabel(rt), m.reasons.Label(d.Reason)))
}

func (m *metrics) latency(d time.Duration) {
	if m.latHist == nil {
		h := proxywasm.DefineHistogramMetric("credgate.cluster.latency_ms")
		m.latHist = &h
	}
	m.latHist.Record(uint64(d.Milliseconds()))
}

func routeLabel(rt *policy.Route) string {
	if rt == nil {
		return statname.NoRoute
	}
	return statname.Route(rt.Name)
}

func outcomeOf(d *authn.DenyError) string {
	if errors.Is(d, authn.ErrUnavailable) {
		return "unavailable"
	}
	return "deny"
}
