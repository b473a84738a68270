// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

package main

import "unsafe"

//go:wasmimport env proxy_log
func proxyLog(level uint32, ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(out unsafe.Pointer) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(typ, start, length uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_set_buffer_bytes
func proxySetBufferBytes(typ, start, length uint32, ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(typ uint32, kp unsafe.Pointer, ks uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(typ uint32, kp unsafe.Pointer, ks uint32, vp unsafe.Pointer, vs uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeaderMapValue(typ uint32, kp unsafe.Pointer, ks uint32, vp unsafe.Pointer, vs uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func proxyRemoveHeaderMapValue(typ uint32, kp unsafe.Pointer, ks uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(typ uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(code uint32, dp unsafe.Pointer, ds uint32, bp unsafe.Pointer, bs uint32, hp unsafe.Pointer, hs uint32, grpc int32) uint32

//go:wasmimport env proxy_http_call
func proxyHTTPCall(up unsafe.Pointer, us uint32, hp unsafe.Pointer, hs uint32, bp unsafe.Pointer, bs uint32, tp unsafe.Pointer, ts uint32, timeout uint32, tokenPtr unsafe.Pointer) uint32

//go:wasmimport env proxy_continue_stream
func proxyContinueStream(typ uint32) uint32

//go:wasmimport env proxy_close_stream
func proxyCloseStream(typ uint32) uint32

//go:wasmimport env proxy_set_effective_context
func proxySetEffectiveContext(id uint32) uint32

//go:wasmimport env proxy_get_status
func proxyGetStatus(codePtr, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_get_shared_data
func proxyGetSharedData(kp unsafe.Pointer, ks uint32, ptrPtr, sizePtr, casPtr unsafe.Pointer) uint32

//go:wasmimport env proxy_set_shared_data
func proxySetSharedData(kp unsafe.Pointer, ks uint32, vp unsafe.Pointer, vs uint32, cas uint32) uint32

//go:wasmimport env proxy_register_shared_queue
func proxyRegisterSharedQueue(np unsafe.Pointer, ns uint32, tokenPtr unsafe.Pointer) uint32

//go:wasmimport env proxy_resolve_shared_queue
func proxyResolveSharedQueue(vp unsafe.Pointer, vs uint32, np unsafe.Pointer, ns uint32, tokenPtr unsafe.Pointer) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func proxyEnqueueSharedQueue(token uint32, dp unsafe.Pointer, ds uint32) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func proxyDequeueSharedQueue(token uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(typ uint32, np unsafe.Pointer, ns uint32, idPtr unsafe.Pointer) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value uint64) uint32

//go:wasmimport env proxy_get_metric
func proxyGetMetric(id uint32, out unsafe.Pointer) uint32

//go:wasmimport env proxy_get_property
func proxyGetProperty(pp unsafe.Pointer, ps uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_set_property
func proxySetProperty(kp unsafe.Pointer, ks uint32, vp unsafe.Pointer, vs uint32) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriod(ms uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTime(out unsafe.Pointer) uint32

//go:wasmimport env proxy_call_foreign_function
func proxyCallForeignFunction(np unsafe.Pointer, ns uint32, ap unsafe.Pointer, as uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 sched_yield
func wasiSchedYield() uint32

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_set_flags
func wasiFdstatSetFlags(fd, flags uint32) uint32

//go:wasmimport wasi_snapshot_preview1 poll_oneoff
func wasiPollOneoff(in, out unsafe.Pointer, n uint32, nevents unsafe.Pointer) uint32

// pinned keeps every buffer handed to the host alive until the next
// callback, so the collector cannot free it before the module reads it.
var pinned [][]byte

// callInAlloc makes the allocator call a function Envoy forbids there.
var callInAlloc bool

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	if callInAlloc {
		var now uint64
		proxyGetCurrentTime(unsafe.Pointer(&now)) // not allowed while the host allocates
	}
	buf := make([]byte, max(size, 1))
	pinned = append(pinned, buf)
	return unsafe.Pointer(&buf[0])
}

func unpin() { pinned = nil }

func ptr(s string) (unsafe.Pointer, uint32) {
	if len(s) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func bptr(b []byte) (unsafe.Pointer, uint32) {
	if len(b) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&b[0]), uint32(len(b))
}

// bytesAt copies a buffer the host returned, then releases the pins: from
// here on the copy is all the module needs.
func bytesAt(p, n uint32) []byte {
	defer unpin()
	if p == 0 || n == 0 {
		return nil
	}
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)...)
}

func logf(level uint32, msg string) {
	p, n := ptr(msg)
	proxyLog(level, p, n)
}

func getBuffer(typ, start, length uint32) ([]byte, uint32) {
	var p, n uint32
	st := proxyGetBufferBytes(typ, start, length, unsafe.Pointer(&p), unsafe.Pointer(&n))
	return bytesAt(p, n), st
}

func getHeader(typ uint32, key string) (string, uint32) {
	var p, n uint32
	kp, ks := ptr(key)
	st := proxyGetHeaderMapValue(typ, kp, ks, unsafe.Pointer(&p), unsafe.Pointer(&n))
	return string(bytesAt(p, n)), st
}

func addHeader(typ uint32, k, v string) uint32 {
	kp, ks := ptr(k)
	vp, vs := ptr(v)
	return proxyAddHeaderMapValue(typ, kp, ks, vp, vs)
}

func replaceHeader(typ uint32, k, v string) uint32 {
	kp, ks := ptr(k)
	vp, vs := ptr(v)
	return proxyReplaceHeaderMapValue(typ, kp, ks, vp, vs)
}

func removeHeader(typ uint32, k string) uint32 {
	kp, ks := ptr(k)
	return proxyRemoveHeaderMapValue(typ, kp, ks)
}

func getPairs(typ uint32) ([][2]string, uint32) {
	var p, n uint32
	st := proxyGetHeaderMapPairs(typ, unsafe.Pointer(&p), unsafe.Pointer(&n))
	return decodePairs(bytesAt(p, n)), st
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func decodePairs(b []byte) [][2]string {
	if len(b) < 4 {
		return nil
	}
	n := le32(b)
	data := b[4+8*n:]
	var out [][2]string
	for i := uint32(0); i < n; i++ {
		ks, vs := le32(b[4+8*i:]), le32(b[8+8*i:])
		out = append(out, [2]string{string(data[:ks]), string(data[ks+1 : ks+1+vs])})
		data = data[ks+vs+2:]
	}
	return out
}

func encodePairs(pairs [][2]string) []byte {
	b := []byte{byte(len(pairs)), 0, 0, 0}
	for _, p := range pairs {
		b = append(b, byte(len(p[0])), byte(len(p[0])>>8), 0, 0, byte(len(p[1])), byte(len(p[1])>>8), 0, 0)
	}
	for _, p := range pairs {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}
