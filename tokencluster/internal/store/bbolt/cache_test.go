// SPDX-License-Identifier: Apache-2.0

package bbolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
)

func openTemp(t testing.TB) *bbolt.Store {
	t.Helper()
	s, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// seedKey stores a tenant and an API key of it, as the verify path reads them.
func seedKey(t testing.TB, s *bbolt.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.Put(ctx, store.Tenants, store.Record{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Tenant: "acme", Scopes: []string{"read"},
		SecretDigest: "d1", Keys: []string{"digest:d1"}}); err != nil {
		t.Fatal(err)
	}
}

// TestCachedRecordsFollowWrites: once a write returns, reads see it, although
// the records were warm in the cache.
func TestCachedRecordsFollowWrites(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(s *bbolt.Store) error
		check func(t *testing.T, s *bbolt.Store)
	}{
		{"revoke the key", func(s *bbolt.Store) error {
			return s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Tenant: "acme", Revoked: true, SecretDigest: "d1", Keys: []string{"digest:d1"}})
		}, func(t *testing.T, s *bbolt.Store) {
			if rec, err := s.Lookup(ctx, store.APIKeys, "digest:d1"); err != nil || !rec.Revoked {
				t.Fatalf("Lookup after revocation = %+v, %v; want revoked", rec, err)
			}
		}},
		{"revoke the tenant", func(s *bbolt.Store) error {
			return s.Put(ctx, store.Tenants, store.Record{ID: "acme", Revoked: true})
		}, func(t *testing.T, s *bbolt.Store) {
			if rec, err := s.Get(ctx, store.Tenants, "acme"); err != nil || !rec.Revoked {
				t.Fatalf("Get after revocation = %+v, %v; want revoked", rec, err)
			}
		}},
		{"delete the key", func(s *bbolt.Store) error { return s.Delete(ctx, store.APIKeys, "k1") },
			func(t *testing.T, s *bbolt.Store) {
				if _, err := s.Lookup(ctx, store.APIKeys, "digest:d1"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Lookup after delete: %v, want ErrNotFound", err)
				}
				if _, err := s.Get(ctx, store.APIKeys, "k1"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Get after delete: %v, want ErrNotFound", err)
				}
			}},
		{"rotate the key", func(s *bbolt.Store) error {
			return s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Tenant: "acme", SecretDigest: "d2", Keys: []string{"digest:d2"}})
		}, func(t *testing.T, s *bbolt.Store) {
			if _, err := s.Lookup(ctx, store.APIKeys, "digest:d1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("old key still answers: %v", err)
			}
			if rec, err := s.Lookup(ctx, store.APIKeys, "digest:d2"); err != nil || rec.SecretDigest != "d2" {
				t.Fatalf("new key = %+v, %v", rec, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			seedKey(t, s)
			for i := 0; i < 2; i++ { // warm
				if _, err := s.Lookup(ctx, store.APIKeys, "digest:d1"); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Get(ctx, store.Tenants, "acme"); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Get(ctx, store.APIKeys, "k1"); err != nil {
					t.Fatal(err)
				}
			}
			if err := tc.write(s); err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

// TestCachedRecordsAreCopies: a caller changing a returned record's slices
// does not change what the next caller reads.
func TestCachedRecordsAreCopies(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	seedKey(t, s)
	for i := 0; i < 2; i++ {
		rec, err := s.Lookup(ctx, store.APIKeys, "digest:d1")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Scopes[0] != "read" || rec.Keys[0] != "digest:d1" {
			t.Fatalf("read %d: %+v", i, rec)
		}
		rec.Scopes[0], rec.Keys[0] = "admin", "x"
	}
}

// TestRevocationUnderConcurrentReads: readers hammer a warm key while it is
// revoked; every read that starts after the revocation returned sees it.
func TestRevocationUnderConcurrentReads(t *testing.T) {
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		s := openTemp(t)
		seedKey(t, s)
		var revoked atomic.Bool
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var stale atomic.Int64
		for r := 0; r < 4; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := revoked.Load()
					rec, err := s.Lookup(ctx, store.APIKeys, "digest:d1")
					if err != nil {
						t.Error(err)
						return
					}
					if after && !rec.Revoked {
						stale.Add(1)
					}
				}
			}()
		}
		if err := s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Tenant: "acme", Revoked: true, SecretDigest: "d1", Keys: []string{"digest:d1"}}); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		for i := 0; i < 1000; i++ {
			if rec, err := s.Lookup(ctx, store.APIKeys, "digest:d1"); err != nil || !rec.Revoked {
				t.Fatalf("round %d: read after the revocation returned %+v, %v", round, rec, err)
			}
		}
		close(stop)
		wg.Wait()
		if n := stale.Load(); n > 0 {
			t.Fatalf("round %d: %d reads after the revocation saw the key active", round, n)
		}
	}
}

// BenchmarkVerifyReads is what an api_key verification asks of the store:
// the key by its digest and its tenant (is the owner revoked?), in one read
// (LookupOwned, as the server asks it) and, for comparison, by Lookup then Get.
func BenchmarkVerifyReads(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	seedKey(b, s)
	b.Run("one_read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, owner, err := s.LookupOwned(ctx, store.APIKeys, "digest:d1")
			if err != nil || !owner.Found || owner.Record.Revoked {
				b.Fatal(err, owner)
			}
		}
	})
	b.Run("lookup_then_get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec, err := s.Lookup(ctx, store.APIKeys, "digest:d1")
			if err != nil {
				b.Fatal(err)
			}
			if t, err := s.Get(ctx, store.Tenants, rec.Tenant); err != nil || t.Revoked {
				b.Fatal(err)
			}
		}
	})
}

// TestReadViewTransactions: a verification's read is one read transaction
// when cold, none (one cache access) when its records are warm, and one
// transaction with a token, whose records come from the cache when warm.
func TestReadViewTransactions(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	seedKey(t, s)
	if err := s.PutToken(ctx, store.Token{Digest: "t", Kind: "oauth2", ClientID: "k1", ExpiresAt: 1 << 40}, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	records := store.Read{Refs: []store.Ref{{C: store.APIKeys, Key: "digest:d1"}}}
	token := store.Read{Now: time.Unix(0, 0), Token: "t",
		Owners: []store.TokenOwner{{Kind: "oauth2", C: store.APIKeys, Field: store.ByClientID}}}
	for _, step := range []struct {
		name string
		read store.Read
		txs  int
	}{
		{"records, cold", records, 1},
		{"records, warm", records, 0},
		{"token", token, 1},
		{"token again", token, 1},
	} {
		before := bbolt.ReadTxs(s)
		v, err := store.ReadView(ctx, s, step.read)
		if err != nil {
			t.Fatal(err)
		}
		if _, owner, err := v.Owned(ctx, store.Ref{C: store.APIKeys, ID: "k1"}); err != nil || !owner.Found {
			t.Fatalf("%s: %+v, %v", step.name, owner, err)
		}
		if n := bbolt.ReadTxs(s) - before; n != step.txs || v.Calls() != 0 {
			t.Fatalf("%s: %d read transactions and %d calls, want %d and 0", step.name, n, v.Calls(), step.txs)
		}
	}
}
