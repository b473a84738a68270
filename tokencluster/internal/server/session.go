// SPDX-License-Identifier: Apache-2.0

package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// sessionCreate serves POST /v2/token: username, password and domain → a
// session token that expires after SessionIdle without use.
func (s *Server) sessionCreate(w http.ResponseWriter, r *http.Request) {
	var req tokenapi.SessionTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := required("username", req.Username, "password", req.Password, "domain", req.Domain); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	var user store.Record
	err := s.guess(r, "v2/token", req.Domain+"/"+req.Username, func() (err error) {
		user, err = s.opts.Store.Lookup(ctx, store.Users, registry.UserKey(req.Domain, req.Username))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return errUnavailable(err)
		}
		// Check runs bcrypt even for an unknown user (empty hash), so timing reveals nothing.
		if s.opts.Hasher.Check(user.PasswordHash, req.Password) != nil {
			return errUnauthorized("invalid username, password or domain")
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ok, err := s.ownerActive(ctx, user); err != nil {
		s.fail(w, r, errUnavailable(err))
		return
	} else if !ok {
		s.fail(w, r, errUnauthorized("invalid username, password or domain"))
		return
	}
	now := s.opts.Now()
	raw := secret.NewToken(32)
	tok := store.Token{Digest: secret.Digest(raw), Kind: tokenapi.KindSession, Subject: user.ID, Tenant: user.Tenant,
		Username: user.Username, Scopes: user.Scopes, IssuedAt: now.Unix(),
		ExpiresAt: now.Add(s.opts.SessionIdle).Unix(), IdleSeconds: int64(s.opts.SessionIdle.Seconds())}
	if err := s.opts.Store.PutToken(ctx, tok, now); err != nil {
		s.fail(w, r, err)
		return
	}
	s.issued(r, tokenapi.KindSession, user.ID, user.Tenant)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenapi.SessionTokenResponse{Token: tokenapi.SessionToken{ID: user.ID, Token: raw,
		Expire: int(s.opts.SessionIdle / time.Minute), Username: user.Username, Time: now.UTC().Format(time.RFC3339),
		Domain: user.Domain, Tenant: user.Tenant}}, false)
}

// sessionDelete serves DELETE /v2/token/{token}: 204, or 404 when the session is unknown.
func (s *Server) sessionDelete(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("token")
	digest := secret.Digest(raw)
	ctx, now := r.Context(), s.opts.Now()
	tok, err := s.opts.Store.GetToken(ctx, digest, now)
	if err == nil && tok.Kind != tokenapi.KindSession {
		err = store.ErrNotFound
	}
	if err == nil {
		err = s.opts.Store.DeleteToken(ctx, digest, now)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = errNotFound("unknown session token")
		}
		s.fail(w, r, err)
		return
	}
	if _, err := s.opts.Store.AppendRevocation(ctx, store.Revocation{Kind: tokenapi.KindSession, Digest: digest,
		At: now.Unix()}); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
