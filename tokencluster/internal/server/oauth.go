// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// maxCode bounds visitorcode and customercode.
const maxCode = 256

func errInvalidClient(msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: codeInvalidClient, Msg: msg}
}

// oauthToken serves POST /token: RFC 6749 §4.4 client credentials.
// See https://www.rfc-editor.org/rfc/rfc6749#section-4.4
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	form, err := decodeForm(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch gt := form.Get("grant_type"); {
	case gt == "":
		s.fail(w, r, errBadRequest("missing grant_type"))
		return
	case gt != "client_credentials":
		s.fail(w, r, &apiError{Status: http.StatusBadRequest, Code: codeUnsupportedGrant,
			Msg: "only client_credentials is supported"})
		return
	}
	client, err := s.authenticateClient(r, form)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scopes, err := grantScopes(client.Scopes, form.Get("scope"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vc, cc := form.Get("visitorcode"), form.Get("customercode")
	if len(vc) > maxCode || len(cc) > maxCode {
		s.fail(w, r, errBadRequest("visitorcode and customercode are limited to 256 bytes"))
		return
	}
	accessType := "C2S"
	if strings.EqualFold(form.Get("access_type"), "S2S") {
		accessType = "S2S"
	}
	now := s.opts.Now()
	raw := secret.NewToken(32)
	tok := store.Token{Digest: secret.Digest(raw), Kind: tokenapi.KindOAuth2, Subject: client.ID, ClientID: client.ID,
		Tenant: client.Tenant, Scopes: scopes, AccessType: accessType, VisitorCode: vc, CustomerCode: cc,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(s.opts.OAuthTTL).Unix()}
	if err := s.opts.Store.PutToken(r.Context(), tok, now); err != nil {
		s.fail(w, r, err)
		return
	}
	s.issued(r, tokenapi.KindOAuth2, client.ID, client.Tenant)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenapi.OAuthTokenResponse{AccessTokenDash: raw, AccessToken: raw,
		TokenType: "Bearer", ExpiresIn: int64(s.opts.OAuthTTL.Seconds()), Scope: strings.Join(scopes, " ")}, false)
}

// authenticateClient takes HTTP Basic (preferred) or the client_id and
// client_secret form fields, never both (RFC 6749 §2.3.1).
func (s *Server) authenticateClient(r *http.Request, form url.Values) (store.Record, error) {
	id, sec, basic := r.BasicAuth()
	if basic {
		if form.Has("client_secret") {
			return store.Record{}, errBadRequest("use one client authentication method, not two")
		}
		if u, err := url.QueryUnescape(id); err == nil {
			id = u
		}
		if u, err := url.QueryUnescape(sec); err == nil {
			sec = u
		}
	} else {
		id, sec = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || sec == "" {
		return store.Record{}, errInvalidClient("client authentication required")
	}
	var client store.Record
	err := s.guess(r, "token", id, func() (err error) {
		client, err = s.checkClient(r, id, sec)
		return err
	})
	return client, err
}

// checkClient compares a client's secret.
func (s *Server) checkClient(r *http.Request, id, sec string) (store.Record, error) {
	client, err := s.opts.Store.Get(r.Context(), store.OAuthClients, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Record{}, errUnavailable(err)
	}
	// Compare even for an unknown client so timing does not tell which ids exist.
	match := secret.DigestEqual(sec, client.SecretDigest) && err == nil
	if !match {
		return store.Record{}, errInvalidClient("client authentication failed")
	}
	if ok, err := s.ownerActive(r.Context(), client); err != nil {
		return store.Record{}, errUnavailable(err)
	} else if !ok {
		return store.Record{}, errInvalidClient("client revoked")
	}
	return client, nil
}

// grantScopes returns the requested scopes (space-separated) if the client
// holds them all, or every client scope when none is requested.
func grantScopes(allowed []string, requested string) ([]string, error) {
	if requested == "" {
		return allowed, nil
	}
	want := strings.Fields(requested)
	for _, sc := range want {
		if !slices.Contains(allowed, sc) {
			return nil, &apiError{Status: http.StatusBadRequest, Code: "invalid_scope", Msg: "scope not granted: " + sc}
		}
	}
	return want, nil
}

// ownerActive reports whether rec and its tenant are both present and not revoked.
func (s *Server) ownerActive(ctx context.Context, rec store.Record) (bool, error) {
	return ownerActiveIn(ctx, s.opts.Store, rec)
}

// records reads records: the store, or the View of one verification's read.
type records interface {
	Get(ctx context.Context, c store.Collection, id string) (store.Record, error)
}

// ownerActiveIn is ownerActive, reading the tenant from recs.
func ownerActiveIn(ctx context.Context, recs records, rec store.Record) (bool, error) {
	if rec.Revoked {
		return false, nil
	}
	if rec.Tenant == "" {
		return true, nil
	}
	t, err := recs.Get(ctx, store.Tenants, rec.Tenant)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !t.Revoked, nil
}
