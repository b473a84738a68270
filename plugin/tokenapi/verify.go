// SPDX-License-Identifier: Apache-2.0

package tokenapi

// JSON field names of the verification API, for gjson decoding in the plugin.
const (
	FieldActive       = "active"
	FieldKind         = "kind"
	FieldReason       = "reason"
	FieldSubject      = "subject"
	FieldTenant       = "tenant"
	FieldScopes       = "scopes"
	FieldExpiresAt    = "expires_at"
	FieldCacheTTL     = "cache_ttl"
	FieldRevoked      = "revoked"
	FieldDigest       = "digest"
	FieldDeveloperID  = "developer_id"
	FieldAppID        = "app_id"
	FieldHMACKey      = "hmac_key"
	FieldCredential   = "credential"
	FieldUserID       = "user_id"
	FieldPublicKey    = "public_key"
	FieldDomain       = "domain"
	FieldScope        = "scope"
	FieldClientID     = "client_id"
	FieldSub          = "sub"
	FieldExp          = "exp"
	FieldIat          = "iat"
	FieldTokenType    = "token_type"
	FieldAccessType   = "access_type"
	FieldVisitorCode  = "visitorcode"
	FieldCustomerCode = "customercode"
	FieldRevocations  = "revocations"
	FieldNext         = "next"
	FieldBehind       = "behind"
	FieldAt           = "at"
)

// VerifyRequest is the JSON body of POST [PathVerify].
//
// Which fields a kind needs:
//
//	api_key           credential = API key
//	user_api_key      user_id, credential = user-api-key, developer_id optional
//	public_key        credential = public key
//	public_key_token  public_key, credential = token from PathPublicKeyToken
//	domain_key        domain, credential = domain key
//	sso               credential = SSO token (consumed when active)
//	hmac_key          user_id (credential empty)
//
// Unknown fields are rejected with 400.
type VerifyRequest struct {
	// Kind is one of the Kind* constants except oauth2 and session (use PathIntrospect).
	Kind Kind `json:"kind"`
	// Credential is the raw secret part of the credential (see above).
	Credential string `json:"credential,omitempty"`
	// UserID is the user-id for user_api_key and hmac_key.
	UserID string `json:"user_id,omitempty"`
	// DeveloperID is the optional developer-id for user_api_key; when given it must match the user's.
	DeveloperID string `json:"developer_id,omitempty"`
	// PublicKey is the application public key a public_key_token must be bound to.
	PublicKey string `json:"public_key,omitempty"`
	// Domain is the store domain for domain_key.
	Domain string `json:"domain,omitempty"`
}

// VerifyResponse is the answer of POST [PathVerify], one shape for every kind.
// A well-formed request always gets 200 with this body; "active": false says no.
type VerifyResponse struct {
	// Active is true when the credential is valid now.
	Active bool `json:"active"`
	// Kind echoes the request kind.
	Kind Kind `json:"kind"`
	// Reason is one of the Reason* codes when Active is false.
	Reason string `json:"reason,omitempty"`
	// Subject identifies the principal: API key id, user-id, public key
	// (application id), domain, or the SSO user-id.
	Subject string `json:"subject,omitempty"`
	// Tenant is the tenant the credential belongs to.
	Tenant string `json:"tenant,omitempty"`
	// Scopes are the granted scopes.
	Scopes []string `json:"scopes,omitempty"`
	// ExpiresAt is the credential's expiry, unix seconds; 0 when it never expires.
	ExpiresAt int64 `json:"expires_at,omitempty"`
	// CacheTTL is how many seconds the caller may cache this answer (active or
	// not); never past ExpiresAt; 0 means do not cache.
	CacheTTL int64 `json:"cache_ttl"`
	// Revoked is true when the credential (or its owner) was revoked.
	Revoked bool `json:"revoked,omitempty"`
	// Digest is [Digest] of the raw credential, as the revocation feed will name it.
	Digest string `json:"digest,omitempty"`
	// DeveloperID is the user's developer-id (user_api_key, hmac_key).
	DeveloperID string `json:"developer_id,omitempty"`
	// AppID is the application (public key) a public_key or public_key_token belongs to.
	AppID string `json:"app_id,omitempty"`
	// HMACKey is the user's HMAC key material (hmac_key only). It is returned
	// only on this internal endpoint so the plugin can verify signatures locally.
	HMACKey string `json:"hmac_key,omitempty"`
}

// IntrospectResponse is the RFC 7662 answer of POST [PathIntrospect], with
// credgate extensions (tenant, access_type, visitorcode, customercode,
// reason, cache_ttl). Inactive answers carry only active, reason and cache_ttl.
type IntrospectResponse struct {
	// Active is true when the token is valid now.
	Active bool `json:"active"`
	// Scope is the space-separated scope list (RFC 7662).
	Scope string `json:"scope,omitempty"`
	// ClientID is the OAuth2 client (oauth2 tokens).
	ClientID string `json:"client_id,omitempty"`
	// Sub is the subject: client_id for oauth2, user-id for session tokens.
	Sub string `json:"sub,omitempty"`
	// Username is the session's username (session tokens).
	Username string `json:"username,omitempty"`
	// Exp is the expiry, unix seconds; for session tokens the slid expiry.
	Exp int64 `json:"exp,omitempty"`
	// Iat is the issue time, unix seconds.
	Iat int64 `json:"iat,omitempty"`
	// TokenType is "Bearer" for oauth2 tokens and "session" for session tokens.
	TokenType string `json:"token_type,omitempty"`
	// Kind is oauth2 or session.
	Kind Kind `json:"kind,omitempty"`
	// Tenant is the tenant of the client or user.
	Tenant string `json:"tenant,omitempty"`
	// AccessType is "S2S" or "C2S" (oauth2 tokens).
	AccessType string `json:"access_type,omitempty"`
	// VisitorCode is the visitorcode bound at issuance, if any.
	VisitorCode string `json:"visitorcode,omitempty"`
	// CustomerCode is the customercode bound at issuance, if any.
	CustomerCode string `json:"customercode,omitempty"`
	// DeveloperID is the developer-id the token's OAuth2 client is
	// registered under, when the client has one and that developer is not
	// revoked (oauth2 tokens).
	DeveloperID string `json:"developer_id,omitempty"`
	// Reason is one of the Reason* codes when Active is false.
	Reason string `json:"reason,omitempty"`
	// CacheTTL is how many seconds the caller may cache this answer; never past Exp.
	CacheTTL int64 `json:"cache_ttl"`
}

// Revocation is one entry of the revocation feed.
type Revocation struct {
	// Kind is the credential kind.
	Kind Kind `json:"kind"`
	// Digest is [Digest] of the raw revoked or deleted credential.
	Digest string `json:"digest"`
	// At is the revocation time, unix seconds.
	At int64 `json:"at"`
}

// Query parameters of GET [PathRevocations].
const (
	// RevocationsSince is the cursor: the Next of the previous answer.
	RevocationsSince = "since"
	// RevocationsLimit bounds the entries of one answer (1..1000, default 500).
	RevocationsLimit = "limit"
	// RevocationsWait, in whole seconds, asks for a long-poll: when nothing
	// follows since, the token cluster holds the call until a revocation
	// arrives or that many seconds pass (capped by the cluster, 30 s by
	// default), then answers as usual. Without it the call answers at once.
	RevocationsWait = "wait"
)

// MaxRevocationsWait is the longest wait a caller may ask for, in seconds.
const MaxRevocationsWait = 300

// RevocationsResponse is the answer of GET [PathRevocations].
//
// since omitted: no entries, Next is the current head (start following from
// now). since=N: the entries after cursor N, at most limit (default 500,
// max 1000). Poll again with since=Next; Next never goes backwards, except
// when the feed was reset, which Behind announces.
//
// A cursor is opaque: pass back what Next held. Today it is
// "<epoch>:<seq>:<tag>": the epoch is made with the token cluster's feed,
// and a feed made again (a store reset or restore, the feed lost in a
// failover) has another, so that a cursor of the old feed is never mistaken
// for a position of the new one, which reuses the sequence numbers; the tag
// names the entry at seq (empty where the feed holds none: 0, or compacted),
// so that an entry a failover lost, whose sequence number the next append
// reuses in the same epoch, is told from that one. A cursor without a tag
// ("<epoch>:<seq>", from a token cluster of an earlier release) is answered
// Behind once.
//
// The feed is compacted (by age and by count, see the token cluster's
// --revocation-max-age and --revocation-max-entries). When entries after N
// were compacted away, N is of another epoch (the feed was made again), N
// is past the head (the feed went back), N's tag is not the entry's at its
// sequence or N has no tag, the answer has Behind true, no
// entries and Next at the head: the caller may have missed revocations and
// must drop every answer it cached before following again from Next. An
// empty page never means that.
type RevocationsResponse struct {
	// Revocations lists entries in the order they happened.
	Revocations []Revocation `json:"revocations"`
	// Next is the opaque cursor to pass as since on the next poll.
	Next string `json:"next"`
	// Behind is true when the caller's cursor fell behind the compacted part
	// of the feed, or is of another epoch, past the head or names an entry
	// the feed no longer has (the feed was reset, or lost its newest
	// entries): start afresh from Next.
	Behind bool `json:"behind,omitempty"`
	// CacheTTL is how long the caller may wait before polling again, seconds.
	CacheTTL int64 `json:"cache_ttl"`
}
