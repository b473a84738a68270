// SPDX-License-Identifier: Apache-2.0

package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// stubs133 are the functions proxy-wasm-cpp-host PR #427 (commit c4d7bb0,
// Envoy 1.33 to 1.37) added so that a Go module links. They do nothing:
// fd_fdstat_set_flags and poll_oneoff answer ENOSYS, sched_yield answers
// success. The Go runtime turns a failed poll_oneoff into a fatal error.
func stubs133() []Func {
	return []Func{
		constant("fd_fdstat_set_flags", sig(2), errnoNosys),
		constant("sched_yield", nil, errnoSuccess),
		constant("poll_oneoff", sig(4), errnoNosys),
	}
}

// impls139 are the same functions as the newest proxy-wasm-cpp-host pin
// (commit f2db56a, with PR #533) answers them: fd_fdstat_set_flags still
// answers ENOSYS, sched_yield answers success, and poll_oneoff reports no
// event and returns at once. It never sleeps: a Proxy-Wasm host must not
// block its worker thread for a module.
func impls139() []Func {
	return []Func{
		constant("fd_fdstat_set_flags", sig(2), errnoNosys),
		constant("sched_yield", nil, errnoSuccess),
		{Name: "poll_oneoff", Params: sig(4), Results: sig(1), Call: pollOneoff},
	}
}

// pollOneoff writes nevents = 0 and answers success, whatever was asked.
func pollOneoff(_ context.Context, mod api.Module, _ Env, stack []uint64) {
	if mem(mod).WriteUint32(uint32(stack[3]), 0) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}
