// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/credgate/credgate/hostcalls/internal/guestmem"
	"github.com/credgate/credgate/hostcalls/internal/state"
	"github.com/credgate/credgate/hostcalls/internal/wasi"
)

// Options configure a Host; the public package fills every field.
type Options struct {
	VMs          int
	VMConfig     []byte
	PluginConfig []byte
	PluginName   string
	Clusters     map[string]string
	Upstream     http.Handler
	Now          func() time.Time
	Stderr       io.Writer
	GCPressure   int
	LogLevel     LogLevel
	AutoTick     bool
	// Env is the VM environment as "KEY=value" entries (WASI environ_get).
	Env []string
	// GuestClock makes each VM's monotonic clock run only while guest code
	// runs (see hostcalls.Config.WithGuestTimeClock).
	GuestClock bool
	// LogSink, when set, receives every log line as it is logged.
	LogSink func(LogEntry)
}

// LogLevel is the proxy-wasm log level.
type LogLevel uint32

// The proxy-wasm log levels.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

// LogEntry is one captured log line.
type LogEntry struct {
	VM      int
	Level   LogLevel
	Message string
}

// Host runs the VMs of one plugin and the state they share.
type Host struct {
	rt           *Runtime
	opts         Options
	vms          []*VM
	next         atomic.Uint64
	closed       atomic.Bool
	calls        map[string]*atomic.Uint64 // by import, fixed at NewHost
	startAllowed map[string]bool
	allocAllowed map[string]bool
	shared       *state.SharedData
	queues       *state.Queues
	metrics      *state.Metrics
	client       *http.Client
	startWall    time.Time
	startMono    time.Time
	lastMono     atomic.Uint64
	wg           sync.WaitGroup
	stop         chan struct{}
	closeOnce    sync.Once

	mu   sync.Mutex
	logs []LogEntry
	// dropped counts log lines discarded to respect MaxLogs.
	dropped int
	traps   []error
}

// NewHost instantiates opts.VMs VMs and starts each as Envoy does.
func NewHost(ctx context.Context, rt *Runtime, opts Options) (*Host, error) {
	h := &Host{
		rt: rt, opts: opts,
		startAllowed: wasi.AllowedDuringStart(rt.Profile),
		allocAllowed: wasi.AllowedDuringAlloc(rt.Profile),
		shared:       state.NewSharedData(),
		queues:       state.NewQueues(),
		metrics:      state.NewMetrics(),
		client: &http.Client{Transport: clusterTransport(), // Envoy's async client follows no redirect
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		startWall: opts.Now(),
		startMono: time.Now(),
		stop:      make(chan struct{}),
		calls:     map[string]*atomic.Uint64{},
	}
	for _, name := range rt.imports {
		h.calls[name] = new(atomic.Uint64)
	}
	for i := 0; i < opts.VMs; i++ {
		vm, err := h.startVM(ctx, i)
		if err != nil {
			_ = h.Close(ctx)
			return nil, h.withLogs(fmt.Errorf("vm %d: %w", i, err))
		}
		h.vms = append(h.vms, vm)
	}
	if opts.AutoTick {
		h.wg.Add(1)
		go h.autoTick()
	}
	return h, nil
}

func (h *Host) withLogs(err error) error {
	var b strings.Builder
	for _, e := range h.Logs() {
		fmt.Fprintf(&b, "\n  [vm %d %s] %s", e.VM, e.Level, e.Message)
	}
	if b.Len() == 0 {
		return err
	}
	return fmt.Errorf("%w\nplugin logs:%s", err, b.String())
}

// startVM: instantiate, then cpp-host WasmBase::startVm (_initialize and
// main, restricted), then the root context: proxy_on_context_create(root, 0),
// proxy_on_vm_start(root, vm config size), proxy_on_configure(root, plugin
// config size), as Envoy's WasmBase::start and ContextBase::onStart /
// onConfigure do.
func (h *Host) startVM(ctx context.Context, index int) (*VM, error) {
	mod, err := h.rt.rt.InstantiateModule(ctx, h.rt.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("Failed to load Wasm module: %w", err)
	}
	vm := &VM{host: h, index: index, mod: mod, mem: guestmem.New(mod.Memory()),
		streams: map[uint32]*stream{}, calls: map[uint32]*httpCall{}, nextID: 1, nextToken: 1,
		exports: map[string]*export{},
		clock:   guestClock{on: h.opts.GuestClock}}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if err := vm.startLocked(ctx); err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	return vm, nil
}

func (vm *VM) startLocked(ctx context.Context) error {
	vm.restricted = vm.host.startAllowed
	var err error
	if vm.export("_initialize") != nil {
		_, err = vm.call(ctx, 0, "_initialize")
		if err == nil && vm.export("main") != nil {
			_, err = vm.call(ctx, 0, "main", 0, 0)
		}
	} else {
		_, err = vm.call(ctx, 0, "_start")
	}
	vm.restricted = nil
	if err != nil {
		return err
	}
	vm.rootID = vm.nextID
	vm.nextID++
	if _, err := vm.call(ctx, vm.rootID, "proxy_on_context_create", uint64(vm.rootID), 0); err != nil {
		return err
	}
	vm.configuring = true
	defer func() { vm.configuring = false }()
	ok, err := vm.call(ctx, vm.rootID, "proxy_on_vm_start", uint64(vm.rootID), uint64(len(vm.host.opts.VMConfig)))
	if err != nil {
		return err
	}
	if vm.export("proxy_on_vm_start") != nil && ok == 0 {
		return errors.New("Failed to start base Wasm: proxy_on_vm_start returned false")
	}
	ok, err = vm.call(ctx, vm.rootID, "proxy_on_configure", uint64(vm.rootID), uint64(len(vm.host.opts.PluginConfig)))
	if err != nil {
		return err
	}
	if vm.export("proxy_on_configure") != nil && ok == 0 {
		return errors.New("Failed to configure Wasm plugin: proxy_on_configure returned false (configuration rejected)")
	}
	return nil
}

// Close runs proxy_on_done and proxy_on_delete on each root context and
// releases the VMs. Close is idempotent.
func (h *Host) Close(ctx context.Context) error {
	h.closed.Store(true)
	h.closeOnce.Do(func() {
		h.mu.Lock()
		close(h.stop)
		h.mu.Unlock()
	})
	h.wg.Wait()
	h.client.CloseIdleConnections()
	var errs []error
	for _, vm := range h.vms {
		vm.mu.Lock()
		if vm.failed == nil && vm.mod != nil {
			_, _ = vm.call(ctx, vm.rootID, "proxy_on_done", uint64(vm.rootID))
			_, _ = vm.call(ctx, vm.rootID, "proxy_on_delete", uint64(vm.rootID))
		}
		if vm.failed == nil || !errors.Is(vm.failed, errClosed) {
			errs = append(errs, vm.mod.Close(ctx))
		}
		vm.failed = errClosed
		vm.mu.Unlock()
	}
	return errors.Join(errs...)
}

// clusterTransport keeps connections to clusters open between calls, as
// Envoy's connection pool does for an HTTP/1.1 cluster: a call reuses an
// idle connection and opens one only when none is free. Close drops the
// idle ones.
func clusterTransport() *http.Transport {
	return &http.Transport{
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute, // Envoy's idle_timeout default is one hour; tests end sooner
	}
}

func (h *Host) count(name string) {
	if c := h.calls[name]; c != nil {
		c.Add(1)
	}
}

// Calls returns how many times the module called each of its imports.
func (h *Host) Calls() map[string]uint64 {
	out := make(map[string]uint64, len(h.calls))
	for name, c := range h.calls {
		out[name] = c.Load()
	}
	return out
}

// VMs returns the number of VMs.
func (h *Host) VMs() int { return len(h.vms) }

func (h *Host) log(vm int, level LogLevel, msg string) {
	if level < h.opts.LogLevel {
		return
	}
	h.mu.Lock()
	if len(h.logs) >= MaxLogs {
		// Keep the newest half: a long-running host must not grow without bound.
		n := copy(h.logs, h.logs[len(h.logs)-MaxLogs/2:])
		h.dropped += len(h.logs) - n
		h.logs = h.logs[:n]
	}
	h.logs = append(h.logs, LogEntry{VM: vm, Level: level, Message: msg})
	h.mu.Unlock()
	if sink := h.opts.LogSink; sink != nil {
		sink(LogEntry{VM: vm, Level: level, Message: msg})
	}
}

// MaxLogs bounds the log lines a host keeps; the oldest are dropped first.
const MaxLogs = 10000

// DroppedLogs returns how many log lines were dropped to respect MaxLogs.
func (h *Host) DroppedLogs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}

func (h *Host) logf(vm int, level LogLevel, format string, args ...any) {
	h.log(vm, level, fmt.Sprintf(format, args...))
}

// Logs returns a copy of the captured log lines.
func (h *Host) Logs() []LogEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]LogEntry(nil), h.logs...)
}

func (h *Host) addTrap(err error) {
	h.mu.Lock()
	h.traps = append(h.traps, err)
	h.mu.Unlock()
	h.log(-1, LogCritical, err.Error())
}

// Traps returns the errors that failed a VM.
func (h *Host) Traps() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.traps...)
}

// Metric returns a metric's value by the name the plugin defined.
func (h *Host) Metric(name string) (uint64, bool) { return h.metrics.Lookup(name) }

// Metrics returns every metric by name.
func (h *Host) Metrics() map[string]uint64 { return h.metrics.Snapshot() }

// Stats returns every metric with its type, sorted by name.
func (h *Host) Stats() []state.Stat { return h.metrics.Stats() }

// SharedDataStats returns the number of shared data keys and their bytes.
func (h *Host) SharedDataStats() (keys, bytes int) { return h.shared.Stats() }

// SharedData returns a shared data entry.
func (h *Host) SharedData(key string) ([]byte, uint32, bool) {
	v, cas, st := h.shared.Get(key)
	return v, cas, st == state.OK
}

func (h *Host) realtime() uint64 { return uint64(h.opts.Now().UnixNano()) }

// GuestTime returns, per VM, the time guest code has run so far; zero
// unless the guest clock is on.
func (h *Host) GuestTime() []time.Duration {
	out := make([]time.Duration, len(h.vms))
	for i, vm := range h.vms {
		vm.mu.Lock()
		out[i] = vm.clock.total
		vm.mu.Unlock()
	}
	return out
}

// Diagnostic calls the module's export name, which takes no arguments and
// returns one number, on each VM, and returns the numbers (0 for a VM
// without it). Only an embedding host can call such an export: Envoy calls
// nothing but the proxy-wasm callbacks.
func (h *Host) Diagnostic(ctx context.Context, name string) ([]uint64, error) {
	out := make([]uint64, len(h.vms))
	for i, vm := range h.vms {
		vm.mu.Lock()
		e := vm.export(name)
		var err error
		switch {
		case vm.failed != nil:
			err = vm.failed
		case e != nil && (e.params != 0 || e.results != 1):
			err = fmt.Errorf("%s takes %d arguments and returns %d results, not none and one", name, e.params, e.results)
		case e != nil:
			out[i], err = vm.invoke(ctx, e, nil)
		}
		vm.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LinearMemory returns the size in bytes of each VM's linear memory.
func (h *Host) LinearMemory() []uint64 {
	out := make([]uint64, len(h.vms))
	for i, vm := range h.vms {
		vm.mu.Lock()
		if vm.failed == nil {
			out[i] = uint64(vm.mod.Memory().Size())
		}
		vm.mu.Unlock()
	}
	return out
}

// monotonic advances with real time plus any jump of the configured clock,
// and never goes backwards.
func (h *Host) monotonic() uint64 {
	d := time.Since(h.startMono) + h.opts.Now().Sub(h.startWall) + time.Hour
	v := uint64(max(d, 0))
	for {
		last := h.lastMono.Load()
		if v <= last {
			return last
		}
		if h.lastMono.CompareAndSwap(last, v) {
			return v
		}
	}
}

func (l LogLevel) String() string {
	switch l {
	case LogTrace:
		return "trace"
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	case LogCritical:
		return "critical"
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}
