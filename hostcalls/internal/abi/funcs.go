// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// WasmResult values (proxy-wasm spec, cpp-host include/proxy-wasm/wasm_api_impl.h).
const (
	OK                  = 0
	NotFound            = 1
	BadArgument         = 2
	InvalidMemoryAccess = 6
	Empty               = 7
	CasMismatch         = 8
	InternalFailure     = 10
	BrokenConnection    = 11
	Unimplemented       = 12
)

type envFunc struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
	Call    func(ctx context.Context, vm *VM, stack []uint64)
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func i32s(n int) []api.ValueType {
	p := make([]api.ValueType, n)
	for i := range p {
		p[i] = i32
	}
	return p
}

// fn declares a function of n i32 parameters returning an i32 status.
func fn(name string, n int, call func(context.Context, *VM, []uint64)) envFunc {
	return envFunc{Name: name, Params: i32s(n), Results: i32s(1), Call: call}
}

// envFunctions is the "env" module Envoy registers for a module of ABI
// version v: cpp-host WasmBase::registerCallbacks, FOR_ALL_HOST_FUNCTIONS
// plus the ABI-specific functions, plus pthread_equal and
// emscripten_notify_memory_growth.
func envFunctions(v ABIVersion) []envFunc {
	fns := []envFunc{
		fn("pthread_equal", 2, pthreadEqual),
		// cpp-host exports::emscripten_notify_memory_growth does nothing.
		{Name: "emscripten_notify_memory_growth", Params: i32s(1), Call: func(context.Context, *VM, []uint64) {}},
		fn("proxy_log", 3, proxyLog),
		fn("proxy_get_status", 3, proxyGetStatus),
		fn("proxy_set_property", 4, proxySetProperty),
		fn("proxy_get_property", 4, proxyGetProperty),
		fn("proxy_send_local_response", 8, proxySendLocalResponse),
		fn("proxy_get_shared_data", 5, proxyGetSharedData),
		fn("proxy_set_shared_data", 5, proxySetSharedData),
		fn("proxy_register_shared_queue", 3, proxyRegisterSharedQueue),
		fn("proxy_resolve_shared_queue", 5, proxyResolveSharedQueue),
		fn("proxy_dequeue_shared_queue", 3, proxyDequeueSharedQueue),
		fn("proxy_enqueue_shared_queue", 3, proxyEnqueueSharedQueue),
		fn("proxy_get_header_map_value", 5, proxyGetHeaderMapValue),
		fn("proxy_add_header_map_value", 5, proxyAddHeaderMapValue),
		fn("proxy_replace_header_map_value", 5, proxyReplaceHeaderMapValue),
		fn("proxy_remove_header_map_value", 3, proxyRemoveHeaderMapValue),
		fn("proxy_get_header_map_pairs", 3, proxyGetHeaderMapPairs),
		fn("proxy_set_header_map_pairs", 3, proxySetHeaderMapPairs),
		fn("proxy_get_header_map_size", 2, proxyGetHeaderMapSize),
		fn("proxy_get_buffer_status", 3, proxyGetBufferStatus),
		fn("proxy_get_buffer_bytes", 5, proxyGetBufferBytes),
		fn("proxy_set_buffer_bytes", 5, proxySetBufferBytes),
		fn("proxy_http_call", 10, proxyHTTPCall),
		fn("proxy_grpc_call", 12, proxyGrpcUnavailable),
		fn("proxy_grpc_stream", 9, proxyGrpcUnavailable),
		fn("proxy_grpc_close", 1, proxyGrpcUnknownToken),
		fn("proxy_grpc_cancel", 1, proxyGrpcUnknownToken),
		fn("proxy_grpc_send", 4, proxyGrpcUnknownToken),
		fn("proxy_set_tick_period_milliseconds", 1, proxySetTickPeriod),
		fn("proxy_get_current_time_nanoseconds", 1, proxyGetCurrentTime),
		{Name: "proxy_define_metric", Params: i32s(4), Results: i32s(1), Call: proxyDefineMetric},
		{Name: "proxy_increment_metric", Params: []api.ValueType{i32, i64}, Results: i32s(1), Call: proxyIncrementMetric},
		{Name: "proxy_record_metric", Params: []api.ValueType{i32, i64}, Results: i32s(1), Call: proxyRecordMetric},
		fn("proxy_get_metric", 2, proxyGetMetric),
		fn("proxy_set_effective_context", 1, proxySetEffectiveContext),
		fn("proxy_done", 0, proxyDone),
		fn("proxy_call_foreign_function", 6, proxyCallForeignFunction),
	}
	switch v {
	case ABI010:
		// cpp-host exports::get_configuration, continue_request,
		// continue_response and clear_route_cache (a no-op here: no routes).
		fns = append(fns,
			fn("proxy_get_configuration", 2, proxyGetConfiguration),
			fn("proxy_continue_request", 0, func(ctx context.Context, vm *VM, s []uint64) { s[0] = vm.continueStream(0) }),
			fn("proxy_continue_response", 0, func(ctx context.Context, vm *VM, s []uint64) { s[0] = vm.continueStream(1) }),
			fn("proxy_clear_route_cache", 0, func(_ context.Context, _ *VM, s []uint64) { s[0] = OK }))
	case ABI020, ABI021:
		fns = append(fns,
			fn("proxy_continue_stream", 1, proxyContinueStream),
			fn("proxy_close_stream", 1, proxyCloseStream))
		if v == ABI021 {
			fns = append(fns, fn("proxy_get_log_level", 1, proxyGetLogLevel))
		}
	}
	return fns
}

// pthreadEqual emulates cpp-host exports::pthread_equal (registered for
// Emscripten-built modules): 1 when both thread ids are equal.
func pthreadEqual(_ context.Context, _ *VM, s []uint64) {
	if uint32(s[0]) == uint32(s[1]) {
		s[0] = 1
	} else {
		s[0] = 0
	}
}
