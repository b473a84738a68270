// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/credgate/credgate/hostcalls/internal/guestmem"
	"github.com/credgate/credgate/hostcalls/internal/wasi"
)

// VM is one instance of the module, as Envoy runs one per worker thread.
// The guest is single-threaded: mu serializes every call into it.
type VM struct {
	host  *Host
	index int
	mod   api.Module
	mem   guestmem.Memory

	mu          sync.Mutex
	failed      error
	restricted  map[string]bool // non-nil while only these imports may run
	rootID      uint32
	nextID      uint32
	current     uint32 // context of the running callback
	effective   uint32 // set by proxy_set_effective_context, 0 when unset
	streams     map[uint32]*stream
	tickPeriod  uint32 // milliseconds
	nextToken   uint32
	calls       map[uint32]*httpCall
	callResp    *callResponse // the response being delivered
	statusCode  uint32
	statusMsg   string
	after       []func() // actions run once the current top-level call returns
	configuring bool     // the plugin configuration is readable
	depth       int
	clock       guestClock
	stateKeys   map[string]string  // property path → filter state key (stateKey)
	exports     map[string]*export // resolved on first use; nil value: not exported
	ctxFree     []*vmCtx
	// scratch holds what a host function is about to copy into the guest;
	// the copy is made before the function returns, so one buffer serves.
	scratch []byte
}

// guestClock measures the time guest code runs: host functions, and the
// host's work between callbacks, are not counted.
type guestClock struct {
	on    bool
	total time.Duration
	since time.Time // when guest code started running; zero while the host runs
}

// enter records that the guest starts (or resumes) running.
func (c *guestClock) enter() {
	if c.on {
		c.since = time.Now()
	}
}

// leave records that the host takes over.
func (c *guestClock) leave() {
	if c.on && !c.since.IsZero() {
		c.total += time.Since(c.since)
		c.since = time.Time{}
	}
}

type vmKey struct{}

func vmFrom(ctx context.Context) *VM {
	vm, _ := ctx.Value(vmKey{}).(*VM)
	return vm
}

// TrapError is a deliberate trap raised by the host, e.g. a restricted call.
type TrapError struct{ Msg string }

func (e *TrapError) Error() string { return e.Msg }

// guard traps, as proxy-wasm-cpp-host's runtimes do with "restricted_callback",
// when name may not be called now.
func (vm *VM) guard(name string) {
	if vm.restricted != nil && !vm.restricted[name] {
		vm.host.logf(vm.index, LogError, "Attempted call to %s while restricted", name)
		panic(&TrapError{Msg: "restricted_callback"})
	}
}

func guarded(name string, fn func(ctx context.Context, vm *VM, stack []uint64)) api.GoModuleFunc {
	return func(ctx context.Context, _ api.Module, stack []uint64) {
		vm := vmFrom(ctx)
		if vm == nil {
			panic(&TrapError{Msg: "host function " + name + " called outside of a host callback"})
		}
		vm.host.count(name)
		vm.guard(name)
		vm.clock.leave()
		fn(ctx, vm, stack)
		vm.clock.enter()
	}
}

func guardedWASI(name string, fn func(context.Context, api.Module, wasi.Env, []uint64)) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		vm := vmFrom(ctx)
		if vm == nil {
			panic(&TrapError{Msg: "host function " + name + " called outside of a host callback"})
		}
		vm.host.count(name)
		vm.guard(name)
		vm.clock.leave()
		fn(ctx, mod, vmEnv{vm}, stack)
		vm.clock.enter()
	}
}

// call runs export name with the given context as current. A missing export
// is skipped, as cpp-host does for optional callbacks. The caller holds mu.
func (vm *VM) call(ctx context.Context, contextID uint32, name string, args ...uint64) (uint64, error) {
	if vm.failed != nil {
		return 0, vm.failed
	}
	e := vm.export(name)
	if e == nil {
		return 0, nil
	}
	if len(args) > e.params {
		args = args[:e.params] // e.g. ABI 0.1.0 callbacks take no end_of_stream
	}
	prevCurrent, prevEffective := vm.current, vm.effective
	vm.current, vm.effective = contextID, 0
	vm.depth++
	res, err := vm.invoke(ctx, e, args)
	vm.depth--
	vm.current, vm.effective = prevCurrent, prevEffective
	if err != nil {
		vm.fail(fmt.Errorf("Function: %s failed: %w", name, err))
		return 0, vm.failed
	}
	return res, nil
}

// export is one exported function of a VM with the entry points made for it
// so far. wazero's Module.ExportedFunction builds a new call engine, with its
// own stack, on every lookup; Envoy's runtimes resolve each export once per VM.
// An entry point must not be re-entered while it runs, so a nested call of
// the same export takes another one from free (or makes one). Only the
// goroutine holding the VM's lock touches it.
type export struct {
	name    string
	params  int
	results int
	free    []*entry
}

// entry is one entry point of an export and its reusable value stack.
type entry struct {
	fn    api.Function
	stack []uint64
}

// export returns the export name, or nil when the module has none.
func (vm *VM) export(name string) *export {
	if e, ok := vm.exports[name]; ok {
		return e
	}
	var e *export
	if fn := vm.mod.ExportedFunction(name); fn != nil {
		def := fn.Definition()
		e = &export{name: name, params: len(def.ParamTypes()), results: len(def.ResultTypes())}
		e.free = append(e.free, e.newEntry(fn))
	}
	vm.exports[name] = e
	return e
}

func (e *export) newEntry(fn api.Function) *entry {
	return &entry{fn: fn, stack: make([]uint64, max(e.params, e.results, 1))}
}

// invoke runs e with args on a free entry point and returns its first result
// (0 when it has none). It keeps the guest clock and hands the VM to the host
// functions through the context.
func (vm *VM) invoke(ctx context.Context, e *export, args []uint64) (uint64, error) {
	if len(args) != e.params {
		// What api.Function.Call answers for a wrong number of arguments.
		return 0, fmt.Errorf("expected %d params, but passed %d", e.params, len(args))
	}
	var en *entry
	if n := len(e.free); n > 0 {
		en, e.free = e.free[n-1], e.free[:n-1]
	} else {
		en = e.newEntry(vm.mod.ExportedFunction(e.name))
	}
	copy(en.stack, args)
	c := vm.enterCtx(ctx)
	vm.clock.enter()
	err := en.fn.CallWithStack(c, en.stack)
	vm.clock.leave()
	vm.leaveCtx(c)
	if err != nil {
		return 0, err // an entry point that trapped is not reused
	}
	var res uint64
	if e.results > 0 {
		res = en.stack[0]
	}
	e.free = append(e.free, en)
	return res, nil
}

// vmCtx is the context a host function receives: it carries the VM, so that
// the host functions (shared by every VM of the runtime) know whose call it
// is. The VM reuses them instead of deriving a context on every call.
type vmCtx struct {
	context.Context
	vm *VM
}

func (c *vmCtx) Value(key any) any {
	if key == (vmKey{}) {
		return c.vm
	}
	return c.Context.Value(key)
}

func (vm *VM) enterCtx(parent context.Context) *vmCtx {
	var c *vmCtx
	if n := len(vm.ctxFree); n > 0 {
		c, vm.ctxFree = vm.ctxFree[n-1], vm.ctxFree[:n-1]
	} else {
		c = &vmCtx{vm: vm}
	}
	c.Context = parent
	return c
}

func (vm *VM) leaveCtx(c *vmCtx) {
	c.Context = nil
	vm.ctxFree = append(vm.ctxFree, c)
}

// fail marks the VM failed (cpp-host FailState::RuntimeError) and records the
// trap on the host. Streams on a failed VM are answered 503.
func (vm *VM) fail(err error) {
	if vm.failed != nil {
		return
	}
	vm.failed = err
	vm.host.addTrap(fmt.Errorf("vm %d: %w", vm.index, err))
	for _, s := range vm.streams {
		s.signal()
	}
}

// alloc calls the module's allocator with the restrictions of cpp-host
// WasmBase::allocMemory.
func (vm *VM) alloc(ctx context.Context, size uint32) (uint32, error) {
	e := vm.export(vm.host.rt.malloc)
	prev := vm.restricted
	vm.restricted = vm.host.allocAllowed
	var args [1]uint64
	args[0] = uint64(size)
	res, err := vm.invoke(ctx, e, args[:])
	vm.restricted = prev
	if err != nil {
		var trap *TrapError
		if errors.As(err, &trap) {
			panic(trap) // propagate a restricted call as the outer call's trap
		}
		return 0, err
	}
	return uint32(res), nil
}

// copyOut hands data to the module (cpp-host copyToPointerSize) and applies
// the configured GC pressure between the host's write and the module's read.
func (vm *VM) copyOut(ctx context.Context, data []byte, ptrPtr, sizePtr uint32) uint64 {
	if _, err := vm.mem.CopyOut(ctx, vm.alloc, data, ptrPtr, sizePtr); err != nil {
		return statusFor(err)
	}
	vm.gcPressure(ctx, len(data))
	return OK
}

// gcPressure asks the module to allocate the configured number of bytes in
// chunks of the returned buffer's size (at least bytes/4096, so at most 4096
// calls), so its collector may run before it reads what the host wrote.
func (vm *VM) gcPressure(ctx context.Context, n int) {
	total := vm.host.opts.GCPressure
	if total <= 0 || n == 0 {
		return
	}
	chunk := max(n, total/4096, 1)
	for done := 0; done < total; done += chunk {
		if _, err := vm.alloc(ctx, uint32(chunk)); err != nil {
			return
		}
	}
}

func statusFor(err error) uint64 {
	if errors.Is(err, guestmem.ErrOutOfBounds) {
		return InvalidMemoryAccess
	}
	return InternalFailure
}

// vmEnv adapts a VM to what the WASI functions need.
type vmEnv struct{ vm *VM }

func (e vmEnv) Log(level uint32, msg string) { e.vm.host.log(e.vm.index, LogLevel(level), msg) }
func (e vmEnv) Output(_ uint32, b []byte) {
	if w := e.vm.host.opts.Stderr; w != nil {
		_, _ = w.Write(b)
	}
}
func (e vmEnv) Error(msg string)  { e.vm.host.log(e.vm.index, LogError, msg) }
func (e vmEnv) Realtime() uint64  { return e.vm.host.realtime() }
func (e vmEnv) Monotonic() uint64 { return e.vm.monotonic() }
func (e vmEnv) Environ() []string { return e.vm.host.opts.Env }

// monotonic is the host's monotonic clock or, with a guest clock, the time
// guest code has run (from an arbitrary origin).
func (vm *VM) monotonic() uint64 {
	if !vm.clock.on {
		return vm.host.monotonic()
	}
	return uint64(vm.clock.total + time.Hour)
}
