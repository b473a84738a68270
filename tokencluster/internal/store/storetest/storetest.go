// SPDX-License-Identifier: Apache-2.0

// Package storetest is the Store conformance suite. Every backend runs it:
//
//	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// Open returns a new, empty store; the suite closes it.
type Open func(t *testing.T) store.Store

// T0 is the pinned clock of the suite.
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs every conformance test against stores returned by open.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{name: "record round trip", fn: testRecordRoundTrip},
		{name: "lookup keys follow the record", fn: testLookupKeys},
		{name: "lookup with the tenant", fn: testLookupOwned},
		{name: "read of a verification", fn: testReadView},
		{name: "read that consumes its token", fn: testReadConsume},
		{name: "key conflict changes nothing", fn: testKeyConflict},
		{name: "list and delete", fn: testListDelete},
		{name: "collections are separate", fn: testCollections},
		{name: "token expiry", fn: testTokenExpiry},
		{name: "token touch slides expiry", fn: testTokenTouch},
		{name: "token consume is single use", fn: testTokenConsume},
		{name: "token delete", fn: testTokenDelete},
		{name: "revocation feed", fn: testRevocations},
		{name: "revocation feed under concurrency", fn: testRevocationsHammer},
		{name: "revocation feed compaction", fn: testRevocationCompaction},
		{name: "revocation feed entry tags", fn: testRevocationTags},
		{name: "invalid values", fn: testInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
	t.Run("revocation feed epoch", func(t *testing.T) { testRevocationEpoch(t, open) })
}

// LoseNewest removes the newest entry of s's revocation log as a failover
// to a replica that missed it would, keeping the epoch: the next append
// reuses its sequence number.
type LoseNewest func(t *testing.T, s store.Store)

// RunLostAppend runs the conformance test of a lost append: a backend
// passes its own way of losing one (see LoseNewest).
func RunLostAppend(t *testing.T, open Open, lose LoseNewest) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		_, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("d", i), At: int64(i)})
		must(t, err)
	}
	// A reader at 2 and one at the head (3) took their cursors from reads.
	entries, feed, err := s.Revocations(ctx, 1, 10)
	must(t, err)
	atTwo, atHead := feed.CursorAt(entries[0]), feed.At(feed.Head)
	if atHead != feed.CursorAt(entries[1]) || atHead.Tag == "" {
		t.Fatalf("head cursor %+v, want the tag of %+v", atHead, entries[1])
	}
	lose(t, s)
	_, lost, err := s.Revocations(ctx, atHead.Seq, 10)
	must(t, err)
	if lost.Epoch != feed.Epoch || lost.Head != 2 || !lost.Missed(atHead) || lost.Missed(atTwo) {
		t.Fatalf("after the loss: %+v; want head 2 in epoch %q, the old head's cursor behind", lost, feed.Epoch)
	}
	seq, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: "another", At: 4})
	must(t, err)
	if seq != 3 {
		t.Fatalf("append after the loss: seq %d, want 3 (reused)", seq)
	}
	entries, again, err := s.Revocations(ctx, atHead.Seq, 10)
	must(t, err)
	if len(entries) != 0 || again.Head != 3 || again.Epoch != feed.Epoch {
		t.Fatalf("after the reuse: %+v %+v", entries, again)
	}
	if !again.Missed(atHead) || !again.Behind(atHead) {
		t.Fatalf("the old head's cursor %+v is current in %+v: its reader would never see the revocation of %q", atHead, again, "another")
	}
	entries, fromTwo, err := s.Revocations(ctx, atTwo.Seq, 10)
	must(t, err)
	if fromTwo.Missed(atTwo) || len(entries) != 1 || entries[0].Digest != "another" || fromTwo.CursorAt(entries[0]) != fromTwo.At(3) {
		t.Fatalf("a reader at 2 after the reuse: %+v %+v", entries, fromTwo)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func testRecordRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	in := store.Record{ID: "u1", Name: "Pea", Tenant: "acme", Scopes: []string{"a", "b"}, ExpiresAt: 99,
		CreatedAt: 1, UpdatedAt: 2, SecretDigest: "d1", Secret: "hmac", PasswordHash: "$2a$",
		Username: "pea", Domain: "shop", Email: "p@x", DeveloperID: "dev1", Keys: []string{"d:d1"}}
	must(t, s.Put(ctx, store.Users, in))
	got, err := s.Get(ctx, store.Users, "u1")
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(in) {
		t.Fatalf("Get = %+v, want %+v", got, in)
	}
	_, err = s.Get(ctx, store.Users, "nobody")
	wantErr(t, err, store.ErrNotFound)
	in.Revoked = true
	must(t, s.Put(ctx, store.Users, in))
	got, err = s.Get(ctx, store.Users, "u1")
	must(t, err)
	if !got.Revoked {
		t.Fatal("replace did not store Revoked")
	}
}

func testLookupKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Keys: []string{"d:old", "n:k1"}}))
	got, err := s.Lookup(ctx, store.APIKeys, "d:old")
	must(t, err)
	if got.ID != "k1" {
		t.Fatalf("Lookup = %q", got.ID)
	}
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Keys: []string{"d:new"}}))
	_, err = s.Lookup(ctx, store.APIKeys, "d:old")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Lookup(ctx, store.APIKeys, "n:k1")
	wantErr(t, err, store.ErrNotFound)
	got, err = s.Lookup(ctx, store.APIKeys, "d:new")
	must(t, err)
	if got.ID != "k1" {
		t.Fatalf("Lookup after rotate = %q", got.ID)
	}
}

// testLookupOwned: store.LookupOwned (one read where the store offers it)
// answers what Lookup and Get answer, and follows every write at once.
func testLookupOwned(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Put(ctx, store.Tenants, store.Record{ID: "acme"}))
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Tenant: "acme", Scopes: []string{"a"}, Keys: []string{"d:1"}}))
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k2", Keys: []string{"d:2"}}))
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k3", Tenant: "ghost", Keys: []string{"d:3"}}))
	check := func(key, id string, found, revoked bool) {
		t.Helper()
		for range 2 { // cold, then warm
			rec, owner, err := store.LookupOwned(ctx, s, store.APIKeys, key)
			must(t, err)
			must(t, owner.Err)
			if rec.ID != id || owner.Found != found || found && (owner.Record.ID != rec.Tenant || owner.Record.Revoked != revoked) {
				t.Fatalf("LookupOwned(%s) = %+v, %+v", key, rec, owner)
			}
		}
	}
	check("d:1", "k1", true, false)
	check("d:2", "k2", false, false)
	check("d:3", "k3", false, false)
	_, _, err := store.LookupOwned(ctx, s, store.APIKeys, "d:none")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.Put(ctx, store.Tenants, store.Record{ID: "acme", Revoked: true}))
	check("d:1", "k1", true, true)
	must(t, s.Delete(ctx, store.Tenants, "acme"))
	check("d:1", "k1", false, false)
	must(t, s.Put(ctx, store.Tenants, store.Record{ID: "ghost"}))
	check("d:3", "k3", true, false)
	rec, _, err := store.LookupOwned(ctx, s, store.APIKeys, "d:1")
	must(t, err)
	rec.Scopes[0] = "changed" // the caller's copy
	if again, _, _ := store.LookupOwned(ctx, s, store.APIKeys, "d:1"); again.Scopes[0] != "a" {
		t.Fatal("a caller's change reached the store")
	}
}

func testKeyConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Name: "one", Keys: []string{"d:x"}}))
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k2", Name: "two", Keys: []string{"d:y"}}))
	err := s.Put(ctx, store.APIKeys, store.Record{ID: "k2", Name: "changed", Keys: []string{"d:z", "d:x"}})
	wantErr(t, err, store.ErrConflict)
	got, err := s.Get(ctx, store.APIKeys, "k2")
	must(t, err)
	if got.Name != "two" || !slices.Equal(got.Keys, []string{"d:y"}) {
		t.Fatalf("conflicting Put changed the record: %+v", got)
	}
	for key, id := range map[string]string{"d:x": "k1", "d:y": "k2"} {
		rec, err := s.Lookup(ctx, store.APIKeys, key)
		must(t, err)
		if rec.ID != id {
			t.Fatalf("Lookup(%s) = %s, want %s", key, rec.ID, id)
		}
	}
	_, err = s.Lookup(ctx, store.APIKeys, "d:z")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Get(ctx, store.APIKeys, "k3")
	wantErr(t, err, store.ErrNotFound)
}

func testListDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 30 {
		must(t, s.Put(ctx, store.Tenants, store.Record{ID: fmt.Sprintf("t%02d", i), Keys: []string{fmt.Sprintf("n:%d", i)}}))
	}
	recs, err := s.List(ctx, store.Tenants)
	must(t, err)
	if len(recs) != 30 {
		t.Fatalf("List = %d records, want 30", len(recs))
	}
	must(t, s.Delete(ctx, store.Tenants, "t07"))
	wantErr(t, s.Delete(ctx, store.Tenants, "t07"), store.ErrNotFound)
	_, err = s.Lookup(ctx, store.Tenants, "n:7")
	wantErr(t, err, store.ErrNotFound)
	recs, err = s.List(ctx, store.Tenants)
	must(t, err)
	if len(recs) != 29 {
		t.Fatalf("List after delete = %d, want 29", len(recs))
	}
	empty, err := s.List(ctx, store.Customers)
	must(t, err)
	if len(empty) != 0 {
		t.Fatalf("empty collection listed %d", len(empty))
	}
}

func testCollections(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Put(ctx, store.Apps, store.Record{ID: "same", Name: "app", Keys: []string{"k"}}))
	must(t, s.Put(ctx, store.Domains, store.Record{ID: "same", Name: "domain", Keys: []string{"k"}}))
	a, err := s.Lookup(ctx, store.Apps, "k")
	must(t, err)
	d, err := s.Lookup(ctx, store.Domains, "k")
	must(t, err)
	if a.Name != "app" || d.Name != "domain" {
		t.Fatalf("collections mixed: %q %q", a.Name, d.Name)
	}
}

func token(digest string, exp time.Time) store.Token {
	return store.Token{Digest: digest, Kind: "oauth2", Subject: "c1", Tenant: "acme", Scopes: []string{"read"},
		AccessType: "S2S", VisitorCode: "v", CustomerCode: "c", IssuedAt: T0.Unix(), ExpiresAt: exp.Unix()}
}

func testTokenExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	tok := token("t1", T0.Add(time.Hour))
	must(t, s.PutToken(ctx, tok, T0))
	got, err := s.GetToken(ctx, "t1", T0.Add(59*time.Minute))
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(tok) {
		t.Fatalf("GetToken = %+v, want %+v", got, tok)
	}
	_, err = s.GetToken(ctx, "t1", T0.Add(time.Hour))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetToken(ctx, "missing", T0)
	wantErr(t, err, store.ErrNotFound)
}

func testTokenTouch(t *testing.T, s store.Store) {
	ctx := context.Background()
	tok := token("s1", T0.Add(15*time.Minute))
	tok.IdleSeconds = 900
	must(t, s.PutToken(ctx, tok, T0))
	now := T0.Add(10 * time.Minute)
	got, err := s.TouchToken(ctx, "s1", now.Add(15*time.Minute).Unix(), now)
	must(t, err)
	if got.ExpiresAt != now.Add(15*time.Minute).Unix() {
		t.Fatalf("TouchToken exp = %d", got.ExpiresAt)
	}
	if _, err := s.GetToken(ctx, "s1", T0.Add(20*time.Minute)); err != nil {
		t.Fatalf("slid token gone at +20m: %v", err)
	}
	got, err = s.TouchToken(ctx, "s1", now.Add(time.Minute).Unix(), now)
	must(t, err)
	if got.ExpiresAt != now.Add(15*time.Minute).Unix() {
		t.Fatalf("TouchToken shortened the expiry to %d", got.ExpiresAt)
	}
	var wg sync.WaitGroup
	for i := range 8 { // concurrent slides keep the latest expiry
		wg.Go(func() {
			at := now.Add(time.Duration(i) * time.Second)
			if _, err := s.TouchToken(ctx, "s1", at.Add(15*time.Minute).Unix(), at); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err = s.GetToken(ctx, "s1", now)
	must(t, err)
	if got.ExpiresAt != now.Add(7*time.Second+15*time.Minute).Unix() {
		t.Fatalf("after concurrent slides exp = %d, want the latest", got.ExpiresAt)
	}
	_, err = s.TouchToken(ctx, "s1", 0, T0.Add(26*time.Minute))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.TouchToken(ctx, "nope", T0.Unix(), T0)
	wantErr(t, err, store.ErrNotFound)
}

func testTokenConsume(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutToken(ctx, token("sso", T0.Add(5*time.Minute)), T0))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Go(func() {
			tok, err := s.ConsumeToken(ctx, "sso", T0)
			switch {
			case err == nil && !tok.Consumed && tok.Subject == "c1":
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, store.ErrConsumed):
				t.Errorf("ConsumeToken = %+v, %v; want the token or ErrConsumed", tok, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent consumers won, want 1", wins)
	}
	got, err := s.GetToken(ctx, "sso", T0.Add(time.Minute))
	must(t, err)
	if !got.Consumed {
		t.Fatal("consumed token not marked")
	}
	_, err = s.ConsumeToken(ctx, "sso", T0.Add(time.Minute))
	wantErr(t, err, store.ErrConsumed)
	_, err = s.GetToken(ctx, "sso", T0.Add(5*time.Minute))
	wantErr(t, err, store.ErrNotFound)
	must(t, s.PutToken(ctx, token("old", T0.Add(time.Minute)), T0))
	_, err = s.ConsumeToken(ctx, "old", T0.Add(2*time.Minute))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ConsumeToken(ctx, "never", T0)
	wantErr(t, err, store.ErrNotFound)
}

func testTokenDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutToken(ctx, token("d1", T0.Add(time.Hour)), T0))
	must(t, s.DeleteToken(ctx, "d1", T0))
	_, err := s.GetToken(ctx, "d1", T0)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteToken(ctx, "d1", T0), store.ErrNotFound)
}

func testInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	wantErr(t, s.Put(ctx, store.Users, store.Record{}), store.ErrInvalid)
	wantErr(t, s.Put(ctx, store.Users, store.Record{ID: "x", Keys: []string{""}}), store.ErrInvalid)
	wantErr(t, s.PutToken(ctx, store.Token{}, T0), store.ErrInvalid)
	must(t, s.Ping(ctx))
}
