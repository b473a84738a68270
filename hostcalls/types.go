// SPDX-License-Identifier: Apache-2.0

package hostcalls

import (
	"net/http"
	"strings"
	"time"

	"github.com/credgate/credgate/hostcalls/internal/abi"
)

// Request is one client request.
type Request struct {
	// Method, Path, Authority and Scheme become the pseudo headers :method,
	// :path, :authority and :scheme. Scheme defaults to "http".
	Method, Path, Authority, Scheme string
	// Headers are the regular headers, in order; the host lowercases their
	// names as Envoy does. Envoy's connection manager also adds
	// x-forwarded-proto and, when absent, x-request-id.
	Headers [][2]string
	// Body is the request body, delivered in one proxy_on_request_body call.
	Body []byte
	// Trailers are the request trailers, if any.
	Trailers [][2]string
	// SourceAddress is the client address (property source.address).
	// Default "127.0.0.1:50000".
	SourceAddress string
	// RouteName is the name of the route Envoy's router matched for the
	// request (property xds.route_name, the raw name; "" for a route
	// without a name, as Envoy answers).
	RouteName string
	// NoRoute reports that no route matched: xds.route_name is then
	// NotFound, as in Envoy when the stream has no route.
	NoRoute bool
}

// LocalResponse is a response the plugin sent with proxy_send_local_response,
// or the 503 of a failed VM (Details "wasm_fail_stream").
type LocalResponse struct {
	Status     int
	Headers    [][2]string
	Body       []byte
	Details    string
	GRPCStatus int32 // -1 when the plugin gave none
}

// UpstreamRequest is what reached the upstream.
type UpstreamRequest struct {
	// Headers include the pseudo headers, after the plugin's changes. As in
	// Envoy, a request with a body or trailers is forwarded as soon as
	// proxy_on_request_headers lets it continue: changes the plugin makes to
	// the request headers later (in proxy_on_request_body) do not reach the
	// upstream.
	Headers  [][2]string
	Body     []byte
	Trailers [][2]string
	// Aborted reports that the upstream received the headers of a request
	// the plugin then stopped (a local response or a closed stream from the
	// body or trailers callbacks): Envoy resets the upstream request. Body and
	// Trailers are then empty.
	Aborted bool
}

// Response is what the client finally received, after the plugin's
// response callbacks (pseudo headers removed).
type Response struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// Callout is one proxy_http_call the stream made.
type Callout struct {
	Cluster string
	// Headers and Body are what the plugin sent, pseudo headers included.
	Headers [][2]string
	Body    []byte
	// ResponseStatus is the status the plugin was given: the cluster's, or
	// the 503/504 Envoy's router makes up, or 0 for a reset (Envoy's
	// onFailure: no headers, no body).
	ResponseStatus int
	// Failed reports that the cluster gave no complete response: a refused
	// or reset connection, or a timeout.
	Failed   bool
	Duration time.Duration
}

// Result is the outcome of one stream.
type Result struct {
	// LocalResponse is set when the plugin answered locally, or when its VM
	// had failed (503).
	LocalResponse *LocalResponse
	// Upstream is set when the request reached the upstream, completely or
	// (Upstream.Aborted) only its headers.
	Upstream *UpstreamRequest
	// Response is what the client received.
	Response Response
	// Callouts are the stream's http calls, in completion order.
	Callouts []Callout
	// VM is the index of the VM that ran the stream.
	VM int
	// FilterState is what the plugin stored with proxy_set_property, under
	// the keys Envoy gives it: "wasm." followed by the path the plugin
	// passed (segments joined by NUL). Later filters, access logs
	// (%FILTER_STATE(wasm.<path>:PLAIN)%) and RBAC filter-state matchers
	// read it under those keys.
	FilterState map[string][]byte
	// Reset reports that the stream was reset: the plugin closed it
	// (proxy_close_stream), or answered locally from proxy_on_response_body
	// after the response headers had gone to the client. The client got no
	// complete response (Response.Status is what it saw, or 0).
	Reset bool
}

// UpstreamHeader returns the first value of the named header (any case) as
// the upstream received it, and false when the request did not reach the
// upstream or lacks the header.
func (r *Result) UpstreamHeader(name string) (string, bool) {
	if r == nil || r.Upstream == nil {
		return "", false
	}
	name = strings.ToLower(name)
	for _, p := range r.Upstream.Headers {
		if p[0] == name {
			return p[1], true
		}
	}
	return "", false
}

// ResponseHeader returns the first value of the named response header (any
// case) as the client received it.
func (r *Result) ResponseHeader(name string) (string, bool) {
	if r == nil {
		return "", false
	}
	for _, p := range r.Response.Headers {
		if strings.EqualFold(p[0], name) {
			return p[1], true
		}
	}
	return "", false
}

// LogLevel is a proxy-wasm log level.
type LogLevel int

// The proxy-wasm log levels.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

// String returns the level's lowercase name.
func (l LogLevel) String() string {
	names := [...]string{"trace", "debug", "info", "warn", "error", "critical"}
	if l >= 0 && int(l) < len(names) {
		return names[l]
	}
	return "unknown"
}

// LogEntry is one captured log line. VM is -1 for lines the host itself
// logs (a VM failure).
type LogEntry struct {
	VM      int
	Level   LogLevel
	Message string
}

// FilterStateOf returns the filter state the plugin set on the stream of r,
// a request the host passed to Config.WithUpstream's handler, as
// Result.FilterState holds it: what Envoy's filters after the plugin (RBAC,
// rate limits) and the router see. It is nil for any other request.
func FilterStateOf(r *http.Request) map[string][]byte {
	m, _ := r.Context().Value(abi.FilterStateKey{}).(map[string][]byte)
	return m
}
