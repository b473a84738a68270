// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// JWTKey is one HS256 signing key, selected by the token's `kid` header.
type JWTKey struct {
	ID     string
	Secret []byte
}

// JWTOptions configures the JWT verifier.
type JWTOptions struct {
	// Keys are the accepted signing keys. A token with a `kid` must name one of
	// them; a token without `kid` is accepted only when exactly one key exists.
	Keys []JWTKey
	// Issuer, when set, must equal the `iss` claim.
	Issuer string
	// Audience, when set, must appear in the `aud` claim.
	Audience string
	// Leeway is the clock skew tolerated on `exp`, `nbf` and `iat`.
	Leeway time.Duration
	// TenantClaim names the claim carrying the tenant (default "tenant").
	TenantClaim string
	// ScopeClaim names the claim carrying the scopes (default "scope"): a
	// space-separated string or an array of strings.
	ScopeClaim string
	// Types are the accepted values of the `typ` header, compared without
	// case, when a token has one (default: "JWT").
	Types []string
}

// minJWTSecret is the shortest HS256 secret accepted (RFC 7518 §3.2: a key of
// the same size as the hash output or larger).
const minJWTSecret = 32

// JWT verifies HS256 JSON Web Tokens sent as `Authorization: Bearer <jwt>`.
type JWT struct {
	keys   map[string][]byte
	single []byte
	opts   JWTOptions
	popts  []jwt.ParserOption
	cache  *jwtCache
}

// NewJWT validates opts and returns the verifier.
func NewJWT(opts JWTOptions) (*JWT, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("at least one key is required")
	}
	v := &JWT{keys: make(map[string][]byte, len(opts.Keys)), opts: opts, cache: newJWTCache()}
	for i, k := range opts.Keys {
		if len(k.Secret) < minJWTSecret {
			return nil, fmt.Errorf("keys[%d]: secret must be at least %d bytes for HS256", i, minJWTSecret)
		}
		if _, dup := v.keys[k.ID]; dup {
			return nil, fmt.Errorf("keys[%d]: duplicate kid %q", i, k.ID)
		}
		v.keys[k.ID] = k.Secret
	}
	if len(opts.Keys) == 1 {
		v.single = opts.Keys[0].Secret
	}
	if v.opts.TenantClaim == "" {
		v.opts.TenantClaim = "tenant"
	}
	if v.opts.ScopeClaim == "" {
		v.opts.ScopeClaim = "scope"
	}
	if len(v.opts.Types) == 0 {
		v.opts.Types = []string{"JWT"}
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	v.popts = popts
	return v, nil
}

// Name implements authn.Verifier.
func (*JWT) Name() string { return "jwt" }

// Present implements authn.Verifier: a Bearer header whose token looks like a
// compact JWS.
func (*JWT) Present(r authn.Request) bool {
	tok, ok, err := bearerToken(r)
	return ok && (err != nil || looksLikeJWS(tok))
}

// Strip implements authn.Verifier.
func (*JWT) Strip() authn.Locations { return authn.Locations{Headers: []string{"authorization"}} }

// Verify implements authn.Verifier.
func (v *JWT) Verify(r authn.Request, now time.Time) (*authn.Identity, *authn.DenyError) {
	tok, ok, deny := bearerToken(r)
	if !ok {
		return nil, authn.Deny(authn.ErrMissing, "jwt_missing", "A Bearer token is required.")
	}
	if deny != nil {
		return nil, deny
	}
	key := tokenKey(tok)
	if id, ok := v.cache.get(key, now, v.opts.Leeway); ok {
		return id, nil
	}
	claims := jwt.MapClaims{}
	// The clock is per call, so the parser is too.
	opts := append(v.popts[:len(v.popts):len(v.popts)], jwt.WithTimeFunc(func() time.Time { return now }))
	_, err := jwt.NewParser(opts...).ParseWithClaims(tok, claims, v.keyFunc)
	if err != nil {
		return nil, jwtDenial(err)
	}
	id, deny := v.identity(claims)
	if deny == nil {
		exp, _ := claims.GetExpirationTime() // required by the parser
		var nbf time.Time
		if n, err := claims.GetNotBefore(); err == nil && n != nil {
			nbf = n.Time
		}
		v.cache.put(key, id, exp.Time, nbf)
	}
	return id, deny
}

// errJWTHeader marks a token refused for its header parameters.
var errJWTHeader = errors.New("jwt header")

func (v *JWT) keyFunc(t *jwt.Token) (any, error) {
	// RFC 7515 §4.1.11: a recipient must refuse a token whose crit names
	// extensions it does not understand; this verifier understands none.
	if _, crit := t.Header["crit"]; crit {
		return nil, fmt.Errorf("%w: crit is not supported", errJWTHeader)
	}
	if typ, has := t.Header["typ"]; has {
		s, isString := typ.(string)
		if !isString || !containsFold(v.opts.Types, s) {
			return nil, fmt.Errorf("%w: typ %q is not accepted", errJWTHeader, truncate(fmt.Sprint(typ), 32))
		}
	}
	kid, hasKid := t.Header["kid"]
	if !hasKid {
		if v.single == nil {
			return nil, errors.New("token has no kid and several keys are configured")
		}
		return v.single, nil
	}
	id, isString := kid.(string)
	if !isString {
		return nil, errors.New("kid is not a string")
	}
	key, found := v.keys[id]
	if !found {
		return nil, fmt.Errorf("unknown kid %q", truncate(id, 32))
	}
	return key, nil
}

func jwtDenial(err error) *authn.DenyError {
	switch {
	case errors.Is(err, errJWTHeader):
		return authn.Deny(authn.ErrInvalid, "jwt_header", "The access token's header is not accepted.").WithDetail("%v", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return authn.Deny(authn.ErrExpired, "jwt_expired", "The access token expired.").WithDetail("%v", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return authn.Deny(authn.ErrInvalid, "jwt_not_yet_valid", "The access token is not valid yet.").WithDetail("%v", err)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return authn.Deny(authn.ErrMalformed, "jwt_malformed", "The access token is malformed.").WithDetail("%v", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return authn.Deny(authn.ErrInvalid, "jwt_signature", "The access token signature is invalid.").WithDetail("%v", err)
	default:
		return authn.Deny(authn.ErrInvalid, "jwt_invalid", "The access token is invalid.").WithDetail("%v", err)
	}
}

func (v *JWT) identity(claims jwt.MapClaims) (*authn.Identity, *authn.DenyError) {
	sub, err := claims.GetSubject()
	if err != nil || sub == "" {
		return nil, authn.Deny(authn.ErrInvalid, "jwt_no_subject", "The access token has no subject.")
	}
	id := &authn.Identity{Subject: sub, Scheme: "jwt", TokenType: "jwt"}
	if t, ok := claims[v.opts.TenantClaim].(string); ok {
		id.Tenant = t
	}
	switch s := claims[v.opts.ScopeClaim].(type) {
	case string:
		id.Scopes = strings.Fields(s)
	case []any:
		for _, e := range s {
			if str, ok := e.(string); ok {
				id.Scopes = append(id.Scopes, str)
			}
		}
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}
