// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// SessionName is the configuration name of the session token scheme.
const SessionName = "session_token"

// AccessTokenParam is the header and query parameter carrying a session token.
const AccessTokenParam = "access-token"

// DefaultSessionRefresh is how often, at most, a cached session is refreshed
// at the token cluster to slide its idle expiry.
const DefaultSessionRefresh = time.Minute

// SessionOptions configures the session token verifier.
type SessionOptions struct {
	// Refresh is how often, at most, the filter repeats the introspection of
	// a cached session so that the token cluster slides its idle expiry
	// (default DefaultSessionRefresh). It must stay well below the 15-minute
	// idle expiry.
	Refresh time.Duration
}

// Session verifies `access-token` session tokens (header or query parameter)
// by introspection; each introspection slides the session's idle expiry.
type Session struct {
	opts SessionOptions
	n    nouns
}

// NewSession validates opts and returns the verifier.
func NewSession(opts SessionOptions) (*Session, error) {
	if opts.Refresh == 0 {
		opts.Refresh = DefaultSessionRefresh
	}
	if opts.Refresh < time.Second || opts.Refresh > 10*time.Minute {
		return nil, errors.New("the refresh interval must be from 1 second to 10 minutes")
	}
	return &Session{opts: opts, n: nouns{scheme: SessionName, noun: "session token"}}, nil
}

// Name implements authn.Verifier.
func (*Session) Name() string { return SessionName }

// Present implements authn.Verifier: an access-token header or query parameter.
func (*Session) Present(r authn.Request) bool {
	_, ok := headerOrQuery(r, AccessTokenParam)
	return ok
}

// Strip implements authn.Verifier.
func (*Session) Strip() authn.Locations {
	return authn.Locations{Headers: []string{AccessTokenParam}, Query: []string{AccessTokenParam}}
}

// Verify implements authn.Verifier; sessions need the token cluster.
func (*Session) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(SessionName)
}

// Prepare implements authn.RemoteVerifier: introspection with the hint
// "session", refreshed at most every Refresh while cached.
func (v *Session) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	tok, ok := headerOrQuery(r, AccessTokenParam)
	if !ok {
		return nil, v.n.missing("session token")
	}
	if good, why := credentialValue(tok); !good {
		return nil, v.n.malformed(why)
	}
	l := introspection(r, SessionName, tok, tokenapi.KindSession)
	l.Refresh = v.opts.Refresh
	return l, nil
}

// Complete implements authn.RemoteVerifier.
func (v *Session) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	if d := v.n.checkAnswer(a, tokenapi.KindSession, now); d != nil {
		return nil, d
	}
	if a.Subject == "" {
		return nil, authn.Deny(authn.ErrInvalid, "session_token_no_subject", "The session token is invalid.")
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: a.Subject, Tenant: a.Tenant, Scheme: SessionName,
		TokenType: tokenapi.KindSession}), nil
}
