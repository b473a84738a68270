// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

func testRevocations(t *testing.T, s store.Store) {
	ctx := context.Background()
	entries, feed, err := s.Revocations(ctx, 0, 10)
	must(t, err)
	if len(entries) != 0 || feed != (store.Feed{Epoch: feed.Epoch}) || feed.Epoch == "" {
		t.Fatalf("empty feed = %v %+v, want no entries, head 0 and an epoch", entries, feed)
	}
	for i := 1; i <= 5; i++ {
		seq, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("d", i), At: int64(i)})
		must(t, err)
		if seq != uint64(i) {
			t.Fatalf("seq = %d, want %d", seq, i)
		}
	}
	entries, feed, err = s.Revocations(ctx, 2, 2)
	must(t, err)
	if feed.Head != 5 || feed.Floor != 0 || len(entries) != 2 || entries[0].Seq != 3 || entries[1].Digest != "d4" || entries[1].At != 4 {
		t.Fatalf("Revocations(2,2) = %+v %+v", entries, feed)
	}
	entries, feed, err = s.Revocations(ctx, 1, 0)
	must(t, err)
	if len(entries) != 0 || feed.Head != 5 {
		t.Fatalf("Revocations(1,0) = %+v %+v, want none and head 5", entries, feed)
	}
	entries, feed, err = s.Revocations(ctx, 7, 10)
	must(t, err)
	if len(entries) != 0 || feed.Head != 5 || !feed.Behind(feed.At(7)) {
		t.Fatalf("past head = %+v %+v", entries, feed)
	}
}

// testRevocationTags: every read tags the head and the entry at since
// (EntryTag of that entry, "" where the log holds none); a cursor whose tag
// is another's is missed, one without a tag is behind, and a cursor at the
// floor after compaction has no entry to check.
func testRevocationTags(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, feed, err := s.Revocations(ctx, 0, 0)
	must(t, err)
	if feed.Tag != "" || feed.SinceTag != "" || feed.Missed(feed.At(0)) {
		t.Fatalf("empty feed %+v: tags or behind at 0", feed)
	}
	for i := 1; i <= 5; i++ {
		_, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("d", i), At: int64(100 + i)})
		must(t, err)
	}
	all, feed, err := s.Revocations(ctx, 0, 10)
	must(t, err)
	if len(all) != 5 || feed.Tag != store.EntryTag(feed.Epoch, all[4]) {
		t.Fatalf("head tag %q of %+v, entries %+v", feed.Tag, feed, all)
	}
	tags := map[string]bool{}
	for since := uint64(0); since <= 6; since++ {
		_, f, err := s.Revocations(ctx, since, 1)
		must(t, err)
		want := ""
		if since >= 1 && since <= 5 {
			want = store.EntryTag(f.Epoch, all[since-1])
			tags[want] = true
		}
		if f.SinceTag != want || f.Tag != feed.Tag {
			t.Errorf("read at %d: %+v, want since tag %q and head tag %q", since, f, want, feed.Tag)
		}
		if since >= 1 && since <= 5 {
			c := f.CursorAt(all[since-1])
			other := c
			other.Tag = store.EntryTag(f.Epoch, store.Revocation{Seq: since, Kind: "api_key", Digest: "other"})
			untagged := c
			untagged.Tag, untagged.Untagged = "", true
			if f.Missed(c) || !f.Missed(other) || !f.Missed(untagged) || !f.Missed(store.Cursor{Epoch: c.Epoch, Seq: since}) {
				t.Errorf("read at %d: Missed wrong for its own cursor %+v, another tag, no tag or an empty tag", since, c)
			}
			if p, ok := store.ParseCursor(c.String()); !ok || p != c {
				t.Errorf("cursor %q parses as %+v, %v", c.String(), p, ok)
			}
			if p, ok := store.ParseCursor(fmt.Sprintf("%s:%d", c.Epoch, since)); !ok || p != untagged {
				t.Errorf("an untagged cursor parses as %+v, %v", p, ok)
			}
		}
	}
	if len(tags) != 5 {
		t.Errorf("tags of 5 entries: %d distinct", len(tags))
	}
	_, err = s.CompactRevocations(ctx, 103, 0) // floor 2
	must(t, err)
	for _, c := range []struct {
		cursor store.Cursor
		missed bool
	}{
		{store.Cursor{Epoch: feed.Epoch, Seq: 2}, false},                                // at the floor: nothing to check
		{feed.CursorAt(all[1]), false},                                                  // at the floor with the tag it had
		{store.Cursor{Epoch: feed.Epoch, Seq: 2, Untagged: true}, true},                 // untagged
		{feed.CursorAt(all[0]), true},                                                   // below the floor
		{feed.CursorAt(all[2]), false},                                                  // held, its tag
		{store.Cursor{Epoch: feed.Epoch, Seq: 3, Tag: feed.CursorAt(all[1]).Tag}, true}, // held, another's tag
	} {
		_, f, err := s.Revocations(ctx, c.cursor.Seq, 10)
		must(t, err)
		if got := f.Missed(c.cursor); got != c.missed {
			t.Errorf("after compaction to %d: Missed(%+v) = %v, want %v (%+v)", f.Floor, c.cursor, got, c.missed, f)
		}
	}
	_, err = s.CompactRevocations(ctx, 1000, 0) // everything: floor = head 5
	must(t, err)
	_, f, err := s.Revocations(ctx, 5, 10)
	must(t, err)
	if f.Tag != "" || f.SinceTag != "" || f.Missed(feed.At(5)) || f.Missed(f.At(5)) {
		t.Errorf("compacted through the head: %+v; a cursor at the head must stay current", f)
	}
}

// testRevocationCompaction removes entries by age and by count: sequence
// numbers stay, the floor moves, readers below it are behind, appends go on.
func testRevocationCompaction(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 1; i <= 10; i++ {
		_, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("d", i), At: int64(100 + i)})
		must(t, err)
	}
	steps := []struct {
		name        string
		before      int64
		keep        int
		removed     int
		floor, head uint64
	}{
		{name: "nothing old enough", before: 101, keep: 0, removed: 0, floor: 0, head: 10},
		{name: "by age", before: 104, keep: 0, removed: 3, floor: 3, head: 10},
		{name: "by count", before: 0, keep: 5, removed: 2, floor: 5, head: 10},
		{name: "count already met", before: 0, keep: 5, removed: 0, floor: 5, head: 10},
		{name: "age beyond count", before: 108, keep: 4, removed: 2, floor: 7, head: 10},
		{name: "everything", before: 1000, keep: 0, removed: 3, floor: 10, head: 10},
	}
	for _, st := range steps {
		n, err := s.CompactRevocations(ctx, st.before, st.keep)
		must(t, err)
		_, feed, err := s.Revocations(ctx, 0, 0)
		must(t, err)
		if n != st.removed || feed.Floor != st.floor || feed.Head != st.head {
			t.Fatalf("%s: removed %d, feed %+v; want %d removed, floor %d head %d", st.name, n, feed, st.removed, st.floor, st.head)
		}
	}
	seq, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: "d11", At: 111})
	must(t, err)
	if seq != 11 {
		t.Fatalf("append after compaction: seq %d, want 11", seq)
	}
	entries, feed, err := s.Revocations(ctx, 10, 10)
	must(t, err)
	if len(entries) != 1 || entries[0].Seq != 11 || entries[0].Digest != "d11" || feed != (store.Feed{Epoch: feed.Epoch, Floor: 10, Head: 11, Tag: store.EntryTag(feed.Epoch, entries[0])}) {
		t.Fatalf("after compaction: %+v %+v", entries, feed)
	}
	if !feed.Behind(feed.At(9)) || feed.Behind(feed.At(10)) || feed.Behind(feed.At(11)) || !feed.Behind(feed.At(12)) {
		t.Fatalf("Behind around %+v is wrong", feed)
	}
	// A reader below the floor gets what is kept, from the floor on.
	entries, _, err = s.Revocations(ctx, 2, 10)
	must(t, err)
	if len(entries) != 1 || entries[0].Seq != 11 {
		t.Fatalf("below the floor: %+v", entries)
	}
}

// testRevocationEpoch: a feed has one epoch for its life (reads, appends,
// compaction, reopening do not change it); a feed made again (another
// store: a reset) has another, so a cursor of the first one is behind there
// even where the second reuses its sequence numbers.
func testRevocationEpoch(t *testing.T, open Open) {
	ctx := context.Background()
	a := open(t)
	t.Cleanup(func() { _ = a.Close() })
	_, first, err := a.Revocations(ctx, 0, 0)
	must(t, err)
	if c, ok := store.ParseCursor(first.At(0).String()); !ok || c != first.At(0) {
		t.Fatalf("cursor %q of epoch %q does not parse back (%+v, %v)", first.At(0).String(), first.Epoch, c, ok)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"read again", func() error { _, _, err := a.Revocations(ctx, 0, 10); return err }},
		{"append", func() error {
			for i := range 3 {
				if _, err := a.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("a", i), At: int64(100 + i)}); err != nil {
					return err
				}
			}
			return nil
		}},
		{"compact", func() error { _, err := a.CompactRevocations(ctx, 101, 0); return err }},
		{"read after compaction", func() error { _, _, err := a.Revocations(ctx, 1, 10); return err }},
	}
	for _, st := range steps {
		must(t, st.do())
		_, feed, err := a.Revocations(ctx, 0, 0)
		must(t, err)
		if feed.Epoch != first.Epoch {
			t.Fatalf("after %s: epoch %q, want %q", st.name, feed.Epoch, first.Epoch)
		}
	}

	// The feed made again: another store, whose first appends reuse 1..3.
	b := open(t)
	t.Cleanup(func() { _ = b.Close() })
	for i := range 3 {
		_, err := b.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("b", i), At: int64(100 + i)})
		must(t, err)
	}
	_, fa, err := a.Revocations(ctx, 0, 0)
	must(t, err)
	_, fb, err := b.Revocations(ctx, 0, 0)
	must(t, err)
	if fb.Epoch == "" || fb.Epoch == fa.Epoch {
		t.Fatalf("two feeds share epoch %q", fa.Epoch)
	}
	cursors := []struct {
		name   string
		cursor store.Cursor
		behind bool
	}{
		{"at the head", fb.At(3), false},
		{"before the head", fb.At(1), false},
		{"at 0", fb.At(0), false},
		{"past the head (the feed went back)", fb.At(4), true},
		{"the old feed's head, reused", fa.At(3), true},
		{"the old feed at 0", fa.At(0), true},
		{"no epoch (a bare sequence)", store.Cursor{Seq: 3}, true},
	}
	for _, c := range cursors {
		if got := fb.Behind(c.cursor); got != c.behind {
			t.Errorf("%s: Behind(%+v) = %v in %+v, want %v", c.name, c.cursor, got, fb, c.behind)
		}
	}
}

// testRevocationsHammer appends from P goroutines N times each while a reader
// follows the feed: sequences are unique, contiguous and read in order.
func testRevocationsHammer(t *testing.T, s store.Store) {
	ctx := context.Background()
	const P, N = 8, 25
	var wg sync.WaitGroup
	for p := range P {
		wg.Go(func() {
			for n := range N {
				if _, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint(p, "-", n)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[string]bool{}
	var cursor uint64
	deadline := time.Now().Add(30 * time.Second)
	for cursor < P*N && time.Now().Before(deadline) {
		entries, _, err := s.Revocations(ctx, cursor, 7)
		must(t, err)
		for _, e := range entries {
			if e.Seq != cursor+1 || seen[e.Digest] {
				t.Fatalf("entry %+v after cursor %d (seen before: %v)", e, cursor, seen[e.Digest])
			}
			seen[e.Digest] = true
			cursor = e.Seq
		}
	}
	wg.Wait()
	if len(seen) != P*N {
		t.Fatalf("read %d distinct entries, want %d", len(seen), P*N)
	}
}
