// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// stream is one HTTP context.
type stream struct {
	id           uint32
	req          Request
	reqHeaders   *headerMap
	reqTrailers  *headerMap
	respHeaders  *headerMap
	respTrailers *headerMap
	reqBody      []byte
	respBody     []byte
	reqBodySeen  bool
	respBodySeen bool
	local        *LocalResponse
	reset        bool
	continued    bool
	responding   bool
	respSent     *headerMap // response headers already sent to the client
	resume       chan struct{}
	forwarded    [][2]string       // request headers as sent upstream before the body
	filterState  map[string][]byte // proxy_set_property, under Envoy's keys ("wasm." + path)
	callouts     []Callout
}

func (s *stream) signal() {
	select {
	case s.resume <- struct{}{}:
	default:
	}
}

var (
	errClosed = errors.New("host closed")
	errStop   = errors.New("stream stopped")
	errStuck  = errors.New("stream paused with no http call in flight and no tick period set: Envoy would hold it until a timeout")
)

// Do runs one stream to completion on the next VM (round-robin).
func (h *Host) Do(ctx context.Context, req Request) (*Result, error) {
	if h.closed.Load() {
		return nil, errClosed
	}
	vm := h.vms[(h.next.Add(1)-1)%uint64(len(h.vms))]
	res := &Result{VM: vm.index}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.failed != nil {
		failClosed(res)
		return res, nil
	}
	s := vm.newStream(req)
	vm.streams[s.id] = s
	err := vm.runStream(ctx, s, res)
	vm.finish(ctx, s)
	if vm.failed != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		failClosed(res)
		return res, nil
	}
	return res, err
}

func (vm *VM) runStream(ctx context.Context, s *stream, res *Result) error {
	defer func() { res.Callouts, res.FilterState = s.callouts, s.filterState }()
	if _, err := vm.call(ctx, s.id, "proxy_on_context_create", uint64(s.id), uint64(vm.rootID)); err != nil {
		return err
	}
	err := vm.runRequest(ctx, s)
	switch {
	case err == nil:
		res.Upstream = vm.forward(s)
	case err == errStop && s.local != nil:
		res.Upstream = aborted(s)
		res.LocalResponse = s.local
		s.respHeaders, s.respBody = localHeaders(s.local), append([]byte(nil), s.local.Body...)
	case err == errStop && s.reset:
		res.Upstream = aborted(s)
		res.Reset = true
		return nil
	default:
		return err
	}
	s.responding = true
	if err := vm.runResponse(ctx, s); err != nil && err != errStop {
		return err
	}
	if s.reset {
		res.Reset = true
		return nil
	}
	if s.local != nil && res.LocalResponse == nil && s.respSent != nil {
		// Too late for a local reply: Envoy resets the stream instead.
		res.LocalResponse, res.Reset = s.local, true
		res.Response = Response{Status: responseOf(&stream{respHeaders: s.respSent}).Status}
		return nil
	}
	if s.local != nil && res.LocalResponse == nil {
		res.LocalResponse = s.local
		s.respHeaders, s.respBody = localHeaders(s.local), append([]byte(nil), s.local.Body...)
	}
	res.Response = responseOf(s)
	return nil
}

func (vm *VM) runRequest(ctx context.Context, s *stream) error {
	eos := len(s.req.Body) == 0 && len(s.req.Trailers) == 0
	if err := vm.phase(ctx, s, "proxy_on_request_headers", uint64(len(s.reqHeaders.pairs)), flag(eos)); err != nil {
		return err
	}
	if !eos {
		// Envoy's router sends the headers upstream as soon as the filter
		// continues them, before the body: later header changes are lost, and
		// a later local reply resets a request the upstream has begun.
		s.forwarded = s.reqHeaders.clone()
	}
	if len(s.req.Body) > 0 {
		s.reqBody, s.reqBodySeen = append([]byte(nil), s.req.Body...), true
		if err := vm.phase(ctx, s, "proxy_on_request_body", uint64(len(s.reqBody)), flag(len(s.req.Trailers) == 0)); err != nil {
			return err
		}
	}
	if len(s.req.Trailers) > 0 {
		s.reqTrailers = newHeaderMap(s.req.Trailers)
		return vm.phase(ctx, s, "proxy_on_request_trailers", uint64(len(s.reqTrailers.pairs)))
	}
	return nil
}

func (vm *VM) runResponse(ctx context.Context, s *stream) error {
	if err := vm.phase(ctx, s, "proxy_on_response_headers", uint64(len(s.respHeaders.pairs)), flag(len(s.respBody) == 0)); err != nil {
		return err
	}
	if len(s.respBody) > 0 {
		// The headers go to the client before the body callback runs.
		s.respSent = &headerMap{pairs: s.respHeaders.clone()}
		s.respBodySeen = true
		return vm.phase(ctx, s, "proxy_on_response_body", uint64(len(s.respBody)), 1)
	}
	return nil
}

// phase calls a stream callback and, when it does not answer Continue,
// waits (with the VM released) until proxy_continue_stream. It returns
// errStop when the plugin answered locally or reset the stream.
func (vm *VM) phase(ctx context.Context, s *stream, name string, args ...uint64) error {
	var buf [4]uint64 // the context id and at most three arguments, without a heap slice
	buf[0] = uint64(s.id)
	n := 1 + copy(buf[1:], args)
	action, err := vm.call(ctx, s.id, name, buf[:n]...)
	if err != nil {
		return err
	}
	if s.local != nil || s.reset {
		return errStop
	}
	if action == 0 {
		s.continued = false // a resume during a callback that went on anyway
		return nil
	}
	return vm.waitContinue(ctx, s)
}

func (vm *VM) waitContinue(ctx context.Context, s *stream) error {
	for !s.continued {
		if vm.failed != nil {
			return vm.failed
		}
		if s.local != nil || s.reset {
			return errStop
		}
		if len(vm.calls) == 0 && vm.tickPeriod == 0 {
			return errStuck
		}
		vm.mu.Unlock()
		select {
		case <-s.resume:
			vm.mu.Lock()
		case <-ctx.Done():
			vm.mu.Lock()
			return ctx.Err()
		}
	}
	s.continued = false
	if s.local != nil || s.reset {
		return errStop
	}
	return nil
}

// finish runs proxy_on_done, proxy_on_log and proxy_on_delete, in Envoy's
// order (filter destroyed, access log, context deleted).
func (vm *VM) finish(ctx context.Context, s *stream) {
	for _, name := range []string{"proxy_on_done", "proxy_on_log", "proxy_on_delete"} {
		if vm.failed != nil {
			break
		}
		_, _ = vm.call(ctx, s.id, name, uint64(s.id))
	}
	delete(vm.streams, s.id)
}

func (vm *VM) newStream(req Request) *stream {
	id := vm.nextID
	vm.nextID++
	if req.Scheme == "" {
		req.Scheme = "http"
	}
	if req.SourceAddress == "" {
		req.SourceAddress = "127.0.0.1:50000"
	}
	// Room for the headers a plugin adds, so that its writes do not grow
	// the slice.
	pairs := make([][2]string, 0, len(req.Headers)+14)
	pairs = append(pairs, [2]string{":authority", req.Authority}, [2]string{":path", req.Path},
		[2]string{":method", req.Method}, [2]string{":scheme", req.Scheme})
	hasID := false
	for _, hd := range req.Headers {
		k := strings.ToLower(hd[0])
		hasID = hasID || k == "x-request-id"
		pairs = append(pairs, [2]string{k, hd[1]})
	}
	// Envoy's connection manager adds these before any filter runs.
	pairs = append(pairs, [2]string{"x-forwarded-proto", req.Scheme})
	if !hasID {
		pairs = append(pairs, [2]string{"x-request-id", requestID(vm.index, id)})
	}
	return &stream{id: id, req: req, reqHeaders: &headerMap{pairs: pairs}, resume: make(chan struct{}, 1), filterState: map[string][]byte{}}
}

// requestID is a UUID-shaped x-request-id unique per VM and stream:
// %08x-0000-4000-8000-%012x of the VM's index and the stream's id.
func requestID(vm int, id uint32) string {
	const hexDigits = "0123456789abcdef"
	b := []byte("00000000-0000-4000-8000-000000000000")
	for i, v := 7, uint64(uint32(vm)); i >= 0; i, v = i-1, v>>4 {
		b[i] = hexDigits[v&15]
	}
	for i, v := len(b)-1, uint64(id); i >= len(b)-12; i, v = i-1, v>>4 {
		b[i] = hexDigits[v&15]
	}
	return string(b)
}

// aborted is what the upstream saw of a request the plugin stopped after
// its headers had been forwarded, or nil.
func aborted(s *stream) *UpstreamRequest {
	if s.forwarded == nil {
		return nil
	}
	return &UpstreamRequest{Headers: s.forwarded, Aborted: true}
}

func flag(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// failClosed is Envoy's answer on a stream whose plugin VM failed, with the
// plugin's failure policy FAIL_CLOSED (Context::failStream).
func failClosed(res *Result) {
	lr := &LocalResponse{Status: 503, Details: "wasm_fail_stream", GRPCStatus: 14}
	res.LocalResponse = lr
	res.Upstream = nil
	res.Response = Response{Status: 503, Headers: nil, Body: nil}
}

// localHeaders builds the response headers of a local reply as Envoy's
// Http::Utility::sendLocalReply does: :status, the plugin's headers
// (setCopy), content-length and, when absent, content-type text/plain.
func localHeaders(lr *LocalResponse) *headerMap {
	m := newHeaderMap([][2]string{{":status", strconv.Itoa(lr.Status)}})
	for _, p := range lr.Headers {
		m.replace(p[0], p[1])
	}
	if len(lr.Body) > 0 {
		m.replace("content-length", strconv.Itoa(len(lr.Body)))
		if _, ok := m.get("content-type"); !ok {
			m.add("content-type", "text/plain")
		}
	}
	return m
}

func responseOf(s *stream) Response {
	r := Response{Body: append([]byte(nil), s.respBody...)}
	for _, p := range s.respHeaders.pairs {
		if p[0] == ":status" {
			r.Status, _ = strconv.Atoi(p[1])
		} else if !strings.HasPrefix(p[0], ":") {
			if r.Headers == nil {
				r.Headers = make([][2]string, 0, len(s.respHeaders.pairs))
			}
			r.Headers = append(r.Headers, p)
		}
	}
	return r
}
