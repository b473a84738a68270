// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// ssoIssue serves POST /v1/sso: a user authenticated by user-id and
// user-api-key gets a one-time login URL.
func (s *Server) ssoIssue(w http.ResponseWriter, r *http.Request) {
	var req tokenapi.SSORequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := required("user_id", req.UserID, "user_api_key", req.UserAPIKey, "redirect_url", req.RedirectURL); err != nil {
		s.fail(w, r, err)
		return
	}
	var user store.Record
	err := s.guess(r, "sso", req.UserID, func() error {
		var err error
		user, err = s.opts.Store.Get(r.Context(), store.Users, req.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return errUnavailable(err)
		}
		if !secret.DigestEqual(req.UserAPIKey, user.SecretDigest) || err != nil {
			return errUnauthorized("invalid user-id or user-api-key")
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeSSO(w, r, user, req.RedirectURL)
}

// adminSSO serves POST /admin/v1/users/{id}/sso {"redirect_url"}.
func (s *Server) adminSSO(w http.ResponseWriter, r *http.Request) {
	if s.noParams(w, r) {
		return
	}
	var req struct {
		RedirectURL string `json:"redirect_url"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	user, err := s.opts.Store.Get(r.Context(), store.Users, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeSSO(w, r, user, req.RedirectURL)
}

func (s *Server) writeSSO(w http.ResponseWriter, r *http.Request, user store.Record, redirect string) {
	resp, err := s.issueSSO(r.Context(), user, redirect)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.issued(r, tokenapi.KindSSO, user.ID, user.Tenant)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp, false)
}

// redirectAllowed reports whether origin is registered for the user's
// developer.
func (s *Server) redirectAllowed(ctx context.Context, user store.Record, origin string) (bool, error) {
	if user.DeveloperID == "" {
		return false, nil
	}
	dev, err := s.opts.Store.Get(ctx, store.Developers, user.DeveloperID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, o := range dev.RedirectOrigins {
		if o == origin {
			return true, nil
		}
	}
	return false, nil
}

func (s *Server) issueSSO(ctx context.Context, user store.Record, redirect string) (tokenapi.SSOResponse, error) {
	origin, ok := registry.Origin(redirect)
	if !ok {
		return tokenapi.SSOResponse{}, errBadRequest("redirect_url must be an absolute http(s) URL")
	}
	// The link may only send the user to an origin registered for the
	// user's developer: an open redirect would hand one-time logins to
	// any host.
	if ok, err := s.redirectAllowed(ctx, user, origin); err != nil {
		return tokenapi.SSOResponse{}, errUnavailable(err)
	} else if !ok {
		return tokenapi.SSOResponse{}, errBadRequest("redirect_url is not on an origin registered for the user's developer (redirect_origins)")
	}
	if ok, err := s.ownerActive(ctx, user); err != nil {
		return tokenapi.SSOResponse{}, errUnavailable(err)
	} else if !ok {
		return tokenapi.SSOResponse{}, errUnauthorized("user revoked")
	}
	now := s.opts.Now()
	raw := secret.NewToken(32)
	tok := store.Token{Digest: secret.Digest(raw), Kind: tokenapi.KindSSO, Subject: user.ID, Tenant: user.Tenant,
		Username: user.Username, Scopes: user.Scopes, IssuedAt: now.Unix(), ExpiresAt: now.Add(s.opts.SSOTTL).Unix()}
	if err := s.opts.Store.PutToken(ctx, tok, now); err != nil {
		return tokenapi.SSOResponse{}, err
	}
	u, err := url.Parse(redirect) // parsed by registry.Origin already
	if err != nil {
		return tokenapi.SSOResponse{}, errBadRequest("redirect_url must be an absolute http(s) URL")
	}
	q := u.Query()
	q.Set(tokenapi.SSOQueryParam, raw)
	u.RawQuery = q.Encode()
	return tokenapi.SSOResponse{URL: u.String(), SSOToken: raw, ExpiresIn: int64(s.opts.SSOTTL.Seconds())}, nil
}
