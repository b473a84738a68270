// SPDX-License-Identifier: Apache-2.0

package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// publicKeyToken serves POST /v0/tokens (and its alias /tokens): {"publicKey","secretKey","timestamp"}
// where secretKey = hex(sha256(secret_key + timestamp)). Answers use the
// {"status":..., "errors":[...]} envelope, success or not.
func (s *Server) publicKeyToken(w http.ResponseWriter, r *http.Request) {
	var req tokenapi.PublicKeyTokenRequest
	err := decodeJSON(w, r, &req)
	if err == nil {
		err = required("publicKey", req.PublicKey, "secretKey", req.SecretKey)
	}
	if err == nil && req.Timestamp == 0 {
		err = errBadRequest("missing required field timestamp")
	}
	var app store.Record
	if err == nil {
		err = s.guess(r, "tokens", req.PublicKey, func() (err error) {
			app, err = s.checkPublicKeySecret(r, req)
			return err
		})
	}
	if err != nil {
		s.failEnvelope(w, r, err)
		return
	}
	now := s.opts.Now()
	raw := secret.NewToken(32)
	tok := store.Token{Digest: secret.Digest(raw), Kind: tokenapi.KindPublicKeyToken, Subject: app.ID, AppID: app.ID,
		Tenant: app.Tenant, Scopes: app.Scopes, IssuedAt: now.Unix(), ExpiresAt: now.Add(s.opts.PublicKeyTokenTTL).Unix()}
	if err := s.opts.Store.PutToken(r.Context(), tok, now); err != nil {
		s.failEnvelope(w, r, err)
		return
	}
	s.issued(r, tokenapi.KindPublicKeyToken, app.ID, app.Tenant)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenapi.PublicKeyTokenResponse{Status: true, Token: raw,
		ExpiresIn: int64(s.opts.PublicKeyTokenTTL.Seconds())}, false)
}

func (s *Server) checkPublicKeySecret(r *http.Request, req tokenapi.PublicKeyTokenRequest) (store.Record, error) {
	now := s.opts.Now()
	skew := now.Sub(time.UnixMilli(req.Timestamp))
	if skew > s.opts.TimestampWindow || skew < -s.opts.TimestampWindow {
		return store.Record{}, errUnauthorized("timestamp outside the accepted window")
	}
	app, err := s.opts.Store.Get(r.Context(), store.Apps, req.PublicKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return app, errUnavailable(err)
	}
	want := secret.Digest(app.Secret + strconv.FormatInt(req.Timestamp, 10))
	if !secret.Equal(strings.ToLower(req.SecretKey), want) || err != nil {
		return app, errUnauthorized("invalid public key or secret key")
	}
	if ok, err := s.ownerActive(r.Context(), app); err != nil {
		return app, errUnavailable(err)
	} else if !ok {
		return app, errUnauthorized("application revoked")
	}
	return app, nil
}

// failEnvelope answers in the /tokens error envelope.
func (s *Server) failEnvelope(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if ae.Status >= 500 {
		s.opts.Logger.ErrorContext(r.Context(), "request failed", "pattern", r.Pattern, "err", err)
	}
	setRetryAfter(w, ae)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, ae.Status, tokenapi.PublicKeyTokenResponse{Errors: []tokenapi.EnvelopeError{{
		Code: ae.Status, Type: strings.ReplaceAll(http.StatusText(ae.Status), " ", ""), Message: ae.Msg}}}, false)
}
