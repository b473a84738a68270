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

// Metric kinds, as the host numbers them.
const (
	metricCounter   = 0
	metricGauge     = 1
	metricHistogram = 2
)

// metrics defines the plugin's stats lazily, on first use; package statname
// lists and shapes their names.
type metrics struct {
	counters map[string]proxywasm.MetricCounter
	requests map[requestStat]proxywasm.MetricCounter
	latHist  *proxywasm.MetricHistogram
	reasons  statname.Reasons
}

func newMetrics() metrics {
	return metrics{counters: map[string]proxywasm.MetricCounter{},
		requests: map[requestStat]proxywasm.MetricCounter{}}
}

func (m *metrics) add(name string, n uint64) {
	c, ok := m.counters[name]
	if !ok {
		c = proxywasm.MetricCounter(defineMetric(metricCounter, name))
		m.counters[name] = c
	}
	metricAdd(uint32(c), int64(n))
}

func (m *metrics) inc(name string) { m.add(name, 1) }

// request counts one decision of a route (nil: decided before any route
// matched) by the deciding scheme ("" when none) and outcome.
func (m *metrics) request(rt *policy.Route, scheme, outcome string) {
	k := requestStat{rt, scheme, outcome}
	c, ok := m.requests[k]
	if !ok {
		c = proxywasm.MetricCounter(defineMetric(metricCounter, statname.Request(routeLabel(rt), scheme, outcome)))
		m.requests[k] = c
	}
	metricAdd(uint32(c), 1)
}

// requestStat is one counter of request: a route (nil: none), the deciding
// scheme and the outcome; a route's counters are named once.
type requestStat struct {
	rt              *policy.Route
	scheme, outcome string
}

// denial counts one denial of a route by its reason code.
func (m *metrics) denial(rt *policy.Route, d *authn.DenyError) {
	m.inc(statname.Denial(routeLabel(rt), m.reasons.Label(d.Reason)))
}

func (m *metrics) latency(d time.Duration) {
	if m.latHist == nil {
		h := proxywasm.MetricHistogram(defineMetric(metricHistogram, "credgate.cluster.latency_ms"))
		m.latHist = &h
	}
	metricRecord(uint32(*m.latHist), uint64(d.Milliseconds()))
}

func routeLabel(rt *policy.Route) string {
	if rt == nil {
		return statname.NoRoute
	}
	return statname.Route(rt.Name)
}

func outcomeOf(d *authn.DenyError) string {
	return statname.Outcome(errors.Is(d, authn.ErrUnavailable))
}
