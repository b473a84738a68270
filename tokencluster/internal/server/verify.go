// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

type verifyFunc func(s *Server, ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error)

// verifiers maps each kind to its check and the request fields it needs.
var verifiers = map[tokenapi.Kind]struct {
	fn   verifyFunc
	need func(tokenapi.VerifyRequest) error
}{
	tokenapi.KindAPIKey:         {(*Server).verifyAPIKey, needs(fCred)},
	tokenapi.KindUserAPIKey:     {(*Server).verifyUserAPIKey, needs(fUser, fCred)},
	tokenapi.KindPublicKey:      {(*Server).verifyPublicKey, needs(fCred)},
	tokenapi.KindPublicKeyToken: {(*Server).verifyPublicKeyToken, needs(fPublicKey, fCred)},
	tokenapi.KindDomainKey:      {(*Server).verifyDomainKey, needs(fDomain, fCred)},
	tokenapi.KindSSO:            {(*Server).verifySSO, needs(fCred)},
	tokenapi.KindHMACKey:        {(*Server).verifyHMACKey, needs(fUser)},
}

const (
	fCred      = tokenapi.FieldCredential
	fUser      = tokenapi.FieldUserID
	fPublicKey = tokenapi.FieldPublicKey
	fDomain    = tokenapi.FieldDomain
)

func needs(fields ...string) func(tokenapi.VerifyRequest) error {
	return func(req tokenapi.VerifyRequest) error {
		for _, f := range fields {
			if fieldValue(req, f) == "" {
				return errBadRequest("kind " + req.Kind + " needs " + f)
			}
		}
		return nil
	}
}

func fieldValue(req tokenapi.VerifyRequest, f string) string {
	switch f {
	case fCred:
		return req.Credential
	case fUser:
		return req.UserID
	case fPublicKey:
		return req.PublicKey
	case fDomain:
		return req.Domain
	}
	return ""
}

// verify serves POST /v1/verify.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	var req tokenapi.VerifyRequest
	if err := decodeVerify(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	v, ok := verifiers[req.Kind]
	if !ok {
		s.fail(w, r, errBadRequest("unknown kind "+req.Kind+" (oauth2 and session tokens go to /introspect)"))
		return
	}
	if err := v.need(req); err != nil {
		s.fail(w, r, err)
		return
	}
	resp, err := v.fn(s, r.Context(), req, s.opts.Now())
	if err != nil {
		s.fail(w, r, errUnavailable(err))
		return
	}
	resp.Kind = req.Kind
	s.verified(resp.Kind, resp.Active, resp.Reason, resp.CacheTTL)
	bp := bufPool.Get().(*[]byte)
	out := appendVerifyResponse((*bp)[:0], &resp)
	h := w.Header()
	h["Cache-Control"] = noStore
	h["Content-Type"] = contentTypeJSON // net/http adds the Content-Length
	_, _ = w.Write(out)
	*bp = out
	bufPool.Put(bp)
}

// Header values shared by every answer that sets them (net/http only reads them).
var (
	noStore         = []string{"no-store"}
	contentTypeJSON = []string{"application/json"}
)

// bufPool holds the buffers of request bodies and answers on the
// verification path.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// decodeVerify reads a verification request: the body as decodeJSON reads
// it, the plain bodies the plugin sends without reflection, the rest (and
// every malformed body) through unmarshalStrict.
func decodeVerify(w http.ResponseWriter, r *http.Request, req *tokenapi.VerifyRequest) error {
	if ct := r.Header["Content-Type"]; len(ct) != 1 || ct[0] != "application/json" {
		if err := requireType(r, "application/json"); err != nil {
			return err
		}
	}
	if r.ContentLength <= 0 || r.ContentLength > maxBody {
		var v tokenapi.VerifyRequest // here, so that only this path puts a request on the heap
		err := decodeBody(w, r, &v)
		*req = v
		return err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := slices.Grow((*bp)[:0], int(r.ContentLength))[:r.ContentLength]
	*bp = b
	if _, err := io.ReadFull(r.Body, b); err != nil {
		return errBadRequest("cannot read body")
	}
	// The body is read to its Content-Length: closing it now spares the
	// server its own drain after the handler.
	_ = r.Body.Close()
	if decodeVerifyFast(b, req) {
		return nil
	}
	var v tokenapi.VerifyRequest
	err := unmarshalStrict(b, &v)
	*req = v
	return err
}

func (s *Server) inactive(reason, digest string) tokenapi.VerifyResponse {
	return tokenapi.VerifyResponse{Reason: reason, Digest: digest, CacheTTL: s.negativeTTL(reason),
		Revoked: reason == tokenapi.ReasonRevoked}
}

// judge turns a found record into an answer: expired, revoked (it or its
// tenant, read from recs) or active with the record's identity.
func (s *Server) judge(ctx context.Context, recs records, rec store.Record, digest string, now time.Time) (tokenapi.VerifyResponse, error) {
	if rec.ExpiresAt > 0 && rec.ExpiresAt <= now.Unix() {
		return s.inactive(tokenapi.ReasonExpired, digest), nil
	}
	ok, err := ownerActiveIn(ctx, recs, rec)
	if err != nil {
		return tokenapi.VerifyResponse{}, err
	}
	if !ok {
		return s.inactive(tokenapi.ReasonRevoked, digest), nil
	}
	return s.active(rec, digest, now), nil
}

// judgeOwned is judge with the record's tenant already read (store.LookupOwned).
func (s *Server) judgeOwned(rec store.Record, owner store.Owner, digest string, now time.Time) (tokenapi.VerifyResponse, error) {
	if rec.ExpiresAt > 0 && rec.ExpiresAt <= now.Unix() {
		return s.inactive(tokenapi.ReasonExpired, digest), nil
	}
	// As ownerActive decides: the record, then its tenant.
	switch {
	case rec.Revoked:
		return s.inactive(tokenapi.ReasonRevoked, digest), nil
	case rec.Tenant == "":
	case owner.Err != nil:
		return tokenapi.VerifyResponse{}, owner.Err
	case !owner.Found || owner.Record.Revoked:
		return s.inactive(tokenapi.ReasonRevoked, digest), nil
	}
	return s.active(rec, digest, now), nil
}

func (s *Server) active(rec store.Record, digest string, now time.Time) tokenapi.VerifyResponse {
	return tokenapi.VerifyResponse{Active: true, Subject: rec.ID, Tenant: rec.Tenant, Scopes: rec.Scopes,
		ExpiresAt: rec.ExpiresAt, Digest: digest, CacheTTL: cacheTTL(s.opts.CacheTTL, rec.ExpiresAt, now)}
}

// get returns the record from recs, or found=false for ErrNotFound.
func get(ctx context.Context, recs records, c store.Collection, id string) (store.Record, bool, error) {
	rec, err := recs.Get(ctx, c, id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, false, nil
	}
	return rec, err == nil, err
}

func (s *Server) verifyAPIKey(ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error) {
	key, digest := registry.DigestKeyOf(req.Credential)
	// One store read: the key and its tenant together.
	rec, owner, err := store.LookupOwned(ctx, s.opts.Store, store.APIKeys, key)
	if errors.Is(err, store.ErrNotFound) || err == nil && !secret.Equal(rec.SecretDigest, digest) {
		return s.inactive(tokenapi.ReasonUnknown, digest), nil
	}
	if err != nil {
		return tokenapi.VerifyResponse{}, err
	}
	return s.judgeOwned(rec, owner, digest, now)
}

func (s *Server) verifyUserAPIKey(ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error) {
	digest := secret.Digest(req.Credential)
	// One store read: the user, its tenant and, when the caller names a
	// developer, the user's developer and its tenant.
	read := store.Read{Refs: []store.Ref{{C: store.Users, ID: req.UserID}}}
	if req.DeveloperID != "" {
		read.DeveloperOf = store.Users
	}
	v, err := store.ReadView(ctx, s.opts.Store, read)
	if err != nil {
		return s.inactive(tokenapi.ReasonUnknown, digest), err
	}
	user, found, err := get(ctx, v, store.Users, req.UserID)
	if err != nil || !found {
		return s.inactive(tokenapi.ReasonUnknown, digest), err
	}
	if !secret.Equal(user.SecretDigest, digest) {
		return s.inactive(tokenapi.ReasonMismatch, digest), nil
	}
	if req.DeveloperID != "" {
		if !secret.Equal(req.DeveloperID, user.DeveloperID) {
			return s.inactive(tokenapi.ReasonMismatch, digest), nil
		}
		if ok, err := recordActive(ctx, v, store.Developers, user.DeveloperID); err != nil || !ok {
			return s.inactive(tokenapi.ReasonRevoked, digest), err
		}
	}
	resp, err := s.judge(ctx, v, user, digest, now)
	resp.DeveloperID = user.DeveloperID
	return resp, err
}

func (s *Server) verifyPublicKey(ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error) {
	digest := secret.Digest(req.Credential)
	v, found, app, err := s.readOwned(ctx, store.Apps, req.Credential)
	if err != nil || !found {
		return s.inactive(tokenapi.ReasonUnknown, digest), err
	}
	resp, err := s.judge(ctx, v, app, digest, now)
	resp.AppID = app.ID
	return resp, err
}

func (s *Server) verifyPublicKeyToken(ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error) {
	digest := secret.Digest(req.Credential)
	// One store read: the token, its app and the app's tenant.
	v, err := store.ReadView(ctx, s.opts.Store, store.Read{Now: now, Token: digest, Owners: publicKeyTokenOwners})
	if err != nil {
		return tokenapi.VerifyResponse{}, err
	}
	tok, err := v.Token(ctx)
	if errors.Is(err, store.ErrNotFound) || err == nil && tok.Kind != tokenapi.KindPublicKeyToken {
		return s.inactive(tokenapi.ReasonUnknown, digest), nil
	}
	if err != nil {
		return tokenapi.VerifyResponse{}, err
	}
	if !secret.Equal(tok.AppID, req.PublicKey) {
		return s.inactive(tokenapi.ReasonMismatch, digest), nil
	}
	if ok, err := recordActive(ctx, v, store.Apps, tok.AppID); err != nil || !ok {
		return s.inactive(tokenapi.ReasonRevoked, digest), err
	}
	return tokenapi.VerifyResponse{Active: true, Subject: tok.Subject, Tenant: tok.Tenant, Scopes: tok.Scopes,
		ExpiresAt: tok.ExpiresAt, Digest: digest, AppID: tok.AppID,
		CacheTTL: cacheTTL(s.opts.CacheTTL, tok.ExpiresAt, now)}, nil
}

func (s *Server) verifyDomainKey(ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error) {
	digest := secret.Digest(req.Credential)
	v, found, dom, err := s.readOwned(ctx, store.Domains, req.Domain)
	if err != nil || !found {
		return s.inactive(tokenapi.ReasonUnknown, digest), err
	}
	if !secret.Equal(dom.SecretDigest, digest) {
		return s.inactive(tokenapi.ReasonMismatch, digest), nil
	}
	return s.judge(ctx, v, dom, digest, now)
}

// verifySSO consumes the token: only the first verification is active.
func (s *Server) verifySSO(ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error) {
	digest := secret.Digest(req.Credential)
	// One store read consumes the token (only an sso token: the consumption
	// is atomic, of concurrent callers exactly one wins) and reads its user
	// and the user's tenant.
	v, err := store.ReadView(ctx, s.opts.Store, store.Read{Now: now, Token: digest, Consume: tokenapi.KindSSO,
		Owners: ssoOwners})
	if err != nil {
		return tokenapi.VerifyResponse{}, err
	}
	tok, err := v.Token(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && tok.Kind != tokenapi.KindSSO:
		return s.inactive(tokenapi.ReasonUnknown, digest), nil
	case errors.Is(err, store.ErrConsumed):
		return s.inactive(tokenapi.ReasonConsumed, digest), nil
	case err != nil:
		return tokenapi.VerifyResponse{}, err
	}
	if ok, err := recordActive(ctx, v, store.Users, tok.Subject); err != nil || !ok {
		return s.inactive(tokenapi.ReasonRevoked, digest), err
	}
	return tokenapi.VerifyResponse{Active: true, Subject: tok.Subject, Tenant: tok.Tenant, Scopes: tok.Scopes,
		ExpiresAt: tok.ExpiresAt, Digest: digest, CacheTTL: 0}, nil
}

// verifyHMACKey returns the user's HMAC key material; the digest is over the user-id.
func (s *Server) verifyHMACKey(ctx context.Context, req tokenapi.VerifyRequest, now time.Time) (tokenapi.VerifyResponse, error) {
	digest := secret.Digest(req.UserID)
	v, found, user, err := s.readOwned(ctx, store.Users, req.UserID)
	if err != nil || !found || user.Secret == "" {
		return s.inactive(tokenapi.ReasonUnknown, digest), err
	}
	resp, err := s.judge(ctx, v, user, digest, now)
	if resp.Active {
		resp.HMACKey = user.Secret
		resp.DeveloperID = user.DeveloperID
	}
	return resp, err
}

// The owners of the tokens /v1/verify answers.
var (
	publicKeyTokenOwners = []store.TokenOwner{{Kind: tokenapi.KindPublicKeyToken, C: store.Apps, Field: store.ByAppID}}
	ssoOwners            = []store.TokenOwner{{Kind: tokenapi.KindSSO, C: store.Users, Field: store.BySubject}}
)

// readOwned reads record c/id and its tenant in one store read: the View
// holds both, rec is the record when found.
func (s *Server) readOwned(ctx context.Context, c store.Collection, id string) (v *store.View, found bool, rec store.Record, err error) {
	v, err = store.ReadView(ctx, s.opts.Store, store.Read{Refs: []store.Ref{{C: c, ID: id}}})
	if err != nil {
		return nil, false, store.Record{}, err
	}
	rec, found, err = get(ctx, v, c, id)
	return v, found, rec, err
}
