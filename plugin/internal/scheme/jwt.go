// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/jose"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// JWTProvider is one issuer of JSON Web Tokens and the keys that verify them,
// as a jwt_authn provider is.
type JWTProvider struct {
	// Name identifies the provider in configuration, logs and metrics.
	Name string
	// Issuer, when set, must equal the `iss` claim; with several providers,
	// it selects the provider.
	Issuer string
	// Audiences, when set, must share one value with the `aud` claim.
	Audiences []string
	// Keys are the provider's local keys (nil when the keys are remote).
	Keys *jose.Set
	// Remote is the provider's remote key set (nil when the keys are local).
	Remote *JWKSSource
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
	// ClaimHeaders copies claims into request headers for the upstream.
	ClaimHeaders []ClaimHeader
}

// ClaimHeader copies one claim into one request header (jwt_authn's
// claim_to_headers). Strings go as they are, numbers and booleans as JSON
// text, arrays of those joined with ","; other values are not copied.
type ClaimHeader struct {
	Claim  string
	Header string
}

// JWTOptions configures the JWT verifier.
type JWTOptions struct {
	Providers []JWTProvider
}

// JWT verifies JSON Web Tokens sent as `Authorization: Bearer <jwt>`, signed
// with HS256, RS256, ES256 or EdDSA by one of the configured providers.
type JWT struct {
	providers []JWTProvider
	cache     *jwtCache
}

// NewJWT validates opts and returns the verifier.
func NewJWT(opts JWTOptions) (*JWT, error) {
	if len(opts.Providers) == 0 {
		return nil, errors.New("at least one provider is required")
	}
	v := &JWT{cache: newJWTCache()}
	for i, p := range opts.Providers {
		if (p.Keys == nil) == (p.Remote == nil) {
			return nil, textf.Errorf("providers[%d]: exactly one of local keys and a remote key set is required", i)
		}
		if p.Issuer == "" && len(opts.Providers) > 1 {
			return nil, textf.Errorf("providers[%d]: an issuer is required when there are several providers", i)
		}
		for _, o := range opts.Providers[:i] {
			if o.Issuer == p.Issuer {
				return nil, textf.Errorf("providers[%d]: issuer %q is already provider %q's", i, p.Issuer, o.Name)
			}
		}
		if p.TenantClaim == "" {
			p.TenantClaim = "tenant"
		}
		if p.ScopeClaim == "" {
			p.ScopeClaim = "scope"
		}
		if len(p.Types) == 0 {
			p.Types = []string{"JWT"}
		}
		v.providers = append(v.providers, p)
	}
	return v, nil
}

// Sources lists the remote key sets the filter must keep fetched.
func (v *JWT) Sources() []*JWKSSource {
	var out []*JWKSSource
	for _, p := range v.providers {
		if p.Remote != nil {
			out = append(out, p.Remote)
		}
	}
	return out
}

// ClaimHeaders lists every header a provider may set, so that client-sent
// copies are removed from every request.
func (v *JWT) ClaimHeaders() []string {
	var out []string
	for _, p := range v.providers {
		for _, c := range p.ClaimHeaders {
			out = appendUnique(out, c.Header)
		}
	}
	return out
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
func (v *JWT) Verify(r authn.Request, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	tok, ok, deny := bearerToken(r)
	if !ok {
		return nil, authn.Deny(authn.ErrMissing, "jwt_missing", "A Bearer token is required.")
	}
	if deny != nil {
		return nil, deny
	}
	if e := v.cache.get(tok); e != nil {
		p := &v.providers[e.provider]
		if p.keys(now).Has(e.key) {
			if err := e.times.Check(now, p.Leeway); err != nil {
				return nil, jwtDenial(err)
			}
			return e.identity(r), nil
		}
	}
	t, err := jose.Parse(tok)
	if err != nil {
		return nil, jwtDenial(err)
	}
	pi, deny := v.provider(t)
	if deny != nil {
		return nil, deny
	}
	p := &v.providers[pi]
	if t.HasTyp && !containsFold(p.Types, t.Typ) {
		return nil, jwtDenial(textf.Errorf("%w: typ %q is not accepted", jose.ErrHeader, truncate(t.Typ, 32)))
	}
	keys := p.keys(now)
	if keys == nil {
		return nil, authn.Deny(authn.ErrUnavailable, "jwt_keys_unavailable",
			"The access token cannot be verified right now. Try again later.").
			WithDetail("provider %s has no key set: %v", p.Name, p.Remote.LastError()).WithKeySource(p.Name)
	}
	key, found := keys.Lookup(t.Kid, t.HasKid)
	if !found {
		d := authn.Deny(authn.ErrInvalid, "jwt_unknown_key", "The access token is signed with an unknown key.").
			WithDetail("provider %s has no key %q (kid given: %v)", p.Name, truncate(t.Kid, 32), t.HasKid)
		if p.Remote != nil {
			d = d.WithKeySource(p.Name)
		}
		return nil, d
	}
	if err := t.Verify(key); err != nil {
		return nil, jwtDenial(err)
	}
	times, err := jose.Validate(t.Claims, jose.Expectations{Issuer: p.Issuer, Audiences: p.Audiences, Leeway: p.Leeway}, now)
	if err != nil {
		return nil, jwtDenial(err)
	}
	id, deny := p.identity(t.Claims)
	if deny == nil {
		v.cache.put(tok, jwtEntry{id: *id, provider: pi, key: key, times: times})
	}
	return id, deny
}

func (p *JWTProvider) keys(now time.Time) *jose.Set {
	if p.Remote != nil {
		return p.Remote.Keys(now)
	}
	return p.Keys
}

// provider selects the provider by the token's issuer: the one whose issuer
// equals `iss`, or the only provider when it names no issuer.
func (v *JWT) provider(t *jose.Token) (int, *authn.DenyError) {
	iss := claim(gjson.ParseBytes(t.Claims), "iss")
	for i, p := range v.providers {
		if p.Issuer == "" || (iss.Type == gjson.String && iss.Str == p.Issuer) {
			return i, nil
		}
	}
	return 0, authn.Deny(authn.ErrInvalid, "jwt_issuer", "The access token's issuer is not accepted.").
		WithDetail("iss %q names no provider", truncate(iss.String(), 64))
}

func jwtDenial(err error) *authn.DenyError {
	switch {
	case errors.Is(err, jose.ErrHeader):
		return authn.Deny(authn.ErrInvalid, "jwt_header", "The access token's header is not accepted.").WithDetail("%v", err)
	case errors.Is(err, jose.ErrExpired):
		return authn.Deny(authn.ErrExpired, "jwt_expired", "The access token expired.").WithDetail("%v", err)
	case errors.Is(err, jose.ErrNotYetValid):
		return authn.Deny(authn.ErrInvalid, "jwt_not_yet_valid", "The access token is not valid yet.").WithDetail("%v", err)
	case errors.Is(err, jose.ErrMalformed):
		return authn.Deny(authn.ErrMalformed, "jwt_malformed", "The access token is malformed.").WithDetail("%v", err)
	case errors.Is(err, jose.ErrSignature):
		return authn.Deny(authn.ErrInvalid, "jwt_signature", "The access token signature is invalid.").WithDetail("%v", err)
	default:
		return authn.Deny(authn.ErrInvalid, "jwt_invalid", "The access token is invalid.").WithDetail("%v", err)
	}
}

func (p *JWTProvider) identity(claims []byte) (*authn.Identity, *authn.DenyError) {
	c := gjson.ParseBytes(claims)
	sub := claim(c, "sub")
	if sub.Type != gjson.String || sub.Str == "" {
		return nil, authn.Deny(authn.ErrInvalid, "jwt_no_subject", "The access token has no subject.")
	}
	id := &authn.Identity{Subject: sub.Str, Scheme: "jwt", TokenType: "jwt"}
	if t := claim(c, p.TenantClaim); t.Type == gjson.String {
		id.Tenant = t.Str
	}
	switch s := claim(c, p.ScopeClaim); {
	case s.Type == gjson.String:
		id.Scopes = strings.Fields(s.Str)
	case s.IsArray():
		s.ForEach(func(_, e gjson.Result) bool {
			if e.Type == gjson.String {
				id.Scopes = append(id.Scopes, e.Str)
			}
			return true
		})
	}
	for _, ch := range p.ClaimHeaders {
		if val, ok := claimText(claim(c, ch.Claim)); ok {
			id.Headers = append(id.Headers, [2]string{ch.Header, val})
		}
	}
	return id, nil
}

// claim returns the top-level claim named exactly name: claim names are not
// gjson paths, so "https://example.com/tenant" is one claim and "*" no
// wildcard.
func claim(c gjson.Result, name string) gjson.Result {
	var out gjson.Result
	c.ForEach(func(k, v gjson.Result) bool {
		if k.Str == name {
			out = v
			return false
		}
		return true
	})
	return out
}

// claimText renders a claim for a header; ok is false for objects, null and
// arrays holding anything but strings, numbers and booleans, or a string
// with a comma (the separator would make ["a,b"] read as ["a","b"]).
func claimText(v gjson.Result) (string, bool) {
	switch v.Type {
	case gjson.String:
		return v.Str, true
	case gjson.Number:
		return v.Raw, true
	case gjson.True, gjson.False:
		return strconv.FormatBool(v.Bool()), true
	}
	if !v.IsArray() {
		return "", false
	}
	var parts []string
	ok := true
	v.ForEach(func(_, e gjson.Result) bool {
		s, good := claimText(e)
		ok = good && !e.IsArray() && !strings.Contains(s, ",")
		parts = append(parts, s)
		return ok
	})
	return strings.Join(parts, ","), ok
}

func appendUnique(list []string, s string) []string {
	for _, e := range list {
		if e == s {
			return list
		}
	}
	return append(list, s)
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
