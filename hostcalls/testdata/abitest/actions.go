// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

package main

import (
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// run performs one action; done reports that the callback must return r.
func run(ctx uint32, action string) (r uint32, done bool) {
	switch action {
	case "local":
		sendLocal(403, "no")
		return 1, true
	case "set":
		addHeader(0, "x-added", "yes")
		replaceHeader(0, ":path", "/rewritten")
		replaceHeader(0, "x-replace", "new")
		removeHeader(0, "x-remove")
	case "dispatch", "deny-on-call":
		return dispatch(ctx)
	case "shared":
		casIncrement("counter")
	case "props":
		props(ctx)
	case "metrics":
		metrics()
	case "enqueue":
		enqueue()
	case "close":
		proxyCloseStream(0)
		return 1, true
	case "trap":
		var m map[string]int
		m["boom"] = 1
	case "sleep":
		// Long enough that the timer is not already due when the scheduler
		// first looks, however loaded the machine: it must wait in poll_oneoff.
		time.Sleep(100 * time.Millisecond)
		addHeader(0, "x-slept", "yes")
	case "wasi":
		wasiCalls()
	case "pause":
		return 1, true
	default:
		inspect(action)
	}
	return 0, false
}

// started is read at start-up; "mono" reports the monotonic time since.
var started = time.Now()

// inspect performs the actions that only read and report.
func inspect(action string) {
	switch action {
	case "read":
		for _, k := range []string{":method", ":path", ":authority", ":scheme", "x-missing"} {
			v, st := getHeader(0, k)
			addHeader(0, "x-read-"+strings.TrimPrefix(k, ":"), v+"/"+itoa(st))
		}
		_, st := getHeader(2, "anything")
		addHeader(0, "x-read-response-map", itoa(st))
	case "pairs":
		pairs, _ := getPairs(0)
		names := make([]string, len(pairs))
		for i, p := range pairs {
			names[i] = p[0]
		}
		addHeader(0, "x-pairs", strings.Join(names, ","))
	case "gc":
		before := numGC()
		v, _ := getHeader(0, "x-blob")
		ok := len(v) > 0 && strings.Count(v, "a") == len(v)
		addHeader(0, "x-blob-check", strconv.FormatBool(ok)+"/"+strconv.Itoa(len(v)))
		addHeader(0, "x-gcs", itoa(numGC()-before))
	case "time":
		var now uint64
		proxyGetCurrentTime(unsafe.Pointer(&now))
		addHeader(0, "x-now", strconv.FormatUint(now, 10))
		addHeader(0, "x-go-now", strconv.FormatInt(time.Now().UnixNano(), 10))
	case "env":
		addHeader(0, "x-env", os.Getenv("CREDGATE_TEST")+"/"+strconv.Itoa(len(os.Environ())))
	case "mono":
		addHeader(0, "x-mono", strconv.FormatInt(int64(time.Since(started)), 10))
	case "foreign":
		np, ns := ptr("no_such_function")
		var p, n uint32
		st := proxyCallForeignFunction(np, ns, nil, 0, unsafe.Pointer(&p), unsafe.Pointer(&n))
		addHeader(0, "x-foreign", itoa(st))
	case "read-config":
		vmc, st1 := getBuffer(6, 0, 1000)
		pc, st2 := getBuffer(7, 0, 1000)
		_, st3 := getBuffer(99, 0, 1)
		addHeader(0, "x-config", string(vmc)+"/"+itoa(st1)+" "+string(pc)+"/"+itoa(st2)+" bad/"+itoa(st3))
	case "alloc-restricted":
		callInAlloc = true
		getHeader(0, "x-test-action")
	}
}

func dispatch(ctx uint32) (uint32, bool) {
	cluster, _ := getHeader(0, "x-cluster")
	path, _ := getHeader(0, "x-call-path")
	timeout, _ := getHeader(0, "x-timeout")
	authority, _ := getHeader(0, "x-call-authority")
	ms, _ := strconv.Atoi(timeout)
	headers := [][2]string{{":method", "GET"}, {":path", path}, {"x-from", "plugin"}}
	if authority != "none" {
		headers = append(headers, [2]string{":authority", "tokens"})
	}
	up, us := ptr(cluster)
	hp, hs := bptr(encodePairs(headers))
	var token uint32
	st := proxyHTTPCall(up, us, hp, hs, nil, 0, nil, 0, uint32(ms), unsafe.Pointer(&token))
	if st != 0 {
		addHeader(0, "x-dispatch", "status="+itoa(st))
		return 0, true
	}
	calls[token] = ctx
	return 1, true
}

// props first sets the properties x-set-props lists ("key=value;..."; a
// "|" in a key is a NUL, a segment separator), then reads those x-props
// lists: "a.b" is the path [a b], "1:a.b" the one segment "a.b", and
// "a|b.c" the path [a b.c].
func props(ctx uint32) {
	sets, _ := getHeader(0, "x-set-props")
	for _, kv := range strings.Split(sets, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			kp, ks := ptr(strings.ReplaceAll(k, "|", "\x00"))
			vp, vs := ptr(v)
			st := proxySetProperty(kp, ks, vp, vs)
			addHeader(0, "x-set-"+k, itoa(st))
		}
	}
	list, _ := getHeader(0, "x-props")
	for _, name := range strings.Split(list, ",") {
		path := strings.ReplaceAll(name, ".", "\x00")
		if one, ok := strings.CutPrefix(name, "1:"); ok {
			path = one
		} else if strings.Contains(name, "|") {
			path = strings.ReplaceAll(name, "|", "\x00")
		}
		pp, ps := ptr(path)
		var p, n uint32
		st := proxyGetProperty(pp, ps, unsafe.Pointer(&p), unsafe.Pointer(&n))
		v := bytesAt(p, n)
		val := string(v)
		if strings.HasSuffix(name, ".port") && len(v) == 8 {
			val = strconv.FormatUint(uint64(le32(v)), 10)
		}
		if name == "request.headers" {
			val = strconv.Itoa(len(decodePairs(v)))
		}
		addHeader(0, "x-prop-"+name, val+"/"+itoa(st))
	}
	kp, ks := ptr("custom.key")
	vp, vs := ptr("custom-value")
	proxySetProperty(kp, ks, vp, vs)
}

func metrics() {
	var c, g, h uint32
	np, ns := ptr("requests")
	proxyDefineMetric(0, np, ns, unsafe.Pointer(&c))
	np, ns = ptr("inflight")
	proxyDefineMetric(1, np, ns, unsafe.Pointer(&g))
	np, ns = ptr("latency")
	proxyDefineMetric(2, np, ns, unsafe.Pointer(&h))
	proxyIncrementMetric(c, 1)
	proxyRecordMetric(g, 7)
	proxyIncrementMetric(g, -2)
	proxyRecordMetric(h, 42)
	var v uint64
	st := proxyGetMetric(c, unsafe.Pointer(&v))
	neg := proxyIncrementMetric(c, -1)
	var hv uint64
	hst := proxyGetMetric(h, unsafe.Pointer(&hv))
	addHeader(0, "x-metric", strconv.FormatUint(v, 10)+"/"+itoa(st)+"/neg="+itoa(neg)+"/hist="+itoa(hst))
}

func enqueue() {
	vp, vs := ptr("credgate")
	np, ns := ptr("q")
	var tok uint32
	st := proxyResolveSharedQueue(vp, vs, np, ns, unsafe.Pointer(&tok))
	item, _ := getHeader(0, "x-item")
	ip, is := ptr(item)
	est := proxyEnqueueSharedQueue(tok, ip, is)
	var p, n uint32
	missing := proxyDequeueSharedQueue(9999, unsafe.Pointer(&p), unsafe.Pointer(&n))
	addHeader(0, "x-queue", itoa(st)+"/"+itoa(est)+"/missing="+itoa(missing))
}

func wasiCalls() {
	y := wasiSchedYield()
	f := wasiFdstatSetFlags(1, 0)
	// One relative clock subscription of 1 ms on the monotonic clock.
	sub := make([]byte, 48)
	sub[0] = 7 // userdata
	sub[16] = 1
	ns := uint64(time.Millisecond)
	for i := 0; i < 8; i++ {
		sub[24+i] = byte(ns >> (8 * i))
	}
	ev := make([]byte, 32)
	var nev uint32
	start := time.Now()
	p := wasiPollOneoff(unsafe.Pointer(&sub[0]), unsafe.Pointer(&ev[0]), 1, unsafe.Pointer(&nev))
	took := time.Since(start)
	addHeader(0, "x-wasi", "yield="+itoa(y)+" flags="+itoa(f)+" poll="+itoa(p)+" events="+itoa(nev)+
		" slept="+strconv.FormatBool(took >= time.Millisecond))
}
