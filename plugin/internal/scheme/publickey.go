// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// Configuration names of the application public key schemes.
const (
	PublicKeyName      = "public_key"
	PublicKeyTokenName = "public_key_token"
)

// Public messages of the public key schemes, as the Marketcloud API words them.
const (
	msgAuthorizationMissing   = "Authorization is missing"
	msgAuthorizationMalformed = "Authorization is malformed"
	msgTokenMissing           = "Authorization token is missing"
	msgTokenOtherApp          = "Authorization token does not belong to this application"
)

// PublicKeyOptions configures the public_key verifier (public routes).
type PublicKeyOptions struct {
	// DeferTokens leaves `<public-key>:<token>` values to public_key_token;
	// set it when the route also accepts that scheme. Otherwise only the
	// public key part of such a value is verified.
	DeferTokens bool
	// ClaimMissing makes a request without an Authorization header this
	// scheme's to answer ("Authorization is missing"); set it when the scheme
	// is the route's last, so no other scheme loses a request.
	ClaimMissing bool
}

// PublicKeyTokenOptions configures the public_key_token verifier (restricted routes).
type PublicKeyTokenOptions struct {
	// DeferPublic leaves a lone public key to public_key; set it when the
	// route also accepts that scheme. Otherwise a lone key is refused (401).
	DeferPublic bool
	// ClaimMissing is as in PublicKeyOptions.
	ClaimMissing bool
}

// PublicKey verifies `Authorization: <public-key>` at the token cluster.
type PublicKey struct {
	opts PublicKeyOptions
	n    nouns
}

// PublicKeyToken verifies `Authorization: <public-key>:<token>`: the token at
// the token cluster, bound to the public key's application.
type PublicKeyToken struct {
	opts PublicKeyTokenOptions
	n    nouns
}

// NewPublicKey returns the public_key verifier.
func NewPublicKey(opts PublicKeyOptions) (*PublicKey, error) {
	return &PublicKey{opts: opts, n: nouns{scheme: PublicKeyName, noun: "public key"}}, nil
}

// NewPublicKeyToken returns the public_key_token verifier.
func NewPublicKeyToken(opts PublicKeyTokenOptions) (*PublicKeyToken, error) {
	return &PublicKeyToken{opts: opts, n: nouns{scheme: PublicKeyTokenName, noun: "authorization token"}}, nil
}

// publicKeyAuth is a parsed public-key Authorization value.
type publicKeyAuth struct {
	key, token string
	hasToken   bool
}

// parsePublicKeyAuth parses `<public-key>` or `<public-key>:<token>`, split
// at the first colon. ours is false for values with a space (other
// schemes such as Bearer and Basic); ok is false for malformed values.
func parsePublicKeyAuth(h string) (p publicKeyAuth, ours, ok bool) {
	if strings.ContainsAny(h, " \t") {
		return p, false, false
	}
	if len(h) > authn.MaxHeaderValue || h == "" {
		return p, true, false
	}
	p.key, p.token, p.hasToken = strings.Cut(h, ":")
	if good, _ := credentialValue(p.key); !good {
		return p, true, false
	}
	if p.hasToken {
		if good, _ := credentialValue(p.token); !good {
			return p, true, false
		}
	}
	return p, true, true
}

// publicKeyPresent is the Present of both schemes: want tells, for a value
// of this shape, whether the scheme takes it.
func publicKeyPresent(r authn.Request, claimMissing bool, want func(p publicKeyAuth, ok bool) bool) bool {
	h, found := r.Header("authorization")
	if !found {
		return claimMissing
	}
	p, ours, ok := parsePublicKeyAuth(h)
	return ours && want(p, ok)
}

// readPublicKeyAuth reads the header for Prepare and Complete.
func readPublicKeyAuth(r authn.Request, n nouns) (publicKeyAuth, *authn.DenyError) {
	h, found := r.Header("authorization")
	if !found {
		return publicKeyAuth{}, authn.Deny(authn.ErrMissing, n.scheme+"_missing", msgAuthorizationMissing)
	}
	p, ours, ok := parsePublicKeyAuth(h)
	if !ours || !ok {
		return p, authn.Deny(authn.ErrMalformed, n.scheme+"_malformed", msgAuthorizationMalformed)
	}
	return p, nil
}

// Name implements authn.Verifier.
func (*PublicKey) Name() string { return PublicKeyName }

// Present implements authn.Verifier.
func (v *PublicKey) Present(r authn.Request) bool {
	return publicKeyPresent(r, v.opts.ClaimMissing, func(p publicKeyAuth, ok bool) bool {
		return !ok || !p.hasToken || !v.opts.DeferTokens
	})
}

// Strip implements authn.Verifier.
func (*PublicKey) Strip() authn.Locations { return authn.Locations{Headers: []string{"authorization"}} }

// Verify implements authn.Verifier; public keys need the token cluster.
func (*PublicKey) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(PublicKeyName)
}

// Prepare implements authn.RemoteVerifier.
func (v *PublicKey) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	p, d := readPublicKeyAuth(r, v.n)
	if d != nil {
		return nil, d
	}
	req := tokenapi.VerifyRequest{Kind: tokenapi.KindPublicKey, Credential: p.key}
	return verification(r, PublicKeyName, req, p.key, p.key), nil
}

// Complete implements authn.RemoteVerifier.
func (v *PublicKey) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	if _, d := readPublicKeyAuth(r, v.n); d != nil {
		return nil, d
	}
	if d := v.n.checkAnswer(a, tokenapi.KindPublicKey, now); d != nil {
		return nil, d
	}
	app := a.AppID
	if app == "" {
		app = a.Subject
	}
	if app == "" {
		return nil, v.n.inactive(tokenapi.ReasonUnknown)
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: app, Tenant: a.Tenant, Scheme: PublicKeyName,
		TokenType: tokenapi.KindPublicKey}), nil
}

// Name implements authn.Verifier.
func (*PublicKeyToken) Name() string { return PublicKeyTokenName }

// Present implements authn.Verifier.
func (v *PublicKeyToken) Present(r authn.Request) bool {
	return publicKeyPresent(r, v.opts.ClaimMissing, func(p publicKeyAuth, ok bool) bool {
		return !ok || p.hasToken || !v.opts.DeferPublic
	})
}

// Strip implements authn.Verifier.
func (*PublicKeyToken) Strip() authn.Locations {
	return authn.Locations{Headers: []string{"authorization"}}
}

// Verify implements authn.Verifier; tokens need the token cluster.
func (*PublicKeyToken) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(PublicKeyTokenName)
}

// Prepare implements authn.RemoteVerifier: a lone public key is refused.
func (v *PublicKeyToken) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	p, d := v.read(r)
	if d != nil {
		return nil, d
	}
	req := tokenapi.VerifyRequest{Kind: tokenapi.KindPublicKeyToken, PublicKey: p.key, Credential: p.token}
	return verification(r, PublicKeyTokenName, req, p.token, p.key, p.token), nil
}

// Complete implements authn.RemoteVerifier: the token must be active and
// belong to the public key's application.
func (v *PublicKeyToken) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	p, d := v.read(r)
	if d != nil {
		return nil, d
	}
	if d := v.n.checkAnswer(a, tokenapi.KindPublicKeyToken, now); d != nil {
		return nil, d
	}
	if !authn.SecretEqual(a.AppID, p.key) {
		return nil, authn.Deny(authn.ErrInvalid, "public_key_token_other_app", msgTokenOtherApp)
	}
	if a.Subject == "" {
		return nil, v.n.inactive(tokenapi.ReasonUnknown)
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: a.Subject, Tenant: a.Tenant, Scheme: PublicKeyTokenName,
		TokenType: tokenapi.KindPublicKeyToken}), nil
}

func (v *PublicKeyToken) read(r authn.Request) (publicKeyAuth, *authn.DenyError) {
	p, d := readPublicKeyAuth(r, v.n)
	if d == nil && !p.hasToken {
		d = authn.Deny(authn.ErrMissing, "public_key_token_missing_token", msgTokenMissing)
	}
	return p, d
}
