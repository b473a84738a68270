// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

// This file replaces the SDK's TinyGo-only abi_hostcalls.go when the plugin is
// built with the standard Go toolchain. Each exported function keeps the SDK's
// name and signature and calls the host through a private //go:wasmimport
// declared with wasm's 32-bit widths (Go's int and pointers are 64-bit).
//
// Out-parameters go through package-level cells rather than stack locals: the
// host re-enters the module (proxy_on_memory_allocate) before it writes them,
// and package-level memory never moves. The buffers the host allocated stay
// pinned (see exports_stdgo.go) until the wrapper has turned the raw address
// back into a Go pointer.
//
// The file compiles at the SDK module's language version (go 1.19).

package internal

import "unsafe"

// outPtr and outSize receive the address and size of a buffer the host returns.
// Guest code is single-threaded and hostcalls do not nest, so one pair suffices.
var (
	outPtr  uint32
	outSize uint32
	outU32  uint32
	outU64  uint64
)

func ptr(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }

// takeBuffer converts the host-written out-parameters into Go values and then
// releases the allocation pins: from here on the *byte keeps the buffer alive.
func takeBuffer(data **byte, size *int) {
	if outPtr == 0 {
		*data = nil
	} else {
		*data = (*byte)(unsafe.Pointer(uintptr(outPtr)))
	}
	*size = int(outSize)
	outPtr, outSize = 0, 0
	releasePins()
}

//go:wasmimport env proxy_log
func hostLog(level uint32, msg unsafe.Pointer, size uint32) uint32

func ProxyLog(logLevel LogLevel, messageData *byte, messageSize int) Status {
	return Status(hostLog(uint32(logLevel), ptr(messageData), uint32(messageSize)))
}

//go:wasmimport env proxy_send_local_response
func hostSendLocalResponse(status uint32, details unsafe.Pointer, detailsSize uint32,
	body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) uint32

func ProxySendLocalResponse(statusCode uint32, statusCodeDetailData *byte, statusCodeDetailsSize int,
	bodyData *byte, bodySize int, headersData *byte, headersSize int, grpcStatus int32) Status {
	return Status(hostSendLocalResponse(statusCode, ptr(statusCodeDetailData), uint32(statusCodeDetailsSize),
		ptr(bodyData), uint32(bodySize), ptr(headersData), uint32(headersSize), grpcStatus))
}

//go:wasmimport env proxy_get_shared_data
func hostGetSharedData(key unsafe.Pointer, keySize uint32, retData, retSize, retCas unsafe.Pointer) uint32

func ProxyGetSharedData(keyData *byte, keySize int, returnValueData **byte, returnValueSize *int, returnCas *uint32) Status {
	st := hostGetSharedData(ptr(keyData), uint32(keySize),
		unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize), unsafe.Pointer(&outU32))
	takeBuffer(returnValueData, returnValueSize)
	*returnCas = outU32
	return Status(st)
}

//go:wasmimport env proxy_set_shared_data
func hostSetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) uint32

func ProxySetSharedData(keyData *byte, keySize int, valueData *byte, valueSize int, cas uint32) Status {
	return Status(hostSetSharedData(ptr(keyData), uint32(keySize), ptr(valueData), uint32(valueSize), cas))
}

//go:wasmimport env proxy_register_shared_queue
func hostRegisterSharedQueue(name unsafe.Pointer, nameSize uint32, retID unsafe.Pointer) uint32

func ProxyRegisterSharedQueue(nameData *byte, nameSize int, returnID *uint32) Status {
	st := hostRegisterSharedQueue(ptr(nameData), uint32(nameSize), unsafe.Pointer(&outU32))
	*returnID = outU32
	return Status(st)
}

//go:wasmimport env proxy_resolve_shared_queue
func hostResolveSharedQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, retID unsafe.Pointer) uint32

func ProxyResolveSharedQueue(vmIDData *byte, vmIDSize int, nameData *byte, nameSize int, returnID *uint32) Status {
	st := hostResolveSharedQueue(ptr(vmIDData), uint32(vmIDSize), ptr(nameData), uint32(nameSize), unsafe.Pointer(&outU32))
	*returnID = outU32
	return Status(st)
}

//go:wasmimport env proxy_dequeue_shared_queue
func hostDequeueSharedQueue(queueID uint32, retData, retSize unsafe.Pointer) uint32

func ProxyDequeueSharedQueue(queueID uint32, returnValueData **byte, returnValueSize *int) Status {
	st := hostDequeueSharedQueue(queueID, unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	takeBuffer(returnValueData, returnValueSize)
	return Status(st)
}

//go:wasmimport env proxy_enqueue_shared_queue
func hostEnqueueSharedQueue(queueID uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxyEnqueueSharedQueue(queueID uint32, valueData *byte, valueSize int) Status {
	return Status(hostEnqueueSharedQueue(queueID, ptr(valueData), uint32(valueSize)))
}

//go:wasmimport env proxy_get_header_map_value
func hostGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, retData, retSize unsafe.Pointer) uint32

func ProxyGetHeaderMapValue(mapType MapType, keyData *byte, keySize int, returnValueData **byte, returnValueSize *int) Status {
	st := hostGetHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	takeBuffer(returnValueData, returnValueSize)
	return Status(st)
}

//go:wasmimport env proxy_add_header_map_value
func hostAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxyAddHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostAddHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize), ptr(valueData), uint32(valueSize)))
}

//go:wasmimport env proxy_replace_header_map_value
func hostReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxyReplaceHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostReplaceHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize), ptr(valueData), uint32(valueSize)))
}

//go:wasmimport env proxy_remove_header_map_value
func hostRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) uint32

func ProxyRemoveHeaderMapValue(mapType MapType, keyData *byte, keySize int) Status {
	return Status(hostRemoveHeaderMapValue(uint32(mapType), ptr(keyData), uint32(keySize)))
}

//go:wasmimport env proxy_get_header_map_pairs
func hostGetHeaderMapPairs(mapType uint32, retData, retSize unsafe.Pointer) uint32

func ProxyGetHeaderMapPairs(mapType MapType, returnValueData **byte, returnValueSize *int) Status {
	st := hostGetHeaderMapPairs(uint32(mapType), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	takeBuffer(returnValueData, returnValueSize)
	return Status(st)
}

//go:wasmimport env proxy_set_header_map_pairs
func hostSetHeaderMapPairs(mapType uint32, data unsafe.Pointer, size uint32) uint32

func ProxySetHeaderMapPairs(mapType MapType, mapData *byte, mapSize int) Status {
	return Status(hostSetHeaderMapPairs(uint32(mapType), ptr(mapData), uint32(mapSize)))
}

//go:wasmimport env proxy_get_buffer_bytes
func hostGetBufferBytes(bufferType uint32, start, maxSize uint32, retData, retSize unsafe.Pointer) uint32

func ProxyGetBufferBytes(bufferType BufferType, start int, maxSize int, returnBufferData **byte, returnBufferSize *int) Status {
	st := hostGetBufferBytes(uint32(bufferType), uint32(start), uint32(maxSize), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	takeBuffer(returnBufferData, returnBufferSize)
	return Status(st)
}

//go:wasmimport env proxy_set_buffer_bytes
func hostSetBufferBytes(bufferType uint32, start, maxSize uint32, data unsafe.Pointer, size uint32) uint32

func ProxySetBufferBytes(bufferType BufferType, start int, maxSize int, bufferData *byte, bufferSize int) Status {
	return Status(hostSetBufferBytes(uint32(bufferType), uint32(start), uint32(maxSize), ptr(bufferData), uint32(bufferSize)))
}
