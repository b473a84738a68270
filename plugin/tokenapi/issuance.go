// SPDX-License-Identifier: Apache-2.0

package tokenapi

// OAuthTokenResponse is the success body of POST [PathOAuthToken]. The token
// appears under both "access-token" and "access_token", as the seed API documents.
type OAuthTokenResponse struct {
	AccessTokenDash string `json:"access-token"`
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
}

// OAuthError is the RFC 6749 §5.2 error body used by the OAuth, session,
// JWT, SSO, verification and admin endpoints.
type OAuthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// SessionTokenRequest is the JSON body of POST [PathSessionToken]; all fields are required.
type SessionTokenRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Domain   string `json:"domain"`
}

// SessionToken describes an issued session token.
type SessionToken struct {
	// ID is the user-id the session belongs to.
	ID string `json:"id"`
	// Token is the opaque session token.
	Token string `json:"token"`
	// Expire is the idle expiry in minutes (15).
	Expire int `json:"expire"`
	// Username is the user's login name.
	Username string `json:"username"`
	// Time is the issue time, RFC 3339.
	Time string `json:"time"`
	// Domain is the user's domain.
	Domain string `json:"domain"`
	// Tenant is the user's tenant.
	Tenant string `json:"tenant,omitempty"`
}

// SessionTokenResponse is the success body of POST [PathSessionToken].
type SessionTokenResponse struct {
	Token SessionToken `json:"token"`
}

// PublicKeyTokenRequest is the JSON body of POST [PathPublicKeyToken].
// SecretKey is lowercase hex(sha256(secret_key + timestamp)), with the
// timestamp as the decimal string sent in Timestamp (unix milliseconds).
type PublicKeyTokenRequest struct {
	PublicKey string `json:"publicKey"`
	SecretKey string `json:"secretKey"`
	Timestamp int64  `json:"timestamp"`
}

// PublicKeyTokenResponse is the body of POST [PathPublicKeyToken], success or failure.
type PublicKeyTokenResponse struct {
	Status    bool            `json:"status"`
	Token     string          `json:"token,omitempty"`
	ExpiresIn int64           `json:"expires_in,omitempty"`
	Errors    []EnvelopeError `json:"errors,omitempty"`
}

// EnvelopeError is one error of a failed [PublicKeyTokenResponse].
type EnvelopeError struct {
	Code    int    `json:"code"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// PartnerTokenRequest is the JSON body of POST [PathPartnerToken].
type PartnerTokenRequest struct {
	PartnerID     string `json:"partner_id"`
	PartnerSecret string `json:"partner_secret"`
}

// CustomerLoginRequest is the JSON body of POST [PathCustomerLogin].
type CustomerLoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// JWTResponse is the success body of the JWT issuance endpoints. The token is
// an HS256 JWT with header "kid" and claims sub (partner or customer id),
// tenant, scope (space-separated string), kind ("partner" or "customer"),
// iss, iat, nbf and exp.
type JWTResponse struct {
	Token     string `json:"token"`
	TokenType string `json:"token_type"`
	ExpiresIn int64  `json:"expires_in"`
}

// SSORequest is the JSON body of POST [PathSSO]: the user authenticates with
// user-id and user-api-key; RedirectURL is the login page the link points to.
type SSORequest struct {
	UserID      string `json:"user_id"`
	UserAPIKey  string `json:"user_api_key"`
	RedirectURL string `json:"redirect_url"`
}

// SSOResponse is the success body of POST [PathSSO].
type SSOResponse struct {
	// URL is RedirectURL with ?sso-token=<token> appended.
	URL string `json:"url"`
	// SSOToken is the one-time token.
	SSOToken  string `json:"sso_token"`
	ExpiresIn int64  `json:"expires_in"`
}
