// SPDX-License-Identifier: Apache-2.0

package bbolt_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
	"github.com/credgate/credgate/tokencluster/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "tc.db")
	s, err := bbolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := storetest.T0
	if err := s.Put(ctx, store.APIKeys, store.Record{ID: "k", Keys: []string{"d:k"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(ctx, store.Token{Digest: "live", ExpiresAt: now.Add(time.Hour).Unix()}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(ctx, store.Token{Digest: "dead", ExpiresAt: now.Add(time.Minute).Unix()}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendRevocation(ctx, store.Revocation{Digest: "r"}); err != nil {
		t.Fatal(err)
	}
	_, before, err := s.Revocations(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bbolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Lookup(ctx, store.APIKeys, "d:k"); err != nil {
		t.Fatalf("record lost: %v", err)
	}
	later := now.Add(30 * time.Minute)
	if _, err := s.GetToken(ctx, "live", later); err != nil {
		t.Fatalf("token lost: %v", err)
	}
	if n, err := s.Sweep(ctx, later); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 expired token removed", n, err)
	}
	if _, feed, _ := s.Revocations(ctx, 0, 1); feed.Head != 1 || feed.Epoch != before.Epoch {
		t.Fatalf("revocation feed %+v, want head 1 in epoch %q (a restart keeps the cursors)", feed, before.Epoch)
	}
}

// TestLostAppend: the newest entry lost with the epoch kept (a restore of a
// copy taken just before that append): the next append reuses its sequence
// number, and the cursor of a reader that saw the lost entry is behind.
func TestLostAppend(t *testing.T) {
	storetest.RunLostAppend(t, func(t *testing.T) store.Store {
		s, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, bbolt.LoseNewestRevocation)
}

// TestConformanceWithoutReader runs the suite on a store that offers none
// of the one-read interfaces: store.ReadView and store.LookupOwned then ask
// Get, Lookup and the token calls one by one, and answer the same.
func TestConformanceWithoutReader(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
		if err != nil {
			t.Fatal(err)
		}
		return struct{ store.Store }{s}
	})
}
