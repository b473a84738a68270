// SPDX-License-Identifier: Apache-2.0

package tokenapi

import (
	"crypto/sha256"
	"encoding/hex"
)

// Verification endpoints (internal; called by the plugin).
const (
	// PathIntrospect is the RFC 7662 introspection endpoint (POST, form).
	PathIntrospect = "/introspect"
	// PathVerify is the JSON verification endpoint for non-OAuth credentials (POST).
	PathVerify = "/v1/verify"
	// PathRevocations is the revocation feed (GET, ?since=<cursor>&limit=<n>&wait=<seconds>).
	PathRevocations = "/v1/revocations"
	// PathJWKS publishes the public keys of the JWT signing keys (GET, RFC 7517).
	PathJWKS = "/.well-known/jwks.json"
	// PathJWKSWithSecrets is PathJWKS with the HS256 secrets too, for the
	// plugin only: the verify credential is required (GET).
	PathJWKSWithSecrets = "/v1/jwks"
	// PathHealth answers 200 "ok" when the service is ready: the older name
	// of the token cluster's /readyz, kept for existing checks (/livez is
	// the liveness endpoint).
	PathHealth = "/healthz"
)

// Issuance endpoints (public; Envoy routes them to the token cluster).
const (
	// PathOAuthToken is the OAuth 2.0 client-credentials token endpoint (POST, form).
	PathOAuthToken = "/token"
	// PathSessionToken issues (POST) session tokens; DELETE PathSessionToken+"/{token}" ends one.
	PathSessionToken = "/v2/token"
	// PathPublicKeyToken exchanges a public key and a timestamped secret digest for a token (POST),
	// on Marketcloud's documented path (the API lives under /v0/).
	PathPublicKeyToken = "/v0/tokens"
	// PathPublicKeyTokenAlias serves PathPublicKeyToken on the path earlier releases used.
	PathPublicKeyTokenAlias = "/tokens"
	// PathPartnerToken is the partner Generate Token endpoint (POST): partner credentials → HS256 JWT.
	PathPartnerToken = "/v1/partners/token"
	// PathCustomerLogin is the customer login endpoint (POST): email and password → HS256 JWT.
	PathCustomerLogin = "/v1/customers/login"
	// PathSSO issues a one-time login URL for a user (POST).
	PathSSO = "/v1/sso"
)

// PathAdmin is the prefix of the admin API: PathAdmin+"/{collection}[/{id}[/rotate]]".
const PathAdmin = "/admin/v1"

// SSOQueryParam is the query parameter that carries a one-time SSO token in a login URL.
const SSOQueryParam = "sso-token"

// Kind names a credential kind. It appears in [VerifyRequest.Kind],
// [VerifyResponse.Kind] and [Revocation.Kind].
type Kind = string

// Credential kinds.
const (
	// KindOAuth2 is an opaque OAuth2 access token from PathOAuthToken (introspected).
	KindOAuth2 Kind = "oauth2"
	// KindSession is a session token from PathSessionToken, 15 minutes idle expiry (introspected).
	KindSession Kind = "session"
	// KindAPIKey is a tenant API key.
	KindAPIKey Kind = "api_key"
	// KindUserAPIKey is a user-id + user-api-key pair, optionally with a developer-id.
	KindUserAPIKey Kind = "user_api_key"
	// KindPublicKey is an application public key on its own.
	KindPublicKey Kind = "public_key"
	// KindPublicKeyToken is a token from PathPublicKeyToken, presented with its public key.
	KindPublicKeyToken Kind = "public_key_token"
	// KindDomainKey is a store domain with its domain key.
	KindDomainKey Kind = "domain_key"
	// KindSSO is a one-time SSO token; the first successful verification consumes it.
	KindSSO Kind = "sso"
	// KindHMACKey asks for the HMAC key material of a user-id.
	KindHMACKey Kind = "hmac_key"
)

// Reason codes of an inactive answer ([VerifyResponse.Reason], [IntrospectResponse.Reason]).
const (
	// ReasonUnknown: no such credential.
	ReasonUnknown = "unknown"
	// ReasonRevoked: the credential, or its tenant, application, client or user, was revoked.
	ReasonRevoked = "revoked"
	// ReasonExpired: the credential's expiry has passed.
	ReasonExpired = "expired"
	// ReasonMismatch: the credential exists but does not match the other parts
	// (user-id, developer-id, public key, domain).
	ReasonMismatch = "mismatch"
	// ReasonConsumed: a single-use credential was already used.
	ReasonConsumed = "consumed"
)

// Digest returns the credential digest used by the revocation feed and
// returned in [VerifyResponse.Digest]: lowercase hex of SHA-256 over the raw
// credential bytes, exactly as received, without trimming or encoding.
//
// The raw credential per kind:
//
//	oauth2, session, public_key_token, sso  the token string
//	api_key                                  the API key
//	user_api_key                             the user-api-key value (not the user-id)
//	public_key                               the public key
//	domain_key                               the domain key (not the domain)
//	hmac_key                                 the user-id
//
// The plugin keys its cache so that it can find entries by this digest.
func Digest(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
