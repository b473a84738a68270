// SPDX-License-Identifier: Apache-2.0

package wasi

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// stubs133 are the functions proxy-wasm-cpp-host PR #427 added so that a Go
// module links (Envoy 1.33 to 1.38). They do nothing: fd_fdstat_set_flags and
// poll_oneoff answer ENOSYS, sched_yield answers success. The Go runtime
// turns a failed poll_oneoff into a fatal error, so a Go module must never
// let its scheduler sleep on these Envoy releases.
func stubs133() []Func {
	return []Func{
		constant("fd_fdstat_set_flags", sig(2), errnoNosys),
		constant("sched_yield", nil, errnoSuccess),
		constant("poll_oneoff", sig(4), errnoNosys),
	}
}

// impls139 are the same functions as proxy-wasm-cpp-host PR #533 implements
// them (Envoy 1.39): setting flags on stdio succeeds, yielding succeeds, and
// poll_oneoff waits for the earliest clock subscription; fd subscriptions on
// stdout and stderr are ready at once.
func impls139() []Func {
	return []Func{
		{Name: "fd_fdstat_set_flags", Params: sig(2), Results: sig(1), Call: fdFdstatSetFlags},
		constant("sched_yield", nil, errnoSuccess),
		{Name: "poll_oneoff", Params: sig(4), Results: sig(1), Call: pollOneoff},
	}
}

// fdFdstatSetFlags accepts the flags of stdin, stdout and stderr (the Go
// runtime sets O_NONBLOCK on them at start-up); other fds are EBADF.
func fdFdstatSetFlags(_ context.Context, _ api.Module, _ Env, stack []uint64) {
	if fd := uint32(stack[0]); fd > 2 {
		stack[0] = errnoBadf
		return
	}
	stack[0] = errnoSuccess
}

const (
	subSize     = 48
	eventSize   = 32
	eventClock  = 0
	absTimeFlag = 1
)

// pollOneoff sleeps until the earliest clock subscription is due and writes
// one event per subscription that is ready.
func pollOneoff(ctx context.Context, mod api.Module, env Env, stack []uint64) {
	in, out, n, neventsPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if n == 0 {
		stack[0] = errnoInval
		return
	}
	m := mem(mod)
	subs, err := m.Read(in, n*subSize)
	if err != nil {
		stack[0] = errnoFault
		return
	}
	wait, hasClock := earliest(subs, n, env)
	if hasClock {
		sleepCtx(ctx, wait)
	}
	events := make([]byte, 0, n*eventSize)
	for i := uint32(0); i < n; i++ {
		s := subs[i*subSize : (i+1)*subSize]
		tag := s[8]
		ev := make([]byte, eventSize)
		copy(ev[0:8], s[0:8]) // userdata
		ev[10] = tag
		switch {
		case tag == eventClock:
			if clockDelay(s, env) > wait {
				continue
			}
		case tag <= 2:
			if fd := binary.LittleEndian.Uint32(s[16:20]); fd != 1 && fd != 2 {
				binary.LittleEndian.PutUint16(ev[8:10], errnoBadf)
			}
		default:
			binary.LittleEndian.PutUint16(ev[8:10], errnoInval)
		}
		events = append(events, ev...)
	}
	if m.Write(out, events) != nil || m.WriteUint32(neventsPtr, uint32(len(events)/eventSize)) != nil {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// earliest returns the shortest clock delay; with any fd subscription the
// wait is zero.
func earliest(subs []byte, n uint32, env Env) (time.Duration, bool) {
	var best time.Duration = -1
	hasClock, hasFd := false, false
	for i := uint32(0); i < n; i++ {
		s := subs[i*subSize : (i+1)*subSize]
		if s[8] != eventClock {
			hasFd = true
			continue
		}
		d := clockDelay(s, env)
		if !hasClock || d < best {
			best = d
		}
		hasClock = true
	}
	if hasFd || best < 0 {
		return 0, hasClock
	}
	return best, hasClock
}

// clockDelay reads a clock subscription: id at 16, timeout at 24, flags at 40.
func clockDelay(s []byte, env Env) time.Duration {
	id := binary.LittleEndian.Uint32(s[16:20])
	timeout := binary.LittleEndian.Uint64(s[24:32])
	flags := binary.LittleEndian.Uint16(s[40:42])
	if flags&absTimeFlag == 0 {
		return time.Duration(timeout)
	}
	now := env.Monotonic()
	if id == 0 {
		now = env.Realtime()
	}
	if timeout <= now {
		return 0
	}
	return time.Duration(timeout - now)
}
