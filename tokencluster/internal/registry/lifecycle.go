// SPDX-License-Identifier: Apache-2.0

package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// Rotate replaces the secrets of record c/id: the value given in e, or a
// generated one. The old digests go to the revocation feed.
func (r *Registry) Rotate(ctx context.Context, c store.Collection, id string, e Entry) (Created, error) {
	rec, err := r.Store.Get(ctx, c, id)
	if err != nil {
		return Created{}, fmt.Errorf("%s/%s: %w", c, id, err)
	}
	old := RevocationsFor(c, rec)
	gen := map[string]string{}
	pick := func(field, raw string, size int) string {
		if raw == "" {
			raw = secret.NewToken(size)
			gen[field] = raw
		}
		return raw
	}
	switch c {
	case store.OAuthClients, store.APIKeys, store.Domains, store.JWTPartners:
		rec.SecretDigest = secret.Digest(pick(fSecret, e.Secret, 24))
		rec.Keys = []string{DigestKey(rec.SecretDigest)}
	case store.Apps:
		rec.Secret = pick(fSecret, e.Secret, 32)
	case store.Users:
		rec.SecretDigest = secret.Digest(pick(fUserAPIKey, e.UserAPIKey, 24))
		rec.Secret = pick(fUserHashKey, e.UserHashKey, 32)
	case store.Customers:
		if err := r.setPassword(&rec, nil, pick(fPassword, e.Password, 12)); err != nil {
			return Created{}, err
		}
	default:
		return Created{}, fmt.Errorf("rotate %s (create a new record instead): %w", c, ErrUnsupported)
	}
	rec.UpdatedAt = r.Now().Unix()
	if err := r.Store.Put(ctx, c, rec); err != nil {
		return Created{}, err
	}
	if err := r.appendRevocations(ctx, old); err != nil {
		return Created{}, err
	}
	return Created{Record: ViewOf(c, rec), Secrets: gen}, nil
}

// Revoke marks record c/id revoked and publishes its digests on the
// revocation feed. Revoking a tenant revokes the use of all its credentials
// (verification checks the tenant) and publishes their digests too.
func (r *Registry) Revoke(ctx context.Context, c store.Collection, id string) (View, error) {
	rec, err := r.Store.Get(ctx, c, id)
	if err != nil {
		return View{}, fmt.Errorf("%s/%s: %w", c, id, err)
	}
	rec.Revoked = true
	rec.UpdatedAt = r.Now().Unix()
	if err := r.Store.Put(ctx, c, rec); err != nil {
		return View{}, err
	}
	revs := RevocationsFor(c, rec)
	if c == store.Tenants {
		for _, oc := range []store.Collection{store.APIKeys, store.Users, store.Apps, store.Domains} {
			recs, err := r.Store.List(ctx, oc)
			if err != nil {
				return View{}, err
			}
			for _, o := range recs {
				if o.Tenant == id {
					revs = append(revs, RevocationsFor(oc, o)...)
				}
			}
		}
	}
	return ViewOf(c, rec), r.appendRevocations(ctx, revs)
}

func (r *Registry) appendRevocations(ctx context.Context, revs []store.Revocation) error {
	at := r.Now().Unix()
	for _, rv := range revs {
		rv.At = at
		if _, err := r.Store.AppendRevocation(ctx, rv); err != nil {
			return err
		}
	}
	return nil
}

// View is the public form of a record: never a secret, hash or digest.
type View struct {
	ID          string   `json:"id"`
	Collection  string   `json:"collection"`
	Name        string   `json:"name,omitempty"`
	Tenant      string   `json:"tenant,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	ExpiresAt   string   `json:"expires_at,omitempty"`
	Revoked     bool     `json:"revoked"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
	Username    string   `json:"username,omitempty"`
	Domain      string   `json:"domain,omitempty"`
	Email       string   `json:"email,omitempty"`
	DeveloperID string   `json:"developer_id,omitempty"`
	// RedirectOrigins are a developer's registered SSO redirect origins.
	RedirectOrigins []string `json:"redirect_origins,omitempty"`
	// Alg is a signing key's algorithm.
	Alg string `json:"alg,omitempty"`
}

func rfc3339(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}

// ViewOf returns the public view of rec.
func ViewOf(c store.Collection, rec store.Record) View {
	return View{ID: rec.ID, Collection: string(c), Name: rec.Name, Tenant: rec.Tenant, Scopes: rec.Scopes,
		ExpiresAt: rfc3339(rec.ExpiresAt), Revoked: rec.Revoked, CreatedAt: rfc3339(rec.CreatedAt),
		UpdatedAt: rfc3339(rec.UpdatedAt), Username: rec.Username, Domain: rec.Domain, Email: rec.Email,
		DeveloperID: rec.DeveloperID, RedirectOrigins: rec.RedirectOrigins, Alg: rec.Alg}
}
