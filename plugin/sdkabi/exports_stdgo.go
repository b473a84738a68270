// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

// The proxy-wasm callbacks, exported with //go:wasmexport for the standard Go
// toolchain (the SDK marks them with TinyGo's //export, which Go ignores).
// Parameters arrive as wasm u32; booleans arrive as 0/1 and are tested with
// != 0 because go:wasmexport reads only the low byte of a bool.
//
// The file compiles at the SDK module's language version (go 1.19).

package internal

import (
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// pinned holds every buffer handed to the host by proxy_on_memory_allocate
// until the hostcall wrapper that asked for it has converted the address back
// into a Go pointer. Without it the Go GC may free (and reuse) the buffer
// between the allocation and the plugin's read.
var pinned [][]byte

// releasePins drops the references so the GC can reclaim the buffers once the
// plugin no longer uses them.
func releasePins() {
	for i := range pinned {
		pinned[i] = nil
	}
	pinned = pinned[:0]
}

// allocInto, when set, is the buffer the next proxy_on_memory_allocate
// hands the host (StdGoAllocInto): a stream context's own, which it reuses
// for every request it serves, grown when too small.
var allocInto *[]byte

// StdGoAllocInto makes the next allocation the host asks for use *buf (nil:
// allocate as usual). The caller sets it around one hostcall and clears it
// after, so no other allocation lands in its buffer.
func StdGoAllocInto(buf *[]byte) { allocInto = buf }

//go:wasmexport proxy_on_memory_allocate
func stdgoOnMemoryAllocate(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	var buf []byte
	if into := allocInto; into != nil {
		allocInto = nil
		if uint32(cap(*into)) < size {
			n := uint32(1024)
			for n < size && n < 1<<30 {
				n <<= 1
			}
			if n < size {
				n = size
			}
			*into = make([]byte, n)
		}
		buf = (*into)[:size]
	} else {
		buf = make([]byte, size)
	}
	pinned = append(pinned, buf)
	return uint32(uintptr(unsafe.Pointer(&buf[0])))
}

//go:wasmexport proxy_abi_version_0_2_0
func stdgoABIVersion() { proxyABIVersion() }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

//go:wasmexport proxy_on_vm_start
func stdgoOnVMStart(rootID, vmConfigurationSize uint32) uint32 {
	return b2u(bool(proxyOnVMStart(rootID, int(vmConfigurationSize))))
}

//go:wasmexport proxy_on_configure
func stdgoOnConfigure(pluginContextID, pluginConfigurationSize uint32) uint32 {
	return b2u(bool(proxyOnConfigure(pluginContextID, int(pluginConfigurationSize))))
}

//go:wasmexport proxy_on_context_create
func stdgoOnContextCreate(contextID, pluginContextID uint32) {
	proxyOnContextCreate(contextID, pluginContextID)
}

//go:wasmexport proxy_on_log
func stdgoOnLog(contextID uint32) { proxyOnLog(contextID) }

//go:wasmexport proxy_on_done
func stdgoOnDone(contextID uint32) uint32 { return b2u(proxyOnDone(contextID)) }

// StdGoDeleted is what a stream context implements to learn that the host
// deleted it (proxy_on_delete): the SDK holds it no more, and the plugin may
// reuse it for a later stream if nothing else refers to it.
type StdGoDeleted interface{ StdGoDeleted() }

//go:wasmexport proxy_on_delete
func stdgoOnDelete(contextID uint32) {
	ctx, isHTTP := currentState.httpContexts[contextID]
	proxyOnDelete(contextID)
	if d, ok := ctx.(StdGoDeleted); isHTTP && ok {
		d.StdGoDeleted()
	}
}

//go:wasmexport proxy_on_new_connection
func stdgoOnNewConnection(contextID uint32) uint32 {
	return uint32(proxyOnNewConnection(contextID))
}

//go:wasmexport proxy_on_downstream_data
func stdgoOnDownstreamData(contextID, dataSize, endOfStream uint32) uint32 {
	return uint32(proxyOnDownstreamData(contextID, int(dataSize), endOfStream != 0))
}

//go:wasmexport proxy_on_downstream_connection_close
func stdgoOnDownstreamConnectionClose(contextID, peerType uint32) {
	proxyOnDownstreamConnectionClose(contextID, types.PeerType(peerType))
}

//go:wasmexport proxy_on_upstream_data
func stdgoOnUpstreamData(contextID, dataSize, endOfStream uint32) uint32 {
	return uint32(proxyOnUpstreamData(contextID, int(dataSize), endOfStream != 0))
}

//go:wasmexport proxy_on_upstream_connection_close
func stdgoOnUpstreamConnectionClose(contextID, peerType uint32) {
	proxyOnUpstreamConnectionClose(contextID, types.PeerType(peerType))
}

//go:wasmexport proxy_on_request_headers
func stdgoOnRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(proxyOnRequestHeaders(contextID, int(numHeaders), endOfStream != 0))
}

//go:wasmexport proxy_on_request_body
func stdgoOnRequestBody(contextID, bodySize, endOfStream uint32) uint32 {
	return uint32(proxyOnRequestBody(contextID, int(bodySize), endOfStream != 0))
}

//go:wasmexport proxy_on_request_trailers
func stdgoOnRequestTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(proxyOnRequestTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_response_headers
func stdgoOnResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(proxyOnResponseHeaders(contextID, int(numHeaders), endOfStream != 0))
}

//go:wasmexport proxy_on_response_body
func stdgoOnResponseBody(contextID, bodySize, endOfStream uint32) uint32 {
	return uint32(proxyOnResponseBody(contextID, int(bodySize), endOfStream != 0))
}

//go:wasmexport proxy_on_response_trailers
func stdgoOnResponseTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(proxyOnResponseTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_http_call_response
func stdgoOnHTTPCallResponse(pluginContextID, calloutID, numHeaders, bodySize, numTrailers uint32) {
	var rec *httpCallbackAttribute
	if root, ok := currentState.pluginContexts[pluginContextID]; ok {
		rec = root.httpCallbacks[calloutID]
	}
	proxyOnHttpCallResponse(pluginContextID, calloutID, int(numHeaders), int(bodySize), int(numTrailers))
	// The SDK removed the record before it ran the callback and keeps no
	// reference to it: the next call may reuse it.
	if rec != nil && len(spareCallouts) < maxSpareCallouts {
		*rec = httpCallbackAttribute{}
		spareCallouts = append(spareCallouts, rec)
	}
}

// spareCallouts are the records of calls whose answer came, for
// StdGoRegisterHttpCallout to reuse: the SDK allocates one per call. At most
// maxSpareCallouts are kept (as many as calls were ever in flight at once).
var spareCallouts []*httpCallbackAttribute

const maxSpareCallouts = 1024

// StdGoRegisterHttpCallout is RegisterHttpCallout (the callback of the
// active context's call calloutID, kept in its plugin context as the SDK
// keeps it) in a reused record.
func StdGoRegisterHttpCallout(calloutID uint32, callback func(numHeaders, bodySize, numTrailers int)) {
	s := currentState
	r := s.pluginContexts[s.contextIDToRootID[s.activeContextID]]
	var rec *httpCallbackAttribute
	if n := len(spareCallouts); n > 0 {
		rec, spareCallouts[n-1] = spareCallouts[n-1], nil
		spareCallouts = spareCallouts[:n-1]
	} else {
		rec = new(httpCallbackAttribute)
	}
	*rec = httpCallbackAttribute{callback: callback, callerContextID: s.activeContextID}
	r.httpCallbacks[calloutID] = rec
}

//go:wasmexport proxy_on_queue_ready
func stdgoOnQueueReady(contextID, queueID uint32) { proxyOnQueueReady(contextID, queueID) }

//go:wasmexport proxy_on_tick
func stdgoOnTick(pluginContextID uint32) { proxyOnTick(pluginContextID) }
