// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/signing"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// partnerToken serves POST /v1/partners/token (Generate Token).
func (s *Server) partnerToken(w http.ResponseWriter, r *http.Request) {
	var req tokenapi.PartnerTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := required("partner_id", req.PartnerID, "partner_secret", req.PartnerSecret); err != nil {
		s.fail(w, r, err)
		return
	}
	var p store.Record
	err := s.guess(r, "partners/token", req.PartnerID, func() error {
		var err error
		p, err = s.opts.Store.Get(r.Context(), store.JWTPartners, req.PartnerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return errUnavailable(err)
		}
		if !secret.DigestEqual(req.PartnerSecret, p.SecretDigest) || err != nil {
			return errUnauthorized("invalid partner credentials")
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.issueJWT(w, r, p, "partner")
}

// customerLogin serves POST /v1/customers/login.
func (s *Server) customerLogin(w http.ResponseWriter, r *http.Request) {
	var req tokenapi.CustomerLoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := required("email", req.Email, "password", req.Password); err != nil {
		s.fail(w, r, err)
		return
	}
	var c store.Record
	err := s.guess(r, "customers/login", strings.ToLower(req.Email), func() error {
		var err error
		c, err = s.opts.Store.Lookup(r.Context(), store.Customers, registry.EmailKey(req.Email))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return errUnavailable(err)
		}
		if s.opts.Hasher.Check(c.PasswordHash, req.Password) != nil {
			return errUnauthorized("invalid email or password")
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.issueJWT(w, r, c, "customer")
}

func (s *Server) issueJWT(w http.ResponseWriter, r *http.Request, subject store.Record, kind string) {
	ctx := r.Context()
	if ok, err := s.ownerActive(ctx, subject); err != nil {
		s.fail(w, r, errUnavailable(err))
		return
	} else if !ok {
		s.fail(w, r, errUnauthorized(kind+" revoked"))
		return
	}
	key, err := s.signingKey(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.opts.Now()
	claims := jwt.MapClaims{"sub": subject.ID, "tenant": subject.Tenant, "scope": strings.Join(subject.Scopes, " "),
		"kind": kind, "iss": s.opts.Issuer, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.opts.JWTTTL).Unix()}
	signed, err := signing.Sign(key, claims)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.issued(r, "jwt_"+kind, subject.ID, subject.Tenant)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenapi.JWTResponse{Token: signed, TokenType: "Bearer",
		ExpiresIn: int64(s.opts.JWTTTL.Seconds())}, false)
}

// signingKey returns the active signing key: the newest one not revoked.
// Older keys stay valid for verification until revoked, which is how keys
// rotate: the key sets (/.well-known/jwks.json, /v1/jwks) list them all.
func (s *Server) signingKey(ctx context.Context) (signing.Key, error) {
	keys, err := s.opts.Store.List(ctx, store.SigningKeys)
	if err != nil {
		return signing.Key{}, errUnavailable(err)
	}
	var best *store.Record
	for i := range keys {
		k := &keys[i]
		if k.Revoked || k.Secret == "" {
			continue
		}
		if best == nil || k.CreatedAt > best.CreatedAt || k.CreatedAt == best.CreatedAt && k.ID > best.ID {
			best = k
		}
	}
	if best == nil {
		return signing.Key{}, &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
			Msg: "no signing key: create one under /admin/v1/signing-keys"}
	}
	return signing.Key{ID: best.ID, Alg: best.Alg, Secret: best.Secret}, nil
}

// jwksPublic serves GET /.well-known/jwks.json: the public keys of every
// signing key not revoked, for anyone (Envoy jwt_authn, the plugin, clients).
func (s *Server) jwksPublic(w http.ResponseWriter, r *http.Request) { s.jwks(w, r, false) }

// jwksAll serves GET /v1/jwks to the plugin (verify credential required):
// the public keys and the HS256 secrets.
func (s *Server) jwksAll(w http.ResponseWriter, r *http.Request) { s.jwks(w, r, true) }

func (s *Server) jwks(w http.ResponseWriter, r *http.Request, secrets bool) {
	recs, err := s.opts.Store.List(r.Context(), store.SigningKeys)
	if err != nil {
		s.fail(w, r, errUnavailable(err))
		return
	}
	keys := []signing.JWK{}
	for _, rec := range recs {
		if rec.Revoked || rec.Secret == "" {
			continue
		}
		k := signing.Key{ID: rec.ID, Alg: rec.Alg, Secret: rec.Secret}
		if j, ok := signing.PublicJWK(k); ok {
			keys = append(keys, j)
		} else if j, ok := signing.SecretJWK(k); ok && secrets {
			keys = append(keys, j)
		}
	}
	if secrets {
		w.Header().Set("Cache-Control", "no-store")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys}, false)
}
