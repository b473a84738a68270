// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"errors"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// metrics defines the plugin's stats lazily, on first use. In Envoy they
// appear under the wasmcustom prefix, for example
// wasmcustom.credgate.requests.jwt.allow.
//
//	credgate.requests.<scheme>.<allow|deny|unavailable>
//	credgate.cache.<hit|miss|stale>
//	credgate.cluster.errors, credgate.cluster.latency_ms (histogram)
//	credgate.revocations.<evicted|errors|behind>
//	credgate.vm.<slot>.<heap_bytes|heap_goal_bytes|gc_cycles|linear_memory_bytes> (gauges)
//	credgate.vm.<slot>.gc_corrections
type metrics struct {
	counters map[string]proxywasm.MetricCounter
	gauges   map[string]proxywasm.MetricGauge
	latHist  *proxywasm.MetricHistogram
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

func (m *metrics) request(scheme, outcome string) {
	if scheme == "" {
		scheme = "none"
	}
	m.inc("credgate.requests." + scheme + "." + outcome)
}

func (m *metrics) latency(d time.Duration) {
	if m.latHist == nil {
		h := proxywasm.DefineHistogramMetric("credgate.cluster.latency_ms")
		m.latHist = &h
	}
	m.latHist.Record(uint64(d.Milliseconds()))
}

func outcomeOf(d *authn.DenyError) string {
	if errors.Is(d, authn.ErrUnavailable) {
		return "unavailable"
	}
	return "deny"
}
