// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func pol() Policy {
	return Policy{MaxEntries: 3, MaxTTL: time.Minute, NegativeTTL: 5 * time.Second, StaleWindow: time.Minute}
}

func TestLifetimes(t *testing.T) {
	tests := []struct {
		name      string
		answer    authn.Answer
		refresh   time.Duration
		wantOK    bool
		wantFresh time.Duration
		wantStale time.Duration
	}{
		{name: "cluster hint shorter than max", answer: authn.Answer{Active: true, CacheTTL: 10 * time.Second}, wantOK: true, wantFresh: 10 * time.Second, wantStale: 70 * time.Second},
		{name: "max caps the hint", answer: authn.Answer{Active: true, CacheTTL: time.Hour}, wantOK: true, wantFresh: time.Minute, wantStale: 2 * time.Minute},
		{name: "never past expiry", answer: authn.Answer{Active: true, CacheTTL: time.Hour, ExpiresAt: stamp.Of(t0.Add(20 * time.Second))}, wantOK: true, wantFresh: 20 * time.Second, wantStale: 20 * time.Second},
		{name: "no hint, no caching", answer: authn.Answer{Active: true}, wantOK: false},
		{name: "already expired", answer: authn.Answer{Active: true, CacheTTL: time.Minute, ExpiresAt: stamp.Of(t0)}, wantOK: false},
		{name: "negative is short and never stale", answer: authn.Answer{Active: false, CacheTTL: time.Hour}, wantOK: true, wantFresh: 5 * time.Second, wantStale: 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := pol().Lifetimes(&tc.answer, t0, tc.refresh)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if got := e.FreshUntil.Time().Sub(t0); got != tc.wantFresh {
				t.Errorf("fresh = %v, want %v", got, tc.wantFresh)
			}
			if got := e.StaleUntil.Time().Sub(t0); got != tc.wantStale {
				t.Errorf("stale = %v, want %v", got, tc.wantStale)
			}
		})
	}
}

func TestGetStatesAndEviction(t *testing.T) {
	c := New(pol())
	a := &authn.Answer{Active: true, CacheTTL: 10 * time.Second}
	e, _ := pol().Lifetimes(a, t0, 0)
	c.Put("k1", "d1", e, t0)
	if _, st := c.Get("k1", t0.Add(5*time.Second)); st != Fresh {
		t.Fatalf("state = %v, want fresh", st)
	}
	if _, st := c.Get("k1", t0.Add(30*time.Second)); st != Stale {
		t.Fatalf("state = %v, want stale", st)
	}
	if _, st := c.Get("k1", t0.Add(2*time.Minute)); st != Missing || c.Len() != 0 {
		t.Fatalf("state = %v len %d, want missing and removed", st, c.Len())
	}
	for i := 0; i < 5; i++ {
		c.Put(fmt.Sprintf("k%d", i), "d", e, t0)
	}
	if c.Len() != 3 {
		t.Fatalf("len = %d, want bounded at 3", c.Len())
	}
	if _, st := c.Get("k0", t0); st != Missing {
		t.Fatal("least recently used entry survived")
	}
	if n := c.EvictDigest("d"); n != 3 || c.Len() != 0 {
		t.Fatalf("evicted %d, len %d", n, c.Len())
	}
}

// Clear drops every entry, stale ones included, and its indexes: nothing is
// found by key or digest afterwards, and the cache fills again.
func TestClear(t *testing.T) {
	c := New(pol())
	e, _ := pol().Lifetimes(&authn.Answer{Active: true, CacheTTL: 10 * time.Second}, t0, 0)
	c.Put("k1", "d1", e, t0)
	c.Put("k2", "d2", e, t0)
	if n := c.Clear(); n != 2 || c.Len() != 0 {
		t.Fatalf("Clear = %d, len %d", n, c.Len())
	}
	for _, at := range []time.Time{t0, t0.Add(30 * time.Second)} {
		if _, st := c.Get("k1", at); st != Missing {
			t.Fatalf("k1 at %v: %v after Clear", at, st)
		}
	}
	if n := c.EvictDigest("d2"); n != 0 {
		t.Fatalf("digest index kept %d entries", n)
	}
	c.Put("k3", "d3", e, t0)
	if _, st := c.Get("k3", t0); st != Fresh || c.Len() != 1 {
		t.Fatalf("after Clear: %v, len %d", st, c.Len())
	}
}

// Entries past their stale window leave on later Puts, without waiting for
// the cache to fill; live entries stay.
func TestPutDropsDeadEntries(t *testing.T) {
	p := pol()
	p.MaxEntries, p.MaxTTL = 1000, time.Hour
	c := New(p)
	live, _ := p.Lifetimes(&authn.Answer{Active: true, CacheTTL: time.Hour}, t0, 0)
	c.Put("live", "d-live", live, t0)
	for i := 0; i < 500; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		neg, _ := p.Lifetimes(&authn.Answer{Active: false}, now, 0)
		c.Put(fmt.Sprintf("miss-%d", i), "d", neg, now)
		if _, st := c.Get("live", now); st != Fresh {
			t.Fatalf("step %d: the live entry is %v", i, st)
		}
	}
	if c.Len() > 1+int(p.NegativeTTL/time.Second)+2 {
		t.Fatalf("%d entries: dead refusals are kept (negative TTL %v)", c.Len(), p.NegativeTTL)
	}
}

// TestHammer interleaves puts, gets and evictions and checks the indexes stay
// consistent with the list.
func TestHammer(t *testing.T) {
	p := pol()
	p.MaxEntries = 50
	c := New(p)
	rng := rand.New(rand.NewSource(1))
	e, _ := p.Lifetimes(&authn.Answer{Active: true, CacheTTL: time.Minute}, t0, 0)
	for i := 0; i < 20000; i++ {
		key := fmt.Sprintf("k%d", rng.Intn(200))
		digest := fmt.Sprintf("d%d", rng.Intn(40))
		switch rng.Intn(3) {
		case 0:
			c.Put(key, digest, e, t0.Add(time.Duration(rng.Intn(180))*time.Second))
		case 1:
			c.Get(key, t0.Add(time.Duration(rng.Intn(180))*time.Second))
		case 2:
			c.EvictDigest(digest)
		}
		if c.Len() > p.MaxEntries || len(c.items) != c.ll.Len() {
			t.Fatalf("step %d: len %d, items %d", i, c.ll.Len(), len(c.items))
		}
	}
	total := 0
	for _, set := range c.byDigest {
		total += len(set)
	}
	if total != c.Len() {
		t.Fatalf("digest index holds %d keys, cache %d", total, c.Len())
	}
}
