// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"
)

// contextID is cpp-host contextOrEffectiveContext: the effective context
// when one is set, else the context of the running callback.
func (vm *VM) contextID() uint32 {
	if vm.effective != 0 {
		return vm.effective
	}
	return vm.current
}

// proxyLog emulates cpp-host exports::log: a level above Critical is
// BadArgument; the message is captured at its level.
func proxyLog(_ context.Context, vm *VM, s []uint64) {
	level := uint32(s[0])
	if level > uint32(LogCritical) {
		s[0] = BadArgument
		return
	}
	msg, err := vm.mem.String(uint32(s[1]), uint32(s[2]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	vm.host.log(vm.index, LogLevel(level), msg)
	s[0] = OK
}

// proxyGetLogLevel emulates cpp-host exports::get_log_level (ABI 0.2.1).
func proxyGetLogLevel(_ context.Context, vm *VM, s []uint64) {
	s[0] = memStatus(vm.mem.WriteUint32(uint32(s[0]), uint32(vm.host.opts.LogLevel)))
}

// proxyGetStatus emulates cpp-host exports::get_status: the status of the
// last failed callout (Envoy sets BrokenConnection and "reset" while
// delivering a failed http call).
func proxyGetStatus(ctx context.Context, vm *VM, s []uint64) {
	if err := vm.mem.WriteUint32(uint32(s[0]), vm.statusCode); err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	s[0] = vm.copyOut(ctx, []byte(vm.statusMsg), uint32(s[1]), uint32(s[2]))
}

// proxySetTickPeriod emulates cpp-host exports::set_tick_period_milliseconds:
// the period belongs to the root context; 0 stops the ticks.
func proxySetTickPeriod(_ context.Context, vm *VM, s []uint64) {
	vm.tickPeriod = uint32(s[0])
	s[0] = OK
}

// proxyGetCurrentTime emulates cpp-host exports::get_current_time_nanoseconds
// (wall clock, from Config.WithClock).
func proxyGetCurrentTime(_ context.Context, vm *VM, s []uint64) {
	s[0] = memStatus(vm.mem.WriteUint64(uint32(s[0]), vm.host.realtime()))
}

// proxySetEffectiveContext emulates cpp-host exports::set_effective_context:
// later calls in this callback act on that context; an unknown id is
// BadArgument.
func proxySetEffectiveContext(_ context.Context, vm *VM, s []uint64) {
	id := uint32(s[0])
	if id != vm.rootID && vm.streams[id] == nil {
		s[0] = BadArgument
		return
	}
	vm.effective = id
	s[0] = OK
}

// proxyDone emulates cpp-host exports::done: only a root context that
// answered false to proxy_on_done may call it; otherwise NotFound.
func proxyDone(_ context.Context, vm *VM, s []uint64) {
	s[0] = NotFound
}

// proxyCallForeignFunction emulates cpp-host exports::call_foreign_function.
// Envoy registers a few host-specific functions; this host registers
// "clear_route_cache" (a no-op) only, so any other name is NotFound.
func proxyCallForeignFunction(_ context.Context, vm *VM, s []uint64) {
	name, err := vm.mem.String(uint32(s[0]), uint32(s[1]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	if name == "clear_route_cache" {
		s[0] = OK
		return
	}
	s[0] = NotFound
}

// proxyGetConfiguration emulates cpp-host exports::get_configuration (ABI
// 0.1.0): the plugin configuration.
func proxyGetConfiguration(ctx context.Context, vm *VM, s []uint64) {
	s[0] = vm.copyOut(ctx, vm.host.opts.PluginConfig, uint32(s[0]), uint32(s[1]))
}

// proxyGrpcUnavailable stands for proxy_grpc_call and proxy_grpc_stream:
// this host configures no gRPC services, and Envoy answers BadArgument for a
// service it cannot resolve.
func proxyGrpcUnavailable(_ context.Context, _ *VM, s []uint64) { s[0] = BadArgument }

// proxyGrpcUnknownToken stands for proxy_grpc_close, proxy_grpc_cancel and
// proxy_grpc_send: no gRPC call can exist, so every token is NotFound.
func proxyGrpcUnknownToken(_ context.Context, _ *VM, s []uint64) { s[0] = NotFound }

func memStatus(err error) uint64 {
	if err != nil {
		return InvalidMemoryAccess
	}
	return OK
}
