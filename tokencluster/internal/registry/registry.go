// SPDX-License-Identifier: Apache-2.0

package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/signing"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// Registry creates, rotates and revokes records in a store.
type Registry struct {
	Store  store.Store
	Hasher *secret.Hasher
	Now    func() time.Time
}

// Created is the answer to a create or rotate: the record's public view and
// the secrets the registry generated, shown this once.
type Created struct {
	Record  View              `json:"record"`
	Secrets map[string]string `json:"secrets,omitempty"`
}

// Create stores a new record from e; ErrExists when the id is taken.
func (r *Registry) Create(ctx context.Context, c store.Collection, e Entry) (Created, error) {
	if e.ID != "" {
		if _, err := r.Store.Get(ctx, c, e.ID); err == nil {
			return Created{}, fmt.Errorf("%s/%s: %w", c, e.ID, ErrExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return Created{}, err
		}
	}
	return r.put(ctx, c, e, nil)
}

// Upsert creates or replaces the record e.ID (the seed uses it; idempotent).
func (r *Registry) Upsert(ctx context.Context, c store.Collection, e Entry) (Created, error) {
	if e.ID == "" {
		return Created{}, &FieldError{Field: "id", Msg: "required in a seed file"}
	}
	prev, err := r.Store.Get(ctx, c, e.ID)
	switch {
	case err == nil:
		return r.put(ctx, c, e, &prev)
	case errors.Is(err, store.ErrNotFound):
		return r.put(ctx, c, e, nil)
	default:
		return Created{}, err
	}
}

func (r *Registry) put(ctx context.Context, c store.Collection, e Entry, prev *store.Record) (Created, error) {
	if err := check(c, e); err != nil {
		return Created{}, err
	}
	if err := r.checkOwners(ctx, e); err != nil {
		return Created{}, err
	}
	rec, secrets, err := r.build(c, e, prev)
	if err != nil {
		return Created{}, err
	}
	if err := r.Store.Put(ctx, c, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Created{}, fmt.Errorf("%s/%s: username, email or secret in use: %w", c, rec.ID, ErrExists)
		}
		return Created{}, err
	}
	return Created{Record: ViewOf(c, rec), Secrets: secrets}, nil
}

func (r *Registry) checkOwners(ctx context.Context, e Entry) error {
	if e.Tenant != "" {
		if _, err := r.Store.Get(ctx, store.Tenants, e.Tenant); errors.Is(err, store.ErrNotFound) {
			return &FieldError{Field: fTenant, Msg: fmt.Sprintf("unknown tenant %q", e.Tenant)}
		} else if err != nil {
			return err
		}
	}
	if e.DeveloperID != "" {
		if _, err := r.Store.Get(ctx, store.Developers, e.DeveloperID); errors.Is(err, store.ErrNotFound) {
			return &FieldError{Field: fDeveloperID, Msg: fmt.Sprintf("unknown developer %q", e.DeveloperID)}
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (r *Registry) build(c store.Collection, e Entry, prev *store.Record) (store.Record, map[string]string, error) {
	now := r.Now().Unix()
	rec := store.Record{ID: e.ID, Name: e.Name, Tenant: e.Tenant, Scopes: e.Scopes, CreatedAt: now, UpdatedAt: now,
		Username: e.Username, Domain: e.Domain, Email: strings.ToLower(e.Email), DeveloperID: e.DeveloperID,
		RedirectOrigins: e.RedirectOrigins}
	if rec.ID == "" {
		rec.ID = specs[c].prefix + secret.NewToken(9)
	}
	if prev != nil {
		rec.CreatedAt = prev.CreatedAt
	}
	if e.ExpiresAt != "" {
		t, _ := time.Parse(time.RFC3339, e.ExpiresAt) // validated by check
		rec.ExpiresAt = t.Unix()
	}
	gen := map[string]string{}
	pick := func(field, raw string, size int) string {
		if raw != "" {
			return raw
		}
		raw = secret.NewToken(size)
		gen[field] = raw
		return raw
	}
	switch specs[c].secret {
	case "digest":
		rec.SecretDigest = secret.Digest(pick(fSecret, e.Secret, 24))
		rec.Keys = []string{DigestKey(rec.SecretDigest)}
	case "recoverable":
		if c == store.SigningKeys && e.Alg != "" && e.Alg != signing.HS256 {
			rec.Alg, rec.Secret = e.Alg, e.Secret
			var err error
			switch {
			case rec.Secret == "" && prev != nil && prev.Alg == e.Alg && prev.Secret != "":
				rec.Secret = prev.Secret // a seed reload keeps the key
			case rec.Secret == "":
				rec.Secret, err = signing.Generate(e.Alg) // a private key: never answered
			default:
				rec.Secret, err = signing.Normalize(e.Alg, e.Secret)
			}
			if err != nil {
				return rec, nil, &FieldError{Field: fSecret, Msg: err.Error()}
			}
			break
		}
		rec.Secret = pick(fSecret, e.Secret, 32)
	}
	switch c {
	case store.Users:
		rec.SecretDigest = secret.Digest(pick(fUserAPIKey, e.UserAPIKey, 24))
		rec.Secret = pick(fUserHashKey, e.UserHashKey, 32)
		if e.Username != "" {
			rec.Keys = []string{UserKey(e.Domain, e.Username)}
		}
	case store.Customers:
		rec.Keys = []string{EmailKey(e.Email)}
	}
	if c == store.Users && e.Password != "" || c == store.Customers {
		pw := pick(fPassword, e.Password, 12)
		if err := r.setPassword(&rec, prev, pw); err != nil {
			return rec, nil, err
		}
	}
	if len(gen) == 0 {
		gen = nil
	}
	return rec, gen, nil
}

// setPassword keeps the previous hash when it still matches, so a seed reload changes nothing.
func (r *Registry) setPassword(rec *store.Record, prev *store.Record, pw string) error {
	if prev != nil && prev.PasswordHash != "" && r.Hasher.Check(prev.PasswordHash, pw) == nil {
		rec.PasswordHash = prev.PasswordHash
		return nil
	}
	h, err := r.Hasher.Hash(pw)
	if err != nil {
		return &FieldError{Field: fPassword, Msg: err.Error()}
	}
	rec.PasswordHash = h
	return nil
}

// RevocationsFor lists the plugin-visible credential digests of a record, as
// the revocation feed names them (see tokenapi.Digest).
func RevocationsFor(c store.Collection, rec store.Record) []store.Revocation {
	switch c {
	case store.APIKeys:
		return []store.Revocation{{Kind: tokenapi.KindAPIKey, Digest: rec.SecretDigest}}
	case store.Users:
		return []store.Revocation{{Kind: tokenapi.KindUserAPIKey, Digest: rec.SecretDigest},
			{Kind: tokenapi.KindHMACKey, Digest: secret.Digest(rec.ID)}}
	case store.Apps:
		return []store.Revocation{{Kind: tokenapi.KindPublicKey, Digest: secret.Digest(rec.ID)}}
	case store.Domains:
		return []store.Revocation{{Kind: tokenapi.KindDomainKey, Digest: rec.SecretDigest}}
	}
	return nil
}
