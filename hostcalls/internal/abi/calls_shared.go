// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"

	"github.com/credgate/credgate/hostcalls/internal/state"
)

// proxyGetSharedData emulates cpp-host exports::get_shared_data: the value
// and its cas; NotFound for a missing key.
func proxyGetSharedData(ctx context.Context, vm *VM, s []uint64) {
	key, err := vm.mem.String(uint32(s[0]), uint32(s[1]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	v, cas, st := vm.host.shared.Get(key)
	if st != state.OK {
		s[0] = uint64(st)
		return
	}
	if err := vm.mem.WriteUint32(uint32(s[4]), cas); err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	s[0] = vm.copyOut(ctx, v, uint32(s[2]), uint32(s[3]))
}

// proxySetSharedData emulates cpp-host exports::set_shared_data: a non-zero
// cas must match, else CasMismatch.
func proxySetSharedData(_ context.Context, vm *VM, s []uint64) {
	key, err1 := vm.mem.String(uint32(s[0]), uint32(s[1]))
	value, err2 := vm.mem.Read(uint32(s[2]), uint32(s[3]))
	if err1 != nil || err2 != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	s[0] = uint64(vm.host.shared.Set(key, value, uint32(s[4])))
}

// vmID is the plugin's vm_id, which names its shared queues.
func (vm *VM) vmID() string { return vm.host.opts.PluginName }

// proxyRegisterSharedQueue emulates cpp-host exports::register_shared_queue:
// the queue (vm_id, name) notifies the calling VM's root context.
func proxyRegisterSharedQueue(_ context.Context, vm *VM, s []uint64) {
	name, err := vm.mem.String(uint32(s[0]), uint32(s[1]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	tok := vm.host.queues.Register(vm.vmID(), name, state.QueueOwner{VM: vm.index, Context: vm.rootID})
	s[0] = memStatus(vm.mem.WriteUint32(uint32(s[2]), tok))
}

// proxyResolveSharedQueue emulates cpp-host exports::resolve_shared_queue.
func proxyResolveSharedQueue(_ context.Context, vm *VM, s []uint64) {
	vmID, err1 := vm.mem.String(uint32(s[0]), uint32(s[1]))
	name, err2 := vm.mem.String(uint32(s[2]), uint32(s[3]))
	if err1 != nil || err2 != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	tok, st := vm.host.queues.Resolve(vmID, name)
	if st != state.OK {
		s[0] = uint64(st)
		return
	}
	s[0] = memStatus(vm.mem.WriteUint32(uint32(s[4]), tok))
}

// proxyDequeueSharedQueue emulates cpp-host exports::dequeue_shared_queue:
// Empty when nothing is queued, NotFound for an unknown token.
func proxyDequeueSharedQueue(ctx context.Context, vm *VM, s []uint64) {
	item, st := vm.host.queues.Dequeue(uint32(s[0]))
	if st != state.OK {
		s[0] = uint64(st)
		return
	}
	s[0] = vm.copyOut(ctx, item, uint32(s[1]), uint32(s[2]))
}

// proxyEnqueueSharedQueue emulates cpp-host exports::enqueue_shared_queue:
// the registering VM's root context later gets proxy_on_queue_ready, from
// its own worker (asynchronously), as Envoy posts it to that thread.
func proxyEnqueueSharedQueue(_ context.Context, vm *VM, s []uint64) {
	data, err := vm.mem.Read(uint32(s[1]), uint32(s[2]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	tok := uint32(s[0])
	owner, st := vm.host.queues.Enqueue(tok, data)
	if st == state.OK {
		vm.host.notifyQueue(owner, tok)
	}
	s[0] = uint64(st)
}

// proxyDefineMetric emulates cpp-host exports::define_metric (Envoy
// Context::defineMetric): counter 0, gauge 1, histogram 2.
func proxyDefineMetric(_ context.Context, vm *VM, s []uint64) {
	name, err := vm.mem.String(uint32(s[1]), uint32(s[2]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	id, st := vm.host.metrics.Define(state.MetricType(uint32(s[0])), name)
	if st != state.OK {
		s[0] = uint64(st)
		return
	}
	s[0] = memStatus(vm.mem.WriteUint32(uint32(s[3]), id))
}

// proxyIncrementMetric emulates cpp-host exports::increment_metric (Envoy
// Context::incrementMetric).
func proxyIncrementMetric(_ context.Context, vm *VM, s []uint64) {
	s[0] = uint64(vm.host.metrics.Increment(uint32(s[0]), int64(s[1])))
}

// proxyRecordMetric emulates cpp-host exports::record_metric (Envoy
// Context::recordMetric).
func proxyRecordMetric(_ context.Context, vm *VM, s []uint64) {
	s[0] = uint64(vm.host.metrics.Record(uint32(s[0]), s[1]))
}

// proxyGetMetric emulates cpp-host exports::get_metric (Envoy
// Context::getMetric).
func proxyGetMetric(_ context.Context, vm *VM, s []uint64) {
	v, st := vm.host.metrics.Get(uint32(s[0]))
	if st != state.OK {
		s[0] = uint64(st)
		return
	}
	s[0] = memStatus(vm.mem.WriteUint64(uint32(s[1]), v))
}
