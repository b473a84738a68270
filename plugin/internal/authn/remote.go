// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/internal/stamp"
)

// Lookup is a question a verifier asks the token cluster. The filter sends it
// (or answers it from the cache) and hands the Answer back to the verifier.
//
// A cache hit needs only the key (AppendKey): the body and the credential
// digest are made on first use, on a miss.
type Lookup struct {
	// Method is the HTTP method, "POST" or "GET".
	Method string
	// Path is the token cluster endpoint, for example tokenapi.PathVerify.
	Path string
	// ContentType is the media type of the body.
	ContentType string
	// NoCache marks an answer that must never be cached (single-use
	// credentials).
	NoCache bool
	// Refresh, when positive, asks the filter to repeat the lookup at the
	// token cluster at most this often even while a cached answer is still
	// valid (sliding session expiry). The cached answer keeps serving between
	// refreshes.
	Refresh time.Duration
	// Args are the body's inputs, read by Encode.
	Args [6]string
	// Encode appends the request body made from the lookup (Args) to dst.
	Encode func(dst []byte, l *Lookup) []byte

	scheme string
	parts  [3]string
	nparts int
	raw    string // the credential the digest is over
	digest string
	shared string
}

// NewLookup returns a lookup for scheme's credential: parts are every part
// of it (at most three; they key the cache), raw the one the token
// cluster's digest is over (tokenapi.Digest).
func NewLookup(scheme, raw string, parts ...string) *Lookup {
	l := &Lookup{scheme: scheme, raw: raw}
	if len(parts) > len(l.parts) {
		panic("authn: a lookup keys at most three credential parts")
	}
	l.nparts = copy(l.parts[:], parts)
	return l
}

// LookupFor is NewLookup in the storage of r when r is a *HeaderRequest
// (the stream's request view, which the filter keeps for the stream and
// any call it makes): a request has one lookup at a time, and a later one
// replaces it. Other requests get a new one.
func LookupFor(r Request, scheme, raw string, parts ...string) *Lookup {
	h, ok := r.(*HeaderRequest)
	if !ok {
		return NewLookup(scheme, raw, parts...)
	}
	if len(parts) > len(h.lookup.parts) {
		panic("authn: a lookup keys at most three credential parts")
	}
	l := &h.lookup
	*l = Lookup{scheme: scheme, raw: raw}
	l.nparts = copy(l.parts[:], parts)
	return l
}

// Detached is a copy of the lookup that refers to nothing of the request
// (its strings copied), for a call that outlives the stream: a request
// view's storage and the strings it points into are reused.
func (l *Lookup) Detached() *Lookup {
	c := *l
	c.scheme, c.raw, c.digest, c.shared = strings.Clone(l.scheme), strings.Clone(l.raw), strings.Clone(l.digest), strings.Clone(l.shared)
	for i := range c.parts {
		c.parts[i] = strings.Clone(l.parts[i])
	}
	for i := range c.Args {
		c.Args[i] = strings.Clone(l.Args[i])
	}
	return &c
}

// IdentityFor is id in the storage of r when r is a *HeaderRequest (see
// LookupFor), else a new copy: the identity a verification of the request
// produces, which nothing keeps past the stream.
func IdentityFor(r Request, id Identity) *Identity {
	if h, ok := r.(*HeaderRequest); ok {
		h.identity = id
		return &h.identity
	}
	c := new(Identity) // not &id: that would move every id to the heap
	*c = id
	return c
}

// maxRawKey bounds a cache key kept as the credential's own bytes; longer
// credentials are keyed by their SHA-256, so no entry's key passes
// 1+maxRawKey bytes.
const maxRawKey = 256

// AppendKey appends the VM-local cache key of the credential to dst: 'r',
// the scheme name, then each part, each preceded by a NUL (credential parts
// hold no control characters), compared byte for byte with the other
// entries' keys, so one credential's entry never answers for another's. A
// key that would pass maxRawKey bytes is 'h' and the SHA-256 of those
// bytes instead (found only by a second preimage). The secret stays in the
// VM's own memory, as the request does; the shared layer uses SharedKey.
func (l *Lookup) AppendKey(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, 'r')
	dst = append(dst, l.scheme...)
	for _, p := range l.parts[:l.nparts] {
		dst = append(dst, 0)
		dst = append(dst, p...)
	}
	if len(dst)-start <= 1+maxRawKey {
		return dst
	}
	sum := sha256.Sum256(dst[start+1:])
	return append(append(dst[:start], 'h'), sum[:]...)
}

// Digest is the credential's digest as the token cluster and the
// revocation feed name it: lowercase hex of SHA-256 over the raw credential
// (tokenapi.Digest), computed once.
func (l *Lookup) Digest() string {
	if l.digest == "" {
		l.digest = hexString(l.rawSum())
	}
	return l.digest
}

func (l *Lookup) rawSum() [sha256.Size]byte {
	if len(l.raw) <= maxRawKey {
		var b [maxRawKey]byte // the conversion would allocate
		return sha256.Sum256(b[:copy(b[:], l.raw)])
	}
	return sha256.Sum256([]byte(l.raw))
}

// SharedKey identifies the answer in the proxy's shared data, which other
// VMs and the host can read: a hex SHA-256 of the cache key, never the raw
// secret.
//
// A lookup that reads the shared layer also needs the digest (revocations,
// the VM's cache), so when the digest is not made yet both are made as one
// string: one allocation for the two.
func (l *Lookup) SharedKey() string {
	if l.shared == "" {
		var b [2 * maxRawKey]byte // a key longer than this is made on the heap
		sum := sha256.Sum256(l.AppendKey(b[:0]))
		if l.digest != "" {
			l.shared = hexString(sum)
		} else {
			var two [4 * sha256.Size]byte
			raw := l.rawSum()
			hex.Encode(two[:2*sha256.Size], raw[:])
			hex.Encode(two[2*sha256.Size:], sum[:])
			both := string(two[:])
			l.digest, l.shared = both[:2*sha256.Size], both[2*sha256.Size:]
		}
	}
	return l.shared
}

// hexString is lowercase hex of sum, made as one string.
func hexString(sum [sha256.Size]byte) string {
	var b [2 * sha256.Size]byte
	hex.Encode(b[:], sum[:])
	return string(b[:])
}

// AppendBody appends the request body to send (Encode) to dst; it returns
// dst as it is without one.
func (l *Lookup) AppendBody(dst []byte) []byte {
	if l.Encode == nil {
		return dst
	}
	return l.Encode(dst, l)
}

// Answers reports whether a is an answer for this lookup's credential: the
// token cluster reports the digest of the credential it answered for, when
// it does, and it must be this one.
func (l *Lookup) Answers(a *Answer) bool {
	return a == nil || a.Digest == "" || a.Digest == l.Digest()
}

// Answer is the token cluster's decoded reply to a Lookup, common to the
// introspection and verification endpoints.
type Answer struct {
	Active bool
	// Reason is the tokenapi reason code when Active is false.
	Reason  string
	Kind    string
	Subject string
	Tenant  string
	// Scopes are never changed in place once decoded: identities share
	// them and their joined text (JoinScopes); replace the slice instead.
	Scopes      []string
	TokenType   string
	AccessType  string
	ClientID    string
	Visitor     string
	Customer    string
	DeveloperID string
	AppID       string
	// HMACKey is the user's HMAC key material (hmac_key lookups only).
	HMACKey string
	// ExpiresAt is the credential's expiry (zero: none known).
	ExpiresAt stamp.Stamp
	// CacheTTL is how long the answer may be cached (zero: not at all).
	CacheTTL time.Duration
	// Digest is the credential digest the token cluster reported, if any.
	Digest string

	scopeText string   // Scopes joined, by JoinScopes
	scopeOf   []string // the Scopes scopeText was joined from
	scopes    [4]string
}

// ScopeStorage is an empty slice of the answer's own storage for a few
// scopes, for a decoder to append to: up to four cost no allocation.
func (a *Answer) ScopeStorage() []string { return a.scopes[:0] }

// JoinScopes joins Scopes once, for the identities a cached answer makes:
// a decoder calls it when the answer is complete. ScopeText uses the text
// only while Scopes is still the slice it was joined from.
func (a *Answer) JoinScopes() {
	a.scopeText, a.scopeOf = strings.Join(a.Scopes, " "), a.Scopes
}

// SetScopeText is JoinScopes for a decoder that already holds the joined
// text: text must be strings.Join(a.Scopes, " "), or it is not used.
func (a *Answer) SetScopeText(text string) {
	if len(text) != len(a.Scopes)-1+scopeLen(a.Scopes) {
		a.JoinScopes()
		return
	}
	a.scopeText, a.scopeOf = text, a.Scopes
}

func scopeLen(scopes []string) int {
	n := 0
	for _, s := range scopes {
		n += len(s)
	}
	return n
}

// ScopeText is Scopes joined by spaces: the text JoinScopes made, or a new
// join when Scopes changed since.
func (a *Answer) ScopeText() string {
	if len(a.Scopes) == 0 {
		return ""
	}
	if len(a.scopeOf) == len(a.Scopes) && &a.scopeOf[0] == &a.Scopes[0] {
		return a.scopeText
	}
	return strings.Join(a.Scopes, " ")
}

// IdentityCopy is IdentityFor with id's scopes and headers copied, for a
// verifier that keeps id (a cache): what the caller does with the result
// never reaches the kept one. The copies go into r's own storage, which a
// reused view keeps, so a warm stream allocates nothing.
func IdentityCopy(r Request, id Identity) *Identity {
	h, ok := r.(*HeaderRequest)
	if !ok {
		id.Scopes = append([]string(nil), id.Scopes...)
		id.Headers = append([][2]string(nil), id.Headers...)
		c := new(Identity)
		*c = id
		return c
	}
	h.scopes = append(h.scopes[:0], id.Scopes...)
	h.headers = append(h.headers[:0], id.Headers...)
	id.Scopes, id.Headers = h.scopes[:len(id.Scopes):len(id.Scopes)], h.headers[:len(id.Headers):len(id.Headers)]
	if len(id.Scopes) == 0 {
		id.Scopes = nil
	}
	if len(id.Headers) == 0 {
		id.Headers = nil
	}
	h.identity = id
	return &h.identity
}

// AnswerIdentity is IdentityFor with the answer's scopes and their joined
// text, so that a cached answer's identity is made without allocating.
func AnswerIdentity(r Request, a *Answer, id Identity) *Identity {
	id.Scopes, id.scopeText = a.Scopes, a.ScopeText()
	return IdentityFor(r, id)
}

// RemoteVerifier is a Verifier whose decision needs the token cluster. The
// policy engine calls Prepare instead of Verify, and Complete once the answer
// is known, fresh or cached.
type RemoteVerifier interface {
	Verifier
	// Prepare parses the request's credentials and returns the lookup to make,
	// or a denial when the credentials are malformed or locally invalid.
	Prepare(r Request, now stamp.Stamp) (*Lookup, *DenyError)
	// Complete decides from the answer. Route-bound constraints (tenant,
	// developer-id, access type, bound codes, app binding) are checked here,
	// on every request, so a cached answer never grants more than the route
	// allows.
	Complete(r Request, a *Answer, now stamp.Stamp) (*Identity, *DenyError)
}
