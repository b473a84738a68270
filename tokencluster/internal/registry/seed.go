// SPDX-License-Identifier: Apache-2.0

package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// SeedFile is the declarative credentials file loaded by `tokencluster seed -f`.
// Each list holds Entry objects, the same bodies the admin API accepts, with
// raw demo secrets that are digested or hashed on load. Every entry needs an
// id. Loading is idempotent: an entry replaces the record with the same id.
type SeedFile struct {
	Tenants      []Entry `json:"tenants"`
	SigningKeys  []Entry `json:"signing_keys"`
	Developers   []Entry `json:"developers"`
	OAuthClients []Entry `json:"oauth_clients"`
	APIKeys      []Entry `json:"api_keys"`
	Users        []Entry `json:"users"`
	Apps         []Entry `json:"apps"`
	Domains      []Entry `json:"domains"`
	JWTPartners  []Entry `json:"jwt_partners"`
	Customers    []Entry `json:"customers"`
}

// maxSeed bounds the seed file size.
const maxSeed = 8 << 20

// LoadSeed reads a seed file and upserts every entry, owners first. It
// returns how many entries it loaded per collection.
func (r *Registry) LoadSeed(ctx context.Context, in io.Reader) (map[store.Collection]int, error) {
	dec := json.NewDecoder(io.LimitReader(in, maxSeed))
	dec.DisallowUnknownFields()
	var f SeedFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("seed: decode: %w: %w", ErrInvalid, err)
	}
	order := []struct {
		c       store.Collection
		entries []Entry
	}{
		{store.Tenants, f.Tenants}, {store.SigningKeys, f.SigningKeys}, {store.Developers, f.Developers},
		{store.OAuthClients, f.OAuthClients}, {store.APIKeys, f.APIKeys}, {store.Users, f.Users},
		{store.Apps, f.Apps}, {store.Domains, f.Domains}, {store.JWTPartners, f.JWTPartners},
		{store.Customers, f.Customers},
	}
	counts := map[store.Collection]int{}
	for _, o := range order {
		for i, e := range o.entries {
			if _, err := r.Upsert(ctx, o.c, e); err != nil {
				return counts, fmt.Errorf("seed: %s[%d] (id %q): %w", o.c, i, e.ID, err)
			}
			counts[o.c]++
		}
	}
	return counts, nil
}
