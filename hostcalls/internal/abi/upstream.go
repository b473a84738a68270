// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// FilterStateKey is the context key under which the upstream handler's
// request carries the stream's filter state (map[string][]byte).
type FilterStateKey struct{}

// forward sends the (possibly changed) request to the upstream handler, with
// the VM released meanwhile, and sets the response for the response phase.
func (vm *VM) forward(s *stream) *UpstreamRequest {
	up := &UpstreamRequest{Headers: s.reqHeaders.clone(), Trailers: s.reqTrailers.clone()}
	if s.forwarded != nil {
		up.Headers = s.forwarded
	}
	up.Body = s.req.Body
	if s.reqBodySeen {
		up.Body = s.reqBody
	}
	if f, ok := vm.host.opts.Upstream.(*FixedUpstream); ok {
		// Nothing reads the request: no copy of the body, no http.Request.
		s.respHeaders, s.respBody = f.headerMap(), f.Body[:len(f.Body):len(f.Body)] // a change copies
		return up
	}
	up.Body = append([]byte(nil), up.Body...)
	req := upstreamRequest(up)
	// The stages after the plugin (Envoy's later filters, the router) see
	// the filter state it set.
	state := make(map[string][]byte, len(s.filterState))
	for k, v := range s.filterState {
		state[k] = append([]byte(nil), v...)
	}
	req = req.WithContext(context.WithValue(req.Context(), FilterStateKey{}, state))
	rec := &recorder{header: http.Header{}}
	vm.mu.Unlock()
	vm.host.opts.Upstream.ServeHTTP(rec, req)
	vm.mu.Lock()
	s.respHeaders = rec.headerMap()
	s.respBody = rec.body.Bytes()
	return up
}

func upstreamRequest(up *UpstreamRequest) *http.Request {
	m := &headerMap{pairs: up.Headers}
	method, _ := m.get(":method")
	path, _ := m.get(":path")
	authority, _ := m.get(":authority")
	scheme, _ := m.get(":scheme")
	u, err := url.ParseRequestURI(path)
	if err != nil {
		u = &url.URL{Path: path}
	}
	u.Scheme, u.Host = scheme, authority
	req, _ := http.NewRequest(method, u.String(), bytes.NewReader(up.Body))
	if req == nil {
		req, _ = http.NewRequest(http.MethodGet, "http://invalid/", nil)
	}
	req.Host = authority
	req.RequestURI = path
	for _, p := range up.Headers {
		if !strings.HasPrefix(p[0], ":") {
			req.Header.Add(p[0], p[1])
		}
	}
	if len(up.Trailers) > 0 {
		req.Trailer = http.Header{}
		for _, p := range up.Trailers {
			req.Trailer.Add(p[0], p[1])
		}
	}
	return req
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func (r *recorder) headerMap() *headerMap {
	r.WriteHeader(http.StatusOK)
	m := newHeaderMap([][2]string{{":status", strconv.Itoa(r.status)}})
	addHeaders(m, r.header)
	if _, ok := m.get("content-length"); !ok {
		m.add("content-length", strconv.Itoa(r.body.Len()))
	}
	return m
}

// addHeaders appends h in a stable order, names lowercased.
func addHeaders(m *headerMap, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			m.add(k, v)
		}
	}
}

// FixedUpstream is an upstream that answers every request with Status,
// Headers and Body without reading it. The host recognises it and skips what
// an http.Handler needs (an http.Request, the filter state's copy, a
// recorder), so that a benchmark counts the plugin and the host's ABI, not
// a simulated upstream whose cost grows with every header the plugin adds;
// in Envoy the router, not the filter, pays for the upstream. Served as an
// http.Handler, it answers the same.
type FixedUpstream struct {
	Status  int
	Headers [][2]string // names in lower case
	Body    []byte
	pairs   [][2]string // :status, Headers and content-length, made once
}

// NewFixedUpstream returns a FixedUpstream; status 0 is 200.
func NewFixedUpstream(status int, headers [][2]string, body []byte) *FixedUpstream {
	if status == 0 {
		status = http.StatusOK
	}
	f := &FixedUpstream{Status: status, Headers: headers, Body: body}
	f.pairs = append(f.pairs, [2]string{":status", strconv.Itoa(status)})
	for _, h := range headers {
		f.pairs = append(f.pairs, [2]string{strings.ToLower(h[0]), h[1]})
	}
	if _, ok := (&headerMap{pairs: f.pairs}).get("content-length"); !ok {
		f.pairs = append(f.pairs, [2]string{"content-length", strconv.Itoa(len(body))})
	}
	return f
}

// headerMap is a fresh copy of the response headers, which the plugin may
// change in its response phase.
func (f *FixedUpstream) headerMap() *headerMap {
	return &headerMap{pairs: append(make([][2]string, 0, len(f.pairs)+4), f.pairs...)}
}

func (f *FixedUpstream) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	for _, h := range f.Headers {
		w.Header().Add(h[0], h[1])
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write(f.Body)
}

// EchoHandler answers 200 with a JSON object of the request's method, path,
// host and headers (names lowercased, repeated values joined by ",").
func EchoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers := map[string]string{}
		for k, v := range r.Header {
			headers[strings.ToLower(k)] = strings.Join(v, ",")
		}
		// Fields in the order json.Marshal gives a map's keys (sorted).
		body, _ := json.Marshal(struct {
			Headers map[string]string `json:"headers"`
			Host    string            `json:"host"`
			Method  string            `json:"method"`
			Path    string            `json:"path"`
		}{headers, r.Host, r.Method, r.URL.RequestURI()})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}
