// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"
	"time"

	"github.com/credgate/credgate/hostcalls/internal/state"
)

// goAsync runs fn on its own goroutine until the host closes; it is how
// callouts and queue notifications reach a VM later, as Envoy's dispatcher
// posts them to the worker.
func (h *Host) goAsync(fn func(ctx context.Context)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.stop:
		return
	default:
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-h.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		fn(ctx)
	}()
}

// notifyQueue delivers proxy_on_queue_ready(root, token) to the queue's
// owner.
func (h *Host) notifyQueue(owner state.QueueOwner, token uint32) {
	if owner.VM < 0 || owner.VM >= len(h.vms) {
		return
	}
	vm := h.vms[owner.VM]
	h.goAsync(func(ctx context.Context) {
		vm.mu.Lock()
		defer vm.mu.Unlock()
		if vm.failed == nil {
			_, _ = vm.call(ctx, owner.Context, "proxy_on_queue_ready", uint64(owner.Context), uint64(token))
		}
	})
}

// Tick calls proxy_on_tick on the root context of every VM that set a tick
// period, and returns the first VM failure it caused.
func (h *Host) Tick(ctx context.Context) error {
	var first error
	for _, vm := range h.vms {
		if err := vm.tick(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (vm *VM) tick(ctx context.Context) error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.failed != nil || vm.tickPeriod == 0 {
		return nil
	}
	_, err := vm.call(ctx, vm.rootID, "proxy_on_tick", uint64(vm.rootID))
	for _, s := range vm.streams {
		s.signal()
	}
	return err
}

// autoTick ticks each VM at its own period until the host closes.
func (h *Host) autoTick() {
	defer h.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	due := make([]time.Time, len(h.vms))
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			for i, vm := range h.vms {
				vm.mu.Lock()
				period := time.Duration(vm.tickPeriod) * time.Millisecond
				vm.mu.Unlock()
				if period == 0 {
					due[i] = time.Time{}
					continue
				}
				if due[i].IsZero() {
					due[i] = now.Add(period)
				}
				if now.Before(due[i]) {
					continue
				}
				due[i] = now.Add(period)
				_ = vm.tick(ctx)
			}
		}
	}
}
