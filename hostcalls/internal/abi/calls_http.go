// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// httpCall is a proxy_http_call in flight.
type httpCall struct {
	token   uint32
	cluster string
	stream  uint32 // the HTTP context that dispatched it, 0 for the root
	req     *http.Request
	timeout time.Duration
	callout Callout
}

// callResponse is what proxy_on_http_call_response can read.
type callResponse struct {
	headers  *headerMap
	trailers *headerMap
	body     []byte
	failed   bool // delivered as Envoy's onFailure
	router   bool // a reply the router made up: the cluster did not answer
}

// Envoy's async client answers, produced by the router as local replies.
const (
	timeoutBody = "upstream request timeout"
	refusedBody = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"
	resetBody   = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
)

// proxyHTTPCall emulates cpp-host exports::http_call and Envoy
// Context::httpCall: the cluster must exist and the headers must carry
// :method, :path and :authority, else BadArgument and no callback. The
// response is delivered later to the VM's root context through
// proxy_on_http_call_response. A timeout of 0 means none.
func proxyHTTPCall(_ context.Context, vm *VM, s []uint64) {
	m := vm.mem
	cluster, err1 := m.String(uint32(s[0]), uint32(s[1]))
	hb, err2 := m.Read(uint32(s[2]), uint32(s[3]))
	body, err3 := m.Read(uint32(s[4]), uint32(s[5]))
	_, err4 := m.Read(uint32(s[6]), uint32(s[7]))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || m.WriteUint32(uint32(s[9]), 0) != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	base, ok := vm.host.opts.Clusters[cluster]
	if !ok {
		s[0] = BadArgument
		return
	}
	pairs, err := decodePairs(hb)
	if err != nil {
		s[0] = BadArgument
		return
	}
	hm := newHeaderMap(pairs)
	req, ok := calloutRequest(base, hm, body)
	if !ok {
		s[0] = BadArgument
		return
	}
	c := &httpCall{token: vm.nextToken, cluster: cluster, req: req, timeout: time.Duration(uint32(s[8])) * time.Millisecond}
	vm.nextToken++
	if vm.nextToken == 0 {
		vm.nextToken = 1
	}
	if st := vm.streams[vm.contextID()]; st != nil {
		c.stream = st.id
	}
	c.callout = Callout{Cluster: cluster, Headers: hm.clone(), Body: append([]byte(nil), body...)}
	vm.calls[c.token] = c
	vm.host.goAsync(func(ctx context.Context) { vm.runCall(ctx, c) })
	s[0] = memStatus(m.WriteUint32(uint32(s[9]), c.token))
}

func calloutRequest(base string, hm *headerMap, body []byte) (*http.Request, bool) {
	method, ok1 := hm.get(":method")
	path, ok2 := hm.get(":path")
	authority, ok3 := hm.get(":authority")
	if !ok1 || !ok2 || !ok3 || method == "" || path == "" {
		return nil, false
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, false
	}
	req.Host = authority
	// Envoy's async client has no retry policy: a call with a body that
	// meets a pooled connection the cluster just closed fails. Without a way
	// to rewind the body, net/http does not send it again either.
	req.GetBody = nil
	for _, p := range hm.pairs {
		if !strings.HasPrefix(p[0], ":") {
			req.Header.Add(p[0], p[1])
		}
	}
	return req, true
}

// runCall performs the call with real I/O, then delivers it on the VM.
func (vm *VM) runCall(ctx context.Context, c *httpCall) {
	start := time.Now()
	resp := vm.host.exchange(ctx, c)
	c.callout.Duration = time.Since(start)
	vm.mu.Lock()
	defer vm.mu.Unlock()
	delete(vm.calls, c.token)
	c.callout.Failed = resp.failed || resp.router
	if !resp.failed {
		v, _ := resp.headers.get(":status")
		c.callout.ResponseStatus, _ = strconv.Atoi(v)
	}
	st := vm.streams[c.stream]
	if st != nil {
		st.callouts = append(st.callouts, c.callout)
		defer st.signal() // let a paused stream re-check what is pending
	}
	if vm.failed != nil {
		return
	}
	vm.deliver(ctx, c, resp)
}

// deliver emulates Envoy Context::onHttpCallSuccess and onHttpCallFailure:
// a failure is delivered as 0 headers, 0 body, 0 trailers, with
// proxy_get_status answering BrokenConnection and "reset".
func (vm *VM) deliver(ctx context.Context, c *httpCall, resp *callResponse) {
	vm.callResp = resp
	if resp.failed {
		vm.statusCode, vm.statusMsg = BrokenConnection, "reset"
		vm.callResp = &callResponse{headers: &headerMap{}, trailers: &headerMap{}}
	}
	_, _ = vm.call(ctx, vm.rootID, "proxy_on_http_call_response", uint64(vm.rootID), uint64(c.token),
		uint64(len(vm.callResp.headers.pairs)), uint64(len(vm.callResp.body)), uint64(len(vm.callResp.trailers.pairs)))
	vm.callResp = nil
	vm.statusCode, vm.statusMsg = 0, ""
}

// exchange does the HTTP exchange and maps errors as Envoy's async client
// does: a timeout before the response is complete is a 504 "upstream request
// timeout"; a refused connection or a connection closed before the response
// headers is a 503 from the router; a failure after the headers resets the
// stream, which the plugin sees as a failed call.
func (h *Host) exchange(ctx context.Context, c *httpCall) *callResponse {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := h.client.Do(c.req.WithContext(ctx))
	if err != nil {
		return routerReply(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		// The headers were already delivered to the async client: any
		// failure now, a timeout included, resets the stream.
		return &callResponse{failed: true}
	}
	m := newHeaderMap([][2]string{{":status", strconv.Itoa(resp.StatusCode)}})
	addHeaders(m, resp.Header)
	if resp.ContentLength >= 0 {
		m.replace("content-length", strconv.FormatInt(resp.ContentLength, 10))
	}
	t := &headerMap{}
	addHeaders(t, resp.Trailer)
	return &callResponse{headers: m, trailers: t, body: body}
}

func routerReply(ctx context.Context, err error) *callResponse {
	status, body := 503, resetBody
	var op *net.OpError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		status, body = 504, timeoutBody
	case errors.As(err, &op) && op.Op == "dial":
		body = refusedBody
	}
	m := newHeaderMap([][2]string{{":status", strconv.Itoa(status)},
		{"content-length", strconv.Itoa(len(body))}, {"content-type", "text/plain"}})
	return &callResponse{headers: m, trailers: &headerMap{}, body: []byte(body), router: true}
}
