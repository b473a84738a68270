// SPDX-License-Identifier: Apache-2.0

package state

import (
	"sort"
	"sync"
)

// MetricType is the proxy-wasm metric type.
type MetricType uint32

// The proxy-wasm metric types.
const (
	Counter   MetricType = 0
	Gauge     MetricType = 1
	Histogram MetricType = 2
)

type metric struct {
	name    string
	typ     MetricType
	value   uint64   // counter and gauge value; histogram: number of samples
	sum     uint64   // histogram: sum of samples
	buckets []uint64 // histogram: samples ≤ each of HistogramBuckets
}

// HistogramBuckets are the upper bounds of Envoy's default histogram
// buckets (HistogramSettingsImpl::defaultBuckets), which its Prometheus
// output reports.
var HistogramBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
	30000, 60000, 300000, 600000, 1800000, 3600000}

// Stat is one metric as a stats sink reads it.
type Stat struct {
	Name  string
	Type  MetricType
	Value uint64 // counter and gauge value; histogram: number of samples
	Sum   uint64 // histogram: sum of samples
	// Buckets are a histogram's cumulative counts: samples ≤ each of
	// HistogramBuckets.
	Buckets []uint64
}

// Metrics are the plugin's stats, shared by every VM of a host as Envoy's
// stats store is. Semantics follow Envoy's Context::defineMetric,
// incrementMetric, recordMetric and getMetric
// (source/extensions/common/wasm/context.cc).
type Metrics struct {
	mu     sync.Mutex
	byID   map[uint32]*metric
	byName map[string]uint32
	next   uint32
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{byID: map[uint32]*metric{}, byName: map[string]uint32{}, next: 1}
}

// Define returns the id of the named metric, creating it when needed.
// Defining an existing name with another type is BadArgument.
func (m *Metrics) Define(typ MetricType, name string) (uint32, Status) {
	if typ > Histogram {
		return 0, BadArgument
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.byName[name]; ok {
		if m.byID[id].typ != typ {
			return 0, BadArgument
		}
		return id, OK
	}
	id := m.next
	m.next++
	mt := &metric{name: name, typ: typ}
	if typ == Histogram {
		mt.buckets = make([]uint64, len(HistogramBuckets))
	}
	m.byID[id] = mt
	m.byName[name] = id
	return id, OK
}

// Increment adds offset: counters accept only positive offsets, gauges any,
// histograms none.
func (m *Metrics) Increment(id uint32, offset int64) Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.byID[id]
	if !ok {
		return NotFound
	}
	switch mt.typ {
	case Counter:
		if offset <= 0 {
			return BadArgument
		}
		mt.value += uint64(offset)
	case Gauge:
		mt.value = uint64(int64(mt.value) + offset)
	default:
		return BadArgument
	}
	return OK
}

// Record adds to a counter, sets a gauge, or records a histogram sample.
func (m *Metrics) Record(id uint32, value uint64) Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.byID[id]
	if !ok {
		return NotFound
	}
	switch mt.typ {
	case Counter:
		mt.value += value
	case Gauge:
		mt.value = value
	case Histogram:
		mt.value++
		mt.sum += value
		for i, b := range HistogramBuckets {
			if float64(value) <= b {
				mt.buckets[i]++
			}
		}
	}
	return OK
}

// Get returns a counter's or gauge's value; histograms are BadArgument.
func (m *Metrics) Get(id uint32) (uint64, Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.byID[id]
	if !ok {
		return 0, NotFound
	}
	if mt.typ == Histogram {
		return 0, BadArgument
	}
	return mt.value, OK
}

// Lookup returns the value by name (a histogram's number of samples).
func (m *Metrics) Lookup(name string) (uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byName[name]
	if !ok {
		return 0, false
	}
	return m.byID[id].value, true
}

// Snapshot returns every metric by name.
func (m *Metrics) Snapshot() map[string]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.byName))
	for name, id := range m.byName {
		out[name] = m.byID[id].value
	}
	return out
}

// Names returns the metric names, sorted.
func (m *Metrics) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.byName))
	for n := range m.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Stats returns every metric with its type, sorted by name.
func (m *Metrics) Stats() []Stat {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Stat, 0, len(m.byID))
	for _, mt := range m.byID {
		out = append(out, Stat{Name: mt.name, Type: mt.typ, Value: mt.value, Sum: mt.sum,
			Buckets: append([]uint64(nil), mt.buckets...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
