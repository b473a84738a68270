// SPDX-License-Identifier: Apache-2.0

package hostcalls

import (
	"context"
	"errors"
	"time"

	"github.com/credgate/credgate/hostcalls/internal/abi"
	"github.com/credgate/credgate/hostcalls/internal/state"
)

// Host runs a plugin's VMs and everything they share, like one Envoy
// listener with the plugin configured. It is safe for concurrent use.
type Host struct {
	h *abi.Host
}

// NewHost instantiates the VMs and, on each, runs _initialize (restricted as
// Envoy restricts it), creates the root context, then calls
// proxy_on_vm_start with the VM configuration and proxy_on_configure with
// the plugin configuration. It fails if any step fails or either callback
// answers false; the error then includes the plugin's logs.
func NewHost(ctx context.Context, m *Module, cfg Config) (*Host, error) {
	if m == nil {
		return nil, errors.New("hostcalls: nil module")
	}
	h, err := abi.NewHost(ctx, m.rt, cfg.options())
	if err != nil {
		return nil, err
	}
	return &Host{h: h}, nil
}

// Close calls proxy_on_done and proxy_on_delete on each root context, waits
// for callouts in flight, and releases the VMs.
func (h *Host) Close(ctx context.Context) error { return h.h.Close(ctx) }

// Do runs one HTTP stream to completion on the next VM and returns what
// happened. It returns an error when ctx ends first, when the plugin pauses
// the stream with nothing left that could resume it, or when a callback
// fails in a way that is not a VM failure. A VM failure is not an error:
// the result is Envoy's fail-closed 503, and Traps records the cause.
func (h *Host) Do(ctx context.Context, req Request) (*Result, error) {
	r, err := h.h.Do(ctx, abi.Request{
		Method: req.Method, Path: req.Path, Authority: req.Authority, Scheme: req.Scheme,
		Headers: req.Headers, Body: req.Body, Trailers: req.Trailers, SourceAddress: req.SourceAddress,
		RouteName: req.RouteName, NoRoute: req.NoRoute,
	})
	if r == nil {
		return nil, err
	}
	return convertResult(r), err
}

func convertResult(r *abi.Result) *Result {
	out := &Result{VM: r.VM, Reset: r.Reset, FilterState: r.FilterState,
		Response: Response{Status: r.Response.Status, Headers: r.Response.Headers, Body: r.Response.Body}}
	if lr := r.LocalResponse; lr != nil {
		out.LocalResponse = &LocalResponse{Status: lr.Status, Headers: lr.Headers, Body: lr.Body,
			Details: lr.Details, GRPCStatus: lr.GRPCStatus}
	}
	if up := r.Upstream; up != nil {
		out.Upstream = &UpstreamRequest{Headers: up.Headers, Body: up.Body, Trailers: up.Trailers, Aborted: up.Aborted}
	}
	for _, c := range r.Callouts {
		out.Callouts = append(out.Callouts, Callout{Cluster: c.Cluster, Headers: c.Headers, Body: c.Body,
			ResponseStatus: c.ResponseStatus, Failed: c.Failed, Duration: c.Duration})
	}
	return out
}

// Tick calls proxy_on_tick on every VM that set a tick period.
func (h *Host) Tick(ctx context.Context) error { return h.h.Tick(ctx) }

// Logs returns the captured log lines, oldest first.
func (h *Host) Logs() []LogEntry {
	src := h.h.Logs()
	out := make([]LogEntry, len(src))
	for i, e := range src {
		out[i] = LogEntry{VM: e.VM, Level: LogLevel(e.Level), Message: e.Message}
	}
	return out
}

// Metric returns the value of the metric the plugin defined under name: a
// counter's or gauge's value, a histogram's number of samples.
func (h *Host) Metric(name string) (uint64, bool) { return h.h.Metric(name) }

// Metrics returns every metric by name, valued as Metric does.
func (h *Host) Metrics() map[string]uint64 { return h.h.Metrics() }

// StatType is a metric's proxy-wasm type.
type StatType int

// The proxy-wasm metric types.
const (
	StatCounter StatType = iota
	StatGauge
	StatHistogram
)

// HistogramBuckets are the upper bounds of Envoy's default histogram
// buckets, which Stat.Buckets count.
var HistogramBuckets = append([]float64(nil), state.HistogramBuckets...)

// Stat is one metric the plugin defined, as Envoy's stats store holds it.
type Stat struct {
	// Name is the name the plugin defined (Envoy shows it under wasmcustom.).
	Name string
	Type StatType
	// Value is a counter's or gauge's value, a histogram's number of samples.
	Value uint64
	// Sum is a histogram's sum of samples.
	Sum uint64
	// Buckets are a histogram's cumulative counts: samples ≤ each of
	// HistogramBuckets.
	Buckets []uint64
}

// Stats returns every metric the plugin defined, sorted by name.
func (h *Host) Stats() []Stat {
	src := h.h.Stats()
	out := make([]Stat, len(src))
	for i, s := range src {
		out[i] = Stat{Name: s.Name, Type: StatType(s.Type), Value: s.Value, Sum: s.Sum, Buckets: s.Buckets}
	}
	return out
}

// SharedDataStats returns how many shared data keys the VMs wrote and the
// bytes of those keys and values: proxy-wasm cannot delete a key, so a
// module must bound them itself.
func (h *Host) SharedDataStats() (keys, bytes int) { return h.h.SharedDataStats() }

// SharedData returns the shared data entry under key and its cas.
func (h *Host) SharedData(key string) (value []byte, cas uint32, ok bool) {
	return h.h.SharedData(key)
}

// Traps returns the errors that failed a VM (a trap, a restricted call, a
// Go panic), oldest first.
func (h *Host) Traps() []error { return h.h.Traps() }

// Calls returns how many times the module called each of its imports
// (keyed "module.name", every import listed), over all VMs since NewHost.
// It shows, for instance, that a request makes no WASI call.
func (h *Host) Calls() map[string]uint64 { return h.h.Calls() }

// VMs returns the number of VMs.
func (h *Host) VMs() int { return h.h.VMs() }

// GuestTime returns, per VM, how long guest code has run (in callbacks and
// allocations, without the host functions' own time). It is measured only
// with Config.WithGuestTimeClock; otherwise it is zero.
func (h *Host) GuestTime() []time.Duration { return h.h.GuestTime() }

// Diagnostic calls the module's export name, which takes no arguments and
// returns one number, on each VM (0 for a VM without it). Envoy never calls
// such an export; tests and benchmarks read counters through it.
func (h *Host) Diagnostic(ctx context.Context, name string) ([]uint64, error) {
	return h.h.Diagnostic(ctx, name)
}

// LinearMemory returns the size in bytes of each VM's linear memory (0 for
// a failed VM). Linear memory only grows: it is the memory a VM holds.
func (h *Host) LinearMemory() []uint64 { return h.h.LinearMemory() }
