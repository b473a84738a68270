// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// introspect serves POST /introspect (RFC 7662) for oauth2 and session
// tokens. A live session token slides its expiry to now + SessionIdle.
// See https://www.rfc-editor.org/rfc/rfc7662#section-2
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	form, err := decodeForm(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	raw := form.Get("token")
	if raw == "" {
		s.fail(w, r, errBadRequest("missing token"))
		return
	}
	resp, err := s.introspectToken(r.Context(), raw, s.opts.Now())
	if err != nil {
		s.fail(w, r, errUnavailable(err))
		return
	}
	s.verified(resp.Kind, resp.Active, resp.Reason, resp.CacheTTL)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp, false)
}

func (s *Server) introspectToken(ctx context.Context, raw string, now time.Time) (tokenapi.IntrospectResponse, error) {
	digest := secret.Digest(raw)
	// One store read: the token, its client or user, their tenants and the
	// client's developer with its tenant.
	v, err := store.ReadView(ctx, s.opts.Store, store.Read{Now: now, Token: digest, Owners: introspectOwners,
		DeveloperOf: store.OAuthClients})
	if err != nil {
		return tokenapi.IntrospectResponse{}, err
	}
	tok, err := v.Token(ctx)
	if errors.Is(err, store.ErrNotFound) || err == nil && tok.Kind != tokenapi.KindOAuth2 && tok.Kind != tokenapi.KindSession {
		return s.inactiveIntrospection(tokenapi.ReasonUnknown), nil
	}
	if err != nil {
		return tokenapi.IntrospectResponse{}, err
	}
	owner, ownerColl := tok.ClientID, store.OAuthClients
	if tok.Kind == tokenapi.KindSession {
		owner, ownerColl = tok.Subject, store.Users
	}
	rec, found, err := get(ctx, v, ownerColl, owner)
	if err != nil {
		return tokenapi.IntrospectResponse{}, err
	}
	if !found {
		return s.inactiveIntrospection(tokenapi.ReasonRevoked), nil
	}
	if ok, err := ownerActiveIn(ctx, v, rec); err != nil || !ok {
		return s.inactiveIntrospection(tokenapi.ReasonRevoked), err
	}
	// An OAuth2 client may be registered under a developer (Zeamster's
	// developer-id); the answer names it only while that developer is active.
	var developer string
	if tok.Kind == tokenapi.KindOAuth2 && rec.DeveloperID != "" {
		ok, err := recordActive(ctx, v, store.Developers, rec.DeveloperID)
		if err != nil {
			return tokenapi.IntrospectResponse{}, err
		}
		if ok {
			developer = rec.DeveloperID
		}
	}
	maxCache := s.opts.CacheTTL
	if tok.IdleSeconds > 0 {
		// Expiry has one-second resolution: within the same second the slide
		// is already done, so a busy session costs at most one write a second.
		exp := now.Add(time.Duration(tok.IdleSeconds) * time.Second).Unix()
		if exp > tok.ExpiresAt {
			if tok, err = s.opts.Store.TouchToken(ctx, digest, exp, now); errors.Is(err, store.ErrNotFound) {
				return s.inactiveIntrospection(tokenapi.ReasonUnknown), nil
			} else if err != nil {
				return tokenapi.IntrospectResponse{}, err
			}
		}
		maxCache = s.opts.SessionCacheTTL
	}
	resp := tokenapi.IntrospectResponse{Active: true, Scope: strings.Join(tok.Scopes, " "), ClientID: tok.ClientID,
		Sub: tok.Subject, Username: tok.Username, Exp: tok.ExpiresAt, Iat: tok.IssuedAt, TokenType: "Bearer",
		Kind: tok.Kind, Tenant: tok.Tenant, AccessType: tok.AccessType, VisitorCode: tok.VisitorCode,
		CustomerCode: tok.CustomerCode, DeveloperID: developer, CacheTTL: cacheTTL(maxCache, tok.ExpiresAt, now)}
	if tok.Kind == tokenapi.KindSession {
		resp.TokenType = "session"
	}
	return resp, nil
}

// introspectOwners name the owner of each kind that /introspect answers.
var introspectOwners = []store.TokenOwner{{Kind: tokenapi.KindOAuth2, C: store.OAuthClients, Field: store.ByClientID},
	{Kind: tokenapi.KindSession, C: store.Users, Field: store.BySubject}}

func (s *Server) inactiveIntrospection(reason string) tokenapi.IntrospectResponse {
	return tokenapi.IntrospectResponse{Reason: reason, CacheTTL: s.negativeTTL(reason)}
}

// recordActive reports whether record c/id exists and it and its tenant are not revoked.
func recordActive(ctx context.Context, recs records, c store.Collection, id string) (bool, error) {
	rec, err := recs.Get(ctx, c, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return ownerActiveIn(ctx, recs, rec)
}

// cacheTTL is limit, cut so the cache never outlives exp (unix seconds; 0 = no expiry).
func cacheTTL(limit time.Duration, exp int64, now time.Time) int64 {
	ttl := int64(limit / time.Second)
	if exp > 0 {
		ttl = min(ttl, exp-now.Unix())
	}
	return max(ttl, 0)
}

// negativeTTL is the cache hint of an inactive answer: short when the
// credential might appear soon (unknown, mismatch), longer when it is final.
func (s *Server) negativeTTL(reason string) int64 {
	switch reason {
	case tokenapi.ReasonRevoked, tokenapi.ReasonExpired, tokenapi.ReasonConsumed:
		return int64(s.opts.CacheTTL / time.Second)
	default:
		return int64(s.opts.NegativeCacheTTL / time.Second)
	}
}
