// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"encoding/base64"
	"slices"
	"strings"
	"unsafe"

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
	return fold(name, headerFolds)
}

// FoldQueryName is the one spelling of a query parameter name: lower case
// (ASP.NET reads names without case), and '.', ' ' and '[' read as '_', as
// PHP reads them ("_method" and ".method" are one name to PHP; "user-id"
// and "user_id" are two names everywhere).
func FoldQueryName(name string) string {
	return fold(name, queryFolds)
}

// folds maps each byte to the byte it is read as; 0 for itself.
type folds [256]byte

var headerFolds, queryFolds = newFolds("_", '-'), newFolds(". [", '_')

func newFolds(from string, to byte) *folds {
	var f folds
	for c := 'A'; c <= 'Z'; c++ {
		f[c] = byte(c) + 'a' - 'A'
	}
	for i := 0; i < len(from); i++ {
		f[from[i]] = to
	}
	return &f
}

func fold(name string, f *folds) string {
	i := 0
	for i < len(name) && f[name[i]] == 0 {
		i++
	}
	if i == len(name) {
		return name
	}
	b := []byte(name)
	for ; i < len(b); i++ {
		if to := f[b[i]]; to != 0 {
			b[i] = to
		}
	}
	return string(b)
}

// HeaderRequest is a Request built from a list of header pairs, as the proxy
// hands them over (pseudo headers included). The zero value is an empty request.
//
// Lookups scan the pairs: a request has a few dozen headers at most that a
// verifier reads, and building an index would cost more than it saves.
type HeaderRequest struct {
	pairs   [][2]string
	folded  []string // FoldHeaderName of each pair's name; nil when every name is folded already
	method  string
	path    string
	rawQ    string
	host    string
	query   map[string][]string // by folded name
	queryOK bool
	parsedQ bool
	// The stream's own lookup and identity (LookupFor, IdentityFor), so a
	// verification allocates neither; they live as long as the request view.
	lookup   Lookup
	identity Identity
	// Backing arrays for IdentityCopy's slices, kept by a reused view.
	scopes  []string
	headers [][2]string
	// The Authorization header's Basic payload (Basic), decoded once into
	// basicBuf, which a reused view keeps.
	basicDone, basicPresent, basicOK bool
	basicPayload                     string
	basicBuf                         []byte
}

// NewHeaderRequest builds a Request from header pairs. Names are folded
// (FoldHeaderName); when a header repeats, in any spelling, Header returns
// the first value and HeaderCount tells (the policy refuses repeated
// credentials). The request keeps pairs; the caller must not change them.
func NewHeaderRequest(pairs [][2]string) *HeaderRequest {
	r := &HeaderRequest{}
	r.Reset(pairs)
	return r
}

// Reset makes r the request of pairs, as NewHeaderRequest does, so a
// stream's request view needs no allocation of its own.
func (r *HeaderRequest) Reset(pairs [][2]string) {
	clear(r.scopes) // what IdentityCopy left from the last request
	clear(r.headers)
	*r = HeaderRequest{pairs: pairs, basicBuf: r.basicBuf[:0], scopes: r.scopes[:0], headers: r.headers[:0]}
	for i, kv := range pairs {
		name := FoldHeaderName(kv[0])
		if name == kv[0] && r.folded == nil {
			continue
		}
		if r.folded == nil {
			r.folded = make([]string, len(pairs))
			for j := 0; j < i; j++ {
				r.folded[j] = pairs[j][0]
			}
		}
		r.folded[i] = name
	}
	r.method, _ = r.Header(":method")
	full, _ := r.Header(":path")
	r.path, r.rawQ, _ = strings.Cut(full, "?")
	host, _ := r.Header(":authority")
	if host == "" {
		host, _ = r.Header("host")
	}
	r.host = CanonicalHost(host)
}

// name returns the folded name of pair i.
func (r *HeaderRequest) name(i int) string {
	if r.folded != nil {
		return r.folded[i]
	}
	return r.pairs[i][0]
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
	for i := range r.pairs {
		if r.name(i) == name {
			return r.pairs[i][1], true
		}
	}
	return "", false
}

// Spellings returns every name under which the request sent the header of
// folded name name (for example "user-id" and "user_id"), to remove them all.
func (r *HeaderRequest) Spellings(name string) []string {
	out := []string{name}
	if r.folded == nil {
		return out
	}
	for i, kv := range r.pairs {
		if r.folded[i] == name && !contains(out, kv[0]) {
			out = append(out, kv[0])
		}
	}
	return out
}

// HeaderCount implements Request.
func (r *HeaderRequest) HeaderCount(name string) int {
	n := 0
	for i := range r.pairs {
		if r.name(i) == name {
			n++
		}
	}
	return n
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

// Clear drops everything the view refers to, keeping only its buffers for
// the next Reset: the view of a finished stream, kept for reuse.
func (r *HeaderRequest) Clear() {
	buf := r.basicBuf[:0]
	clear(buf[:cap(buf)]) // it held credentials
	if cap(buf) > maxKeptBasic {
		buf = nil
	}
	scopes, headers := r.scopes[:cap(r.scopes)], r.headers[:cap(r.headers)]
	clear(scopes)
	clear(headers)
	if cap(scopes) > maxKeptIdentity {
		scopes = nil
	}
	if cap(headers) > maxKeptIdentity {
		headers = nil
	}
	*r = HeaderRequest{basicBuf: buf, scopes: scopes[:0], headers: headers[:0]}
}

// maxKeptIdentity bounds the scopes and headers arrays a view keeps for
// IdentityCopy.
const maxKeptIdentity = 64

// maxKeptBasic bounds the Basic payload buffer a view keeps for reuse.
const maxKeptBasic = 1024

// Basic is the request's Authorization header decoded as Basic credentials
// (DecodeBasic), decoded once per request. The payload points into the
// view's own buffer: it is valid while the view is the request's, and
// anything kept longer must be copied.
func (r *HeaderRequest) Basic() (payload string, present, ok bool) {
	if !r.basicDone {
		r.basicDone = true
		if h, found := r.Header("authorization"); found {
			var b []byte
			b, r.basicPresent, r.basicOK = DecodeBasic(h, r.basicBuf[:0])
			if len(b) > 0 {
				r.basicBuf = b
				r.basicPayload = unsafe.String(&b[0], len(b))
			}
		}
	}
	return r.basicPayload, r.basicPresent, r.basicOK
}

// DecodeBasic decodes an Authorization header value as Basic credentials
// (RFC 7617; padded or not) into dst[:0]: present when the scheme is Basic,
// ok when the payload is non-empty base64 within MaxHeaderValue.
func DecodeBasic(h string, dst []byte) (payload []byte, present, ok bool) {
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil, false, false
	}
	if len(h) > MaxHeaderValue {
		return nil, true, false
	}
	enc := strings.TrimSpace(h[len(prefix):])
	src := unsafe.Slice(unsafe.StringData(enc), len(enc)) // read only
	for _, e := range [...]*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		b := slices.Grow(dst[:0], e.DecodedLen(len(src)))[:e.DecodedLen(len(src))]
		if n, err := e.Decode(b, src); err == nil {
			if n == 0 {
				return nil, true, false
			}
			return b[:n], true, true
		}
	}
	return nil, true, false
}
