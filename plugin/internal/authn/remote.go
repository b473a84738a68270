// SPDX-License-Identifier: Apache-2.0

package authn

import "time"

// Lookup is a question a verifier asks the token cluster. The filter sends it
// (or answers it from the cache) and hands the Answer back to the verifier.
type Lookup struct {
	// Method is the HTTP method, "POST" or "GET".
	Method string
	// Path is the token cluster endpoint, for example tokenapi.PathVerify.
	Path string
	// ContentType is the media type of Body.
	ContentType string
	// Body is the request body.
	Body []byte
	// CacheKey identifies the answer in the caches: a hex digest over the
	// scheme and the credential material, never the raw secret. Empty means
	// the answer must never be cached (single-use credentials).
	CacheKey string
	// Digest is tokenapi.Digest of the raw credential, so that entries named
	// by the revocation feed can be evicted.
	Digest string
	// Refresh, when positive, asks the filter to repeat the lookup at the
	// token cluster at most this often even while a cached answer is still
	// valid (sliding session expiry). The cached answer keeps serving between
	// refreshes.
	Refresh time.Duration
}

// Answer is the token cluster's decoded reply to a Lookup, common to the
// introspection and verification endpoints.
type Answer struct {
	Active bool
	// Reason is the tokenapi reason code when Active is false.
	Reason      string
	Kind        string
	Subject     string
	Tenant      string
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
	ExpiresAt time.Time
	// CacheTTL is how long the answer may be cached (zero: not at all).
	CacheTTL time.Duration
	// Digest is the credential digest the token cluster reported, if any.
	Digest string
}

// RemoteVerifier is a Verifier whose decision needs the token cluster. The
// policy engine calls Prepare instead of Verify, and Complete once the answer
// is known, fresh or cached.
type RemoteVerifier interface {
	Verifier
	// Prepare parses the request's credentials and returns the lookup to make,
	// or a denial when the credentials are malformed or locally invalid.
	Prepare(r Request, now time.Time) (*Lookup, *DenyError)
	// Complete decides from the answer. Route-bound constraints (tenant,
	// developer-id, access type, bound codes, app binding) are checked here,
	// on every request, so a cached answer never grants more than the route
	// allows.
	Complete(r Request, a *Answer, now time.Time) (*Identity, *DenyError)
}
