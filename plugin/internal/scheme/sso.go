// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// SSOName is the configuration name of the one-time SSO token scheme.
const SSOName = "sso"

// SSO verifies the one-time `sso-token` query parameter of a login link. The
// token cluster consumes the token on its first successful verification, so
// the lookup is never cached.
type SSO struct {
	n nouns
}

// SSOOptions configures the SSO verifier. It has no settings yet; the route
// match says where login links land.
type SSOOptions struct{}

// NewSSO returns the verifier.
func NewSSO(SSOOptions) (*SSO, error) {
	return &SSO{n: nouns{scheme: SSOName, noun: "sign-in link"}}, nil
}

// Name implements authn.Verifier.
func (*SSO) Name() string { return SSOName }

// Present implements authn.Verifier: the sso-token query parameter is sent.
func (*SSO) Present(r authn.Request) bool {
	_, ok := r.Query(tokenapi.SSOQueryParam)
	return ok
}

// Strip implements authn.Verifier.
func (*SSO) Strip() authn.Locations { return authn.Locations{Query: []string{tokenapi.SSOQueryParam}} }

// Verify implements authn.Verifier; SSO tokens need the token cluster.
func (*SSO) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(SSOName)
}

// Prepare implements authn.RemoteVerifier. NoCache: the answer of
// a single-use token must never be served twice.
func (v *SSO) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	tok, ok := r.Query(tokenapi.SSOQueryParam)
	if !ok {
		return nil, v.n.missing("sign-in token")
	}
	if good, why := credentialValue(tok); !good {
		return nil, v.n.malformed(why)
	}
	l := verification(r, SSOName, tokenapi.VerifyRequest{Kind: tokenapi.KindSSO, Credential: tok}, tok)
	l.NoCache = true
	return l, nil
}

// Complete implements authn.RemoteVerifier.
func (v *SSO) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	tok, ok := r.Query(tokenapi.SSOQueryParam)
	if !ok || tok == "" {
		return nil, v.n.missing("sign-in token")
	}
	if d := v.n.checkAnswer(a, tokenapi.KindSSO, now); d != nil {
		return nil, d
	}
	if a.Subject == "" {
		return nil, v.n.inactive(tokenapi.ReasonUnknown)
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: a.Subject, Tenant: a.Tenant, Scheme: SSOName,
		TokenType: tokenapi.KindSSO}), nil
}
