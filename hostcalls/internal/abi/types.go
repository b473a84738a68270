// SPDX-License-Identifier: Apache-2.0

package abi

import "time"

// Request is one client request; the public package documents the fields.
type Request struct {
	Method, Path, Authority, Scheme string
	Headers                         [][2]string
	Body                            []byte
	Trailers                        [][2]string
	SourceAddress                   string
	RouteName                       string
	NoRoute                         bool
}

// LocalResponse is a response the plugin (or a failed VM) produced.
type LocalResponse struct {
	Status     int
	Headers    [][2]string
	Body       []byte
	Details    string
	GRPCStatus int32
}

// UpstreamRequest is what reached the upstream.
type UpstreamRequest struct {
	Headers  [][2]string
	Body     []byte
	Trailers [][2]string
	Aborted  bool
}

// Response is what the client received.
type Response struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// Callout is one proxy_http_call.
type Callout struct {
	Cluster        string
	Headers        [][2]string
	Body           []byte
	ResponseStatus int
	Failed         bool
	Duration       time.Duration
}

// Result is the outcome of one stream.
type Result struct {
	LocalResponse *LocalResponse
	Upstream      *UpstreamRequest
	Response      Response
	Callouts      []Callout
	VM            int
	Reset         bool
	FilterState   map[string][]byte
}
