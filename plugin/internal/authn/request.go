// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/urlq"
)

// MaxHeaderValue bounds the size of any single credential-bearing header value
// that a verifier will look at. Longer values are treated as malformed.
const MaxHeaderValue = 8 << 10

// Request is the read-only view of an HTTP request that verifiers see.
type Request interface {
	// Header returns the first value of the header (name in lower case,
	// with dashes); names are folded with FoldHeaderName.
	Header(name string) (string, bool)
	// Query returns the first value of the query parameter (name in lower
	// case); names are folded with FoldQueryName.
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
	// QueryValid reports whether every pair of the query string decodes.
	QueryValid() bool
}

// FoldHeaderName is the one spelling of a header name the plugin decides on:
// lower case, '_' read as '-', since CGI, WSGI, PHP and Rack upstreams read
// User_Id and user-id as one variable. It does not allocate when name is
// already folded.
func FoldHeaderName(name string) string {
	return fold(name, "_", '-')
}

// FoldQueryName is the one spelling of a query parameter name: lower case
// (ASP.NET reads names without case), and '.', ' ' and '[' read as '_', as
// PHP reads them ("_method" and ".method" are one name to PHP; "user-id"
// and "user_id" are two names everywhere).
func FoldQueryName(name string) string {
	return fold(name, ". [", '_')
}

func fold(name, from string, to byte) string {
	clean := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; ('A' <= c && c <= 'Z') || strings.IndexByte(from, c) >= 0 {
			clean = false
			break
		}
	}
	if clean {
		return name
	}
	b := []byte(name)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case strings.IndexByte(from, c) >= 0:
			b[i] = to
		}
	}
	return string(b)
}

// HeaderRequest is a Request built from a list of header pairs, as the proxy
// hands them over (pseudo headers included). The zero value is an empty request.
type HeaderRequest struct {
	headers map[string]string
	repeats map[string]int      // names seen more than once, and how often; nil if none
	spelled map[string][]string // folded name → other spellings sent; nil if none
	method  string
	path    string
	rawQ    string
	host    string
	query   map[string][]string // by folded name
	queryOK bool
	parsedQ bool
}

// NewHeaderRequest builds a Request from header pairs. Names are folded
// (FoldHeaderName); when a header repeats, in any spelling, Header returns
// the first value and HeaderCount tells (the policy refuses repeated
// credentials).
func NewHeaderRequest(pairs [][2]string) *HeaderRequest {
	r := &HeaderRequest{headers: make(map[string]string, len(pairs))}
	for _, kv := range pairs {
		name := FoldHeaderName(kv[0])
		if name != kv[0] {
			if r.spelled == nil {
				r.spelled = map[string][]string{}
			}
			r.spelled[name] = append(r.spelled[name], kv[0])
		}
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

// Spellings returns every name under which the request sent the header of
// folded name name (for example "user-id" and "user_id"), to remove them all.
func (r *HeaderRequest) Spellings(name string) []string {
	if alt := r.spelled[name]; alt != nil {
		return append([]string{name}, alt...)
	}
	return []string{name}
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
	if r.parsedQ {
		return
	}
	r.parsedQ, r.queryOK = true, true
	if r.rawQ == "" {
		return
	}
	q, err := urlq.ParseQuery(r.rawQ)
	r.queryOK = err == nil
	for k, vs := range q {
		f := FoldQueryName(k)
		if r.query == nil {
			r.query = map[string][]string{}
		}
		r.query[f] = append(r.query[f], vs...)
	}
}

// QueryValid implements Request.
func (r *HeaderRequest) QueryValid() bool {
	r.parseQuery()
	return r.queryOK
}

// Method implements Request.
func (r *HeaderRequest) Method() string { return r.method }

// Path implements Request.
func (r *HeaderRequest) Path() string { return r.path }

// Host implements Request.
func (r *HeaderRequest) Host() string { return r.host }

// RawQuery implements Request.
func (r *HeaderRequest) RawQuery() string { return r.rawQ }
