// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

// Command abitest is a test guest for the hostcalls package: a Proxy-Wasm
// module written directly against the ABI, driven by the plugin
// configuration and by the request header x-test-action.
//
// Built by the tests: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
package main

import (
	"runtime"
	"strconv"
	"strings"
	"unsafe"
)

func main() {}

func init() { logf(2, "init ok") }

var (
	config    string
	calls     = map[uint32]uint32{} // token -> stream context
	queueTok  uint32
	tickCount uint64
)

//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion() {}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(ctx, parent uint32) { unpin() }

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(root, size uint32) uint32 {
	unpin()
	vmc, _ := getBuffer(6, 0, size)
	logf(2, "vm config: "+string(vmc))
	return 1
}

//go:wasmexport proxy_on_configure
func proxyOnConfigure(root, size uint32) uint32 {
	unpin()
	before := numGC()
	b, st := getBuffer(7, 0, size)
	config = string(b)
	logf(2, "plugin config: "+config+" status="+itoa(st)+" gcs="+strconv.FormatUint(uint64(numGC()-before), 10))
	seed("counter") // before any stream races on it: a cas of 0 always writes
	if strings.HasPrefix(config, "reject") {
		logf(4, "configuration rejected: "+config)
		return 0
	}
	for _, f := range strings.Fields(config) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "tick":
			n, _ := strconv.Atoi(v)
			proxySetTickPeriod(uint32(n))
		case "queue":
			np, ns := ptr(v)
			proxyRegisterSharedQueue(np, ns, unsafe.Pointer(&queueTok))
		case "level":
			var l uint32
			proxyGetLogLevel(unsafe.Pointer(&l))
			logf(2, "log level "+itoa(l))
		}
	}
	return 1
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(ctx, n, eos uint32) uint32 {
	unpin()
	action, _ := getHeader(0, "x-test-action")
	for _, a := range strings.Split(action, ",") {
		if r, done := run(ctx, a); done {
			return r
		}
	}
	return 0
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(ctx, size, eos uint32) uint32 {
	unpin()
	body, _ := getBuffer(0, 0, size)
	addHeader(0, "x-body-seen", string(body))
	act, _ := getHeader(0, "x-test-action")
	if strings.Contains(act, "deny-body") {
		sendLocal(400, "bad body")
		return 1
	}
	if strings.Contains(act, "upper-body") {
		up := []byte(strings.ToUpper(string(body)))
		p, n := bptr(up)
		proxySetBufferBytes(0, 0, size, p, n)
	}
	return 0
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(ctx, n, eos uint32) uint32 {
	unpin()
	addHeader(2, "x-response-seen", "yes")
	return 0
}

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(ctx, size, eos uint32) uint32 {
	unpin()
	if act, _ := getHeader(0, "x-test-action"); strings.Contains(act, "deny-response-body") {
		sendLocal(502, "too late")
		return 1
	}
	return 0
}

//go:wasmexport proxy_on_http_call_response
func proxyOnHTTPCallResponse(root, token, nh, bodySize, nt uint32) {
	unpin()
	ctx := calls[token]
	delete(calls, token)
	var code, p, n uint32
	proxyGetStatus(unsafe.Pointer(&code), unsafe.Pointer(&p), unsafe.Pointer(&n))
	msg := string(bytesAt(p, n))
	pairs, _ := getPairs(6)
	body, _ := getBuffer(4, 0, bodySize)
	status, _ := getHeader(6, ":status")
	if proxySetEffectiveContext(ctx) != 0 {
		logf(4, "bad effective context")
		return
	}
	addHeader(0, "x-call-status", status)
	addHeader(0, "x-call-nheaders", itoa(nh)+"/"+itoa(uint32(len(pairs))))
	addHeader(0, "x-call-body", string(body))
	addHeader(0, "x-call-get-status", itoa(code)+":"+msg)
	if act, _ := getHeader(0, "x-test-action"); strings.Contains(act, "deny-on-call") {
		sendLocal(401, "denied after call")
		return
	}
	proxyContinueStream(0)
}

//go:wasmexport proxy_on_tick
func proxyOnTick(root uint32) {
	unpin()
	tickCount++
	casIncrement("ticks")
}

//go:wasmexport proxy_on_queue_ready
func proxyOnQueueReady(root, token uint32) {
	unpin()
	var p, n uint32
	if proxyDequeueSharedQueue(token, unsafe.Pointer(&p), unsafe.Pointer(&n)) == 0 {
		item := bytesAt(p, n)
		logf(2, "queue item: "+string(item))
		kp, ks := ptr("queue-last")
		vp, vs := bptr(item)
		proxySetSharedData(kp, ks, vp, vs, 0)
	}
}

//go:wasmexport proxy_on_done
func proxyOnDone(ctx uint32) uint32 { return 1 }

//go:wasmexport proxy_on_log
func proxyOnLog(ctx uint32) {}

//go:wasmexport proxy_on_delete
func proxyOnDelete(ctx uint32) {}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

func sendLocal(code uint32, body string) {
	dp, ds := ptr("test_details")
	bp, bs := ptr(body)
	hp, hs := bptr(encodePairs([][2]string{{"x-reason", "test"}}))
	proxySendLocalResponse(code, dp, ds, bp, bs, hp, hs, -1)
}

// seed creates key with "0" unless it exists; VMs start one after another.
func seed(key string) {
	kp, ks := ptr(key)
	var p, n, cas uint32
	if proxyGetSharedData(kp, ks, unsafe.Pointer(&p), unsafe.Pointer(&n), unsafe.Pointer(&cas)) == 1 {
		vp, vs := ptr("0")
		proxySetSharedData(kp, ks, vp, vs, 0)
	}
	unpin()
}

func casIncrement(key string) {
	kp, ks := ptr(key)
	for {
		var p, n, cas uint32
		cur := uint64(0)
		if proxyGetSharedData(kp, ks, unsafe.Pointer(&p), unsafe.Pointer(&n), unsafe.Pointer(&cas)) == 0 {
			cur, _ = strconv.ParseUint(string(bytesAt(p, n)), 10, 64)
		}
		next := strconv.FormatUint(cur+1, 10)
		vp, vs := ptr(next)
		if proxySetSharedData(kp, ks, vp, vs, cas) == 0 {
			return
		}
	}
}
