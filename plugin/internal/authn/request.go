// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"net/url"
	"strings"
)

// MaxHeaderValue bounds the size of any single credential-bearing header value
// that a verifier will look at. Longer values are treated as malformed.
const MaxHeaderValue = 8 << 10

// Request is the read-only view of an HTTP request that verifiers see.
type Request interface {
	// Header returns the first value of the header (name in lower case).
	Header(name string) (string, bool)
	// Query returns the first value of the query parameter, exact name.
	Query(name string) (string, bool)
	// Method returns the request method, for example "GET".
	Method() string
	// Path returns the request path without the query string.
	Path() string
	// Host returns the request authority without a port.
	Host() string
}

// HeaderRequest is a Request built from a list of header pairs, as the proxy
// hands them over (pseudo headers included). The zero value is an empty request.
type HeaderRequest struct {
	headers map[string]string
	method  string
	path    string
	rawQ    string
	host    string
	query   url.Values
	parsedQ bool
}

// NewHeaderRequest builds a Request from header pairs. Names are matched
// case-insensitively; when a header repeats, the first value wins.
func NewHeaderRequest(pairs [][2]string) *HeaderRequest {
	r := &HeaderRequest{headers: make(map[string]string, len(pairs))}
	for _, kv := range pairs {
		name := strings.ToLower(kv[0])
		if _, dup := r.headers[name]; !dup {
			r.headers[name] = kv[1]
		}
	}
	r.method = r.headers[":method"]
	full := r.headers[":path"]
	r.path, r.rawQ, _ = strings.Cut(full, "?")
	host := r.headers[":authority"]
	if host == "" {
		host = r.headers["host"]
	}
	r.host = stripPort(host)
	return r
}

func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[:end+1]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// Header implements Request.
func (r *HeaderRequest) Header(name string) (string, bool) {
	v, ok := r.headers[name]
	return v, ok
}

// Query implements Request. The query string is parsed on first use.
func (r *HeaderRequest) Query(name string) (string, bool) {
	if !r.parsedQ {
		r.parsedQ = true
		if r.rawQ != "" {
			q, err := url.ParseQuery(r.rawQ)
			if err == nil || q != nil {
				r.query = q
			}
		}
	}
	vs, ok := r.query[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// Method implements Request.
func (r *HeaderRequest) Method() string { return r.method }

// Path implements Request.
func (r *HeaderRequest) Path() string { return r.path }

// Host implements Request.
func (r *HeaderRequest) Host() string { return r.host }

// RawQuery returns the query string without the leading '?'.
func (r *HeaderRequest) RawQuery() string { return r.rawQ }
