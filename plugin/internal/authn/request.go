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
	// Host returns the request authority in canonical form (CanonicalHost).
	Host() string
	// HeaderCount returns how many times the header (lower-case name) appears.
	HeaderCount(name string) int
	// QueryCount returns how many times the query parameter appears.
	QueryCount(name string) int
	// RawQuery returns the query string without the leading '?'.
	RawQuery() string
}

// HeaderRequest is a Request built from a list of header pairs, as the proxy
// hands them over (pseudo headers included). The zero value is an empty request.
type HeaderRequest struct {
	headers map[string]string
	repeats map[string]int // names seen more than once, and how often; nil if none
	method  string
	path    string
	rawQ    string
	host    string
	query   url.Values
	parsedQ bool
}

// NewHeaderRequest builds a Request from header pairs. Names are matched
// case-insensitively; when a header repeats, Header returns the first value
// and HeaderCount tells (the policy refuses repeated credentials).
func NewHeaderRequest(pairs [][2]string) *HeaderRequest {
	r := &HeaderRequest{headers: make(map[string]string, len(pairs))}
	for _, kv := range pairs {
		name := strings.ToLower(kv[0])
		if _, dup := r.headers[name]; !dup {
			r.headers[name] = kv[1]
			continue
		}
		if r.repeats == nil {
			r.repeats = map[string]int{}
		}
		if r.repeats[name] == 0 {
			r.repeats[name] = 1
		}
		r.repeats[name]++
	}
	r.method = r.headers[":method"]
	full := r.headers[":path"]
	r.path, r.rawQ, _ = strings.Cut(full, "?")
	host := r.headers[":authority"]
	if host == "" {
		host = r.headers["host"]
	}
	r.host = CanonicalHost(host)
	return r
}

// CanonicalHost is the one form of an authority that routes are matched
// against: without the port, in lower case, without trailing dots (DNS reads
// "admin.example." and "admin.example" as one name, and so do upstreams).
func CanonicalHost(authority string) string {
	h := strings.TrimRight(stripPort(authority), ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
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

// HeaderCount implements Request.
func (r *HeaderRequest) HeaderCount(name string) int {
	if n := r.repeats[name]; n > 0 {
		return n
	}
	if _, ok := r.headers[name]; ok {
		return 1
	}
	return 0
}

// QueryCount implements Request.
func (r *HeaderRequest) QueryCount(name string) int {
	r.parseQuery()
	return len(r.query[name])
}

// Query implements Request. The query string is parsed on first use, with
// '&' as the only separator (a pair with ';' is dropped; the policy refuses
// such query strings on routes that need credentials).
func (r *HeaderRequest) Query(name string) (string, bool) {
	r.parseQuery()
	vs, ok := r.query[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (r *HeaderRequest) parseQuery() {
	if !r.parsedQ {
		r.parsedQ = true
		if r.rawQ != "" {
			q, err := url.ParseQuery(r.rawQ)
			if err == nil || q != nil {
				r.query = q
			}
		}
	}
}

// Method implements Request.
func (r *HeaderRequest) Method() string { return r.method }

// Path implements Request.
func (r *HeaderRequest) Path() string { return r.path }

// Host implements Request.
func (r *HeaderRequest) Host() string { return r.host }

// RawQuery implements Request.
func (r *HeaderRequest) RawQuery() string { return r.rawQ }
