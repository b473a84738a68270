// SPDX-License-Identifier: Apache-2.0

package slots

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memStore is shared data as Envoy keeps it: a cas per key, bumped on each
// write; cas 0 writes unconditionally; keys are never deleted.
type memStore struct {
	v   map[string][]byte
	cas map[string]uint32
}

func newStore() *memStore { return &memStore{v: map[string][]byte{}, cas: map[string]uint32{}} }

func (m *memStore) Get(key string) ([]byte, uint32, bool, error) {
	v, ok := m.v[key]
	return v, m.cas[key], ok, nil
}

func (m *memStore) Set(key string, value []byte, cas uint32) error {
	if _, exists := m.v[key]; exists && cas != 0 && cas != m.cas[key] {
		return errors.New("cas mismatch")
	}
	m.v[key] = append([]byte(nil), value...)
	m.cas[key]++
	return nil
}

func (m *memStore) bytes() int {
	n := 0
	for k, v := range m.v {
		n += len(k) + len(v)
	}
	return n
}

var t0 = time.Unix(1_800_000_000, 0)

// 100,000 distinct ids never make more keys than the table's size, and the
// stored bytes stay bounded.
func TestTableIsBounded(t *testing.T) {
	st := newStore()
	tab := Table{Prefix: "c/", Size: 1024, Probes: 4}
	peak := 0
	for i := 0; i < 100_000; i++ {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		tab.Put(st, fmt.Sprintf("id-%d", i), []byte("answer"), now.Add(time.Minute), now)
		peak = max(peak, st.bytes())
	}
	if len(st.v) > tab.Keys() {
		t.Fatalf("%d keys, bound %d", len(st.v), tab.Keys())
	}
	if peak > tab.Keys()*64 {
		t.Fatalf("%d bytes stored", peak)
	}
}

func TestPutGet(t *testing.T) {
	st := newStore()
	tab := Table{Prefix: "c/", Size: 8, Probes: 3}
	if !tab.Put(st, "a", []byte("1"), t0.Add(time.Minute), t0) {
		t.Fatal("no room in an empty table")
	}
	if v, ok := tab.Get(st, "a", t0); !ok || string(v) != "1" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if _, ok := tab.Get(st, "b", t0); ok {
		t.Fatal("an id never stored was found")
	}
	if _, ok := tab.Get(st, "a", t0.Add(time.Minute)); ok {
		t.Fatal("an expired entry was served")
	}
	tab.Put(st, "a", []byte("2"), t0.Add(2*time.Minute), t0)
	if v, _ := tab.Get(st, "a", t0); string(v) != "2" {
		t.Fatalf("overwrite: %q", v)
	}
}

// With every slot of an id's probe sequence live, Put reports no room and
// leaves the other entries alone; once they expire the slots are reused.
func TestFullTable(t *testing.T) {
	st := newStore()
	tab := Table{Prefix: "c/", Size: 2, Probes: 2}
	for _, id := range []string{"x", "y", "z", "w"} {
		tab.Put(st, id, []byte(id), t0.Add(time.Minute), t0)
	}
	live := 0
	for _, id := range []string{"x", "y", "z", "w"} {
		if _, ok := tab.Get(st, id, t0); ok {
			live++
		}
	}
	if live != 2 {
		t.Fatalf("%d live entries in a table of 2", live)
	}
	later := t0.Add(2 * time.Minute)
	if !tab.Put(st, "v", []byte("v"), later.Add(time.Minute), later) {
		t.Fatal("expired slots were not reused")
	}
}

type raceStore struct {
	*memStore
	before func()
	match  string // the write that triggers before; default a value ending in "mine"
}

func (r *raceStore) Set(key string, value []byte, cas uint32) error {
	hit := strings.HasSuffix(string(value), "mine")
	if r.match != "" {
		hit = strings.Contains(string(value), r.match)
	}
	if r.before != nil && hit {
		r.before()
		r.before = nil
	}
	return r.memStore.Set(key, value, cas)
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("id\n123\npayload"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, ok := decode(b); ok && len(e.id)+len(e.payload) > len(b) {
			t.Fatal("decode read past its input")
		}
	})
}

// A replay set under a steady load far below its capacity never refuses a
// fresh id, never accepts a replay, and stays within its keys.
func TestBucketsSteadyLoad(t *testing.T) {
	st := newStore()
	b := Buckets{Prefix: "n/", Size: 128, PerKey: 8, Probes: 2}
	for i := 0; i < 100_000; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		id := fmt.Sprintf("sig-%d", i)
		if got := b.Claim(st, id, now.Add(31*time.Second), now); got != First {
			t.Fatalf("claim %d: %v", i, got)
		}
		if i%97 == 0 {
			if got := b.Claim(st, id, now.Add(31*time.Second), now.Add(time.Second)); got != Used {
				t.Fatalf("replay %d: %v", i, got)
			}
		}
	}
	if len(st.v) > b.Keys() {
		t.Fatalf("%d keys, bound %d", len(st.v), b.Keys())
	}
}

// Past capacity, the oldest markers are evicted: fresh ids still fit, and a
// replay of an evicted id is refused by the bucket's floor.
func TestBucketsEvict(t *testing.T) {
	st := newStore()
	b := Buckets{Prefix: "n/", Size: 2, PerKey: 2, Probes: 2}
	for i := 0; i < 10; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		if got := b.Claim(st, fmt.Sprintf("id-%d", i), now.Add(time.Hour), now); got != First {
			t.Fatalf("fresh id %d past capacity: %v", i, got)
		}
	}
	for i := 0; i < 10; i++ {
		now := t0.Add(20 * time.Second)
		exp := t0.Add(time.Duration(i)*time.Second + time.Hour)
		if got := b.Claim(st, fmt.Sprintf("id-%d", i), exp, now); got != Used {
			t.Fatalf("replay of id %d (evicted or not): %v", i, got)
		}
	}
	if len(st.v) > b.Keys() {
		t.Fatalf("%d keys", len(st.v))
	}
}

// Two first claims of one id on a missing bucket: creation is atomic.
func TestBucketsCreateRace(t *testing.T) {
	st := newStore()
	b := Buckets{Prefix: "n/", Size: 1, PerKey: 8, Probes: 1}
	racing := &raceStore{memStore: st, match: "sig ", before: func() {
		b.Claim(st, "sig", t0.Add(time.Hour), t0)
	}}
	if got := b.Claim(racing, "sig", t0.Add(time.Hour), t0); got == First {
		t.Fatal("both first claims of one id succeeded")
	}
	other := &raceStore{memStore: newStore(), match: "x ", before: nil}
	racing2 := &raceStore{memStore: other.memStore, match: "x ", before: func() {
		b.Claim(other.memStore, "y", t0.Add(time.Hour), t0)
	}}
	b.Claim(racing2, "x", t0.Add(time.Hour), t0)
	if got := b.Claim(other.memStore, "x", t0.Add(time.Hour), t0.Add(time.Second)); got != Used {
		t.Fatal("a concurrent first write erased a claimed marker")
	}
}

// Concurrent claims of one id on an existing bucket: the cas lets one win.
func TestBucketsRace(t *testing.T) {
	st := newStore()
	b := Buckets{Prefix: "n/", Size: 1, PerKey: 8, Probes: 1}
	b.Claim(st, "other", t0.Add(time.Hour), t0)
	racing := &raceStore{memStore: st, before: func() {
		// Another VM claims the same id between this claim's read and write.
		b.Claim(st, "sig", t0.Add(time.Hour), t0)
	}}
	racing.match = "sig "
	if got := b.Claim(racing, "sig", t0.Add(time.Hour), t0); got == First {
		t.Fatal("both claims of one id succeeded")
	}
}

// A marker evicted from one bucket stays refused when room appears in
// another bucket of the same id: the floor, not only the full bucket, says
// so.
func TestBucketsFloorHoldsWhenRoomAppears(t *testing.T) {
	st := newStore()
	b := Buckets{Prefix: "n/", Size: 2, PerKey: 1, Probes: 2}
	tab := b.table()
	pick := func(slot string, not ...string) string {
		for i := 0; ; i++ {
			id := fmt.Sprintf("id-%d", i)
			if tab.slot(id, 0) == slot && !slices.Contains(not, id) {
				return id
			}
		}
	}
	x1, x2 := pick("n/0"), pick("n/1")
	y := pick("n/0", x1)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	b.Claim(st, x1, at(500), at(0))                          // bucket 0
	b.Claim(st, x2, at(100), at(0))                          // bucket 1
	if got := b.Claim(st, y, at(600), at(1)); got != First { // both full: x1 evicted from bucket 0
		t.Fatalf("claim of y: %v", got)
	}
	// At 200 s x2 has expired: bucket 1 has room, x1 is still within its life.
	if got := b.Claim(st, x1, at(500), at(200)); got != Used {
		t.Fatalf("replay of the evicted x1: %v, want Used", got)
	}
}

// A slot's number is hash/fnv's FNV-1a of the id, as VMs of other builds
// compute it, so they agree on where an id lives.
func FuzzSlotHash(f *testing.F) {
	f.Add("", 0)
	f.Add("4f2a-credential-digest", 3)
	f.Fuzz(func(t *testing.T, id string, probe int) {
		h := fnv.New32a()
		h.Write([]byte(id))
		if got, want := fnv32a(id), h.Sum32(); got != want {
			t.Fatalf("fnv32a(%q) = %d; hash/fnv: %d", id, got, want)
		}
		tb := Table{Prefix: "credgate.test.", Size: 61}
		want := tb.Prefix + strconv.FormatUint(uint64((h.Sum32()+uint32(probe))%61), 10)
		if got := tb.slot(id, probe); got != want {
			t.Fatalf("slot(%q, %d) = %q, want %q", id, probe, got, want)
		}
	})
}

// GetInto answers as Get does, from the caller's key buffer, and a warm
// lookup allocates nothing, whichever probe holds the entry.
func TestGetInto(t *testing.T) {
	st := newStore()
	tab := Table{Prefix: "c/", Size: 4, Probes: 4}
	for _, id := range []string{"a", "b", "c", "d"} {
		if !tab.Put(st, id, []byte("v"+id), t0.Add(time.Minute), t0) {
			t.Fatalf("no room for %s", id)
		}
	}
	var key []byte
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		v1, ok1 := tab.Get(st, id, t0)
		v2, ok2 := tab.GetInto(st, id, t0, &key)
		if ok1 != ok2 || string(v1) != string(v2) || ok1 != (id != "e") {
			t.Fatalf("%s: Get %q %v, GetInto %q %v", id, v1, ok1, v2, ok2)
		}
	}
	if n := testing.AllocsPerRun(100, func() { tab.GetInto(st, "d", t0, &key) }); n != 0 {
		t.Fatalf("%v allocations per warm GetInto", n)
	}
}
