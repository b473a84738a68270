// SPDX-License-Identifier: Apache-2.0

package wasi

import (
	"context"
	"crypto/rand"

	"github.com/tetratelabs/wazero/api"

	"github.com/credgate/credgate/hostcalls/internal/guestmem"
)

// WASI errno values used by Envoy.
const (
	errnoSuccess    = 0
	errnoBadf       = 8
	errnoFault      = 21
	errnoInval      = 28
	errnoNoent      = 44
	errnoNosys      = 52
	errnoNotsup     = 58
	randomGetMaxLen = 64 << 10 // PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES
)

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func sig(n int) []api.ValueType {
	p := make([]api.ValueType, n)
	for i := range p {
		p[i] = i32
	}
	return p
}

func mem(mod api.Module) guestmem.Memory { return guestmem.New(mod.Memory()) }

// constant returns a function that answers errno and ignores its arguments.
func constant(name string, params []api.ValueType, errno uint64) Func {
	return Func{Name: name, Params: params, Results: sig(1),
		Call: func(_ context.Context, _ api.Module, _ Env, stack []uint64) { stack[0] = errno }}
}

func common() []Func {
	return []Func{
		{Name: "fd_write", Params: sig(4), Results: sig(1), Call: fdWrite},
		// fd_read: cpp-host wasi_unstable_fd_read, reading is not supported.
		constant("fd_read", sig(4), errnoNosys),
		{Name: "fd_seek", Params: []api.ValueType{i32, i64, i32, i32}, Results: sig(1), Call: errorZero("wasi_unstable fd_seek")},
		{Name: "fd_close", Params: sig(1), Results: sig(1), Call: errorZero("wasi_unstable fd_close")},
		{Name: "fd_fdstat_get", Params: sig(2), Results: sig(1), Call: fdFdstatGet},
		{Name: "environ_get", Params: sig(2), Results: sig(1), Call: environGet},
		{Name: "environ_sizes_get", Params: sig(2), Results: sig(1), Call: environSizesGet},
		// No arguments are configured.
		{Name: "args_get", Params: sig(2), Results: sig(1), Call: zero},
		{Name: "args_sizes_get", Params: sig(2), Results: sig(1), Call: zeroSizes},
		{Name: "clock_time_get", Params: []api.ValueType{i32, i64, i32}, Results: sig(1), Call: clockTimeGet},
		{Name: "random_get", Params: sig(2), Results: sig(1), Call: randomGet},
		{Name: "proc_exit", Params: sig(1), Call: procExit},
		// path_open: cpp-host wasi_unstable_path_open, no file system.
		constant("path_open", []api.ValueType{i32, i32, i32, i32, i32, i64, i64, i32, i32}, errnoNoent),
		// fd_prestat_get: cpp-host answers EBADF, meaning "no preopened directories".
		constant("fd_prestat_get", sig(2), errnoBadf),
		constant("fd_prestat_dir_name", sig(3), errnoNosys),
	}
}

// zero answers success and writes nothing: cpp-host wasi_unstable_args_get.
func zero(_ context.Context, _ api.Module, _ Env, stack []uint64) { stack[0] = errnoSuccess }

// environGet emulates cpp-host wasi_unstable_environ_get: for each variable
// of the VM's environment (Envoy vm_config.environment_variables) a pointer
// in the array and "KEY=value\0" in the buffer.
func environGet(_ context.Context, mod api.Module, env Env, stack []uint64) {
	array, buf := uint32(stack[0]), uint32(stack[1])
	m := mem(mod)
	for _, e := range env.Environ() {
		if m.WriteUint32(array, buf) != nil || m.Write(buf, append([]byte(e), 0)) != nil {
			stack[0] = errnoFault
			return
		}
		buf += uint32(len(e)) + 1
		array += 4
	}
	stack[0] = errnoSuccess
}

// environSizesGet emulates cpp-host wasi_unstable_environ_sizes_get: the
// number of variables and the bytes of their "KEY=value\0" strings.
func environSizesGet(_ context.Context, mod api.Module, env Env, stack []uint64) {
	vars := env.Environ()
	size := 0
	for _, e := range vars {
		size += len(e) + 1
	}
	m := mem(mod)
	if m.WriteUint32(uint32(stack[0]), uint32(len(vars))) != nil || m.WriteUint32(uint32(stack[1]), uint32(size)) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// zeroSizes writes two zero sizes: cpp-host wasi_unstable_args_sizes_get.
func zeroSizes(_ context.Context, mod api.Module, _ Env, stack []uint64) {
	m := mem(mod)
	if m.WriteUint32(uint32(stack[0]), 0) != nil || m.WriteUint32(uint32(stack[1]), 0) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// errorZero reports msg as cpp-host's context->error does and answers 0:
// cpp-host wasi_unstable_fd_seek and wasi_unstable_fd_close.
func errorZero(msg string) func(context.Context, api.Module, Env, []uint64) {
	return func(_ context.Context, _ api.Module, env Env, stack []uint64) {
		env.Error(msg)
		stack[0] = errnoSuccess
	}
}

// fdWrite emulates cpp-host wasi_unstable_fd_write (writevImpl): fd 1 goes to
// the log at info level, fd 2 at error level, one trailing newline removed;
// any other fd is EBADF.
func fdWrite(_ context.Context, mod api.Module, env Env, stack []uint64) {
	fd, iovs, n, nwrittenPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	var level uint32
	switch fd {
	case 1:
		level = 2
	case 2:
		level = 4
	default:
		stack[0] = errnoBadf
		return
	}
	m := mem(mod)
	var out []byte
	for i := uint32(0); i < n; i++ {
		buf, err1 := m.ReadUint32(iovs + i*8)
		size, err2 := m.ReadUint32(iovs + i*8 + 4)
		if err1 != nil || err2 != nil {
			stack[0] = errnoFault
			return
		}
		b, err := m.Read(buf, size)
		if err != nil {
			stack[0] = errnoFault
			return
		}
		out = append(out, b...)
	}
	if len(out) > 0 {
		env.Output(fd, out)
		msg := out
		if msg[len(msg)-1] == '\n' {
			msg = msg[:len(msg)-1]
		}
		env.Log(level, string(msg))
	}
	if m.WriteUint32(nwrittenPtr, uint32(len(out))) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// fdFdstatGet emulates cpp-host wasi_unstable_fd_fdstat_get: only stdout and
// stderr exist; their rights are fd_write.
func fdFdstatGet(_ context.Context, mod api.Module, _ Env, stack []uint64) {
	fd, out := uint32(stack[0]), uint32(stack[1])
	if fd != 1 && fd != 2 {
		stack[0] = errnoBadf
		return
	}
	var st [24]byte
	st[8] = 64 // fs_rights_base = fd_write
	if mem(mod).Write(out, st[:]) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// clockTimeGet emulates cpp-host wasi_unstable_clock_time_get: realtime and
// monotonic clocks; the CPU-time clocks are ENOTSUP.
func clockTimeGet(_ context.Context, mod api.Module, env Env, stack []uint64) {
	id, out := uint32(stack[0]), uint32(stack[2])
	var now uint64
	switch id {
	case 0:
		now = env.Realtime()
	case 1:
		now = env.Monotonic()
	default:
		stack[0] = errnoNotsup
		return
	}
	if mem(mod).WriteUint64(out, now) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// randomGet emulates cpp-host wasi_unstable_random_get (64 KiB at most).
func randomGet(_ context.Context, mod api.Module, _ Env, stack []uint64) {
	buf, n := uint32(stack[0]), uint32(stack[1])
	if n > randomGetMaxLen {
		stack[0] = errnoInval
		return
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if mem(mod).Write(buf, b) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// ExitError is the trap raised by proc_exit.
type ExitError struct{ Code uint32 }

func (e *ExitError) Error() string {
	return "wasi_unstable proc_exit"
}

// procExit emulates cpp-host wasi_unstable_proc_exit, which reports an error
// that fails the VM; the guest cannot continue, so the call traps.
func procExit(_ context.Context, _ api.Module, env Env, stack []uint64) {
	env.Error("wasi_unstable proc_exit")
	panic(&ExitError{Code: uint32(stack[0])})
}
