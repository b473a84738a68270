// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"testing"
	"time"
)

// TestFeedRules walks a VM through the feed: first position, pages,
// falling behind, a reset; at each step it checks which answers may be
// cached (by the mark they were asked at) and which shared answers may be
// used (by their stamp).
func TestFeedRules(t *testing.T) {
	const keep = 10 * time.Minute
	var f Feed
	if f.Following() || f.Position() != 0 || f.Cursor() != "" {
		t.Fatalf("new feed: %+v", f)
	}
	before := f.Mark() // asked before the first position was known
	f.Advance("40", t0, keep)
	if !f.Following() || f.Position() != 40 {
		t.Fatalf("after the first poll: %+v", f)
	}
	if f.Current(before) {
		t.Error("an answer asked before the VM followed the feed is cacheable")
	}
	at40 := f.Mark()
	f.Advance("", t0, keep) // a page without next changes nothing
	f.Advance("45", t0, keep)
	steps := []struct {
		name  string
		mark  Mark
		cache bool
	}{
		{"asked at 40, answered at 45", at40, true},
		{"asked at 45", f.Mark(), true},
	}
	for _, s := range steps {
		if got := f.Current(s.mark); got != s.cache {
			t.Errorf("%s: cacheable %v, want %v", s.name, got, s.cache)
		}
	}
	shared := []struct {
		stamp  uint64
		usable bool
	}{{39, false}, {40, true}, {45, true}, {1000, true}}
	for _, s := range shared {
		if got := f.SharedUsable(s.stamp, t0); got != s.usable {
			t.Errorf("following from 40: shared answer stamped %d usable %v, want %v", s.stamp, got, s.usable)
		}
	}

	// Behind: the feed was compacted past 45; the head is 90.
	at45 := f.Mark()
	if !f.Restart("90", t0, keep) {
		t.Fatal("Restart of a following VM did not ask for a cache drop")
	}
	if f.Current(at45) || f.Current(at40) {
		t.Error("an answer asked before the restart is cacheable")
	}
	if !f.Current(f.Mark()) || f.Position() != 90 {
		t.Errorf("after the restart: %+v", f)
	}
	for _, s := range []struct {
		stamp  uint64
		usable bool
	}{{45, false}, {89, false}, {90, true}, {91, true}} {
		if got := f.SharedUsable(s.stamp, t0); got != s.usable {
			t.Errorf("restarted at 90: shared answer stamped %d usable %v, want %v", s.stamp, got, s.usable)
		}
	}

	// Reset: the feed went back to 3. Every stamp is from another numbering.
	if !f.Restart("3", t0, keep) {
		t.Fatal("reset did not ask for a cache drop")
	}
	for _, at := range []time.Time{t0, t0.Add(keep - time.Second)} {
		if f.SharedUsable(90, at) || f.SharedUsable(3, at) {
			t.Errorf("after a reset the shared layer is used at %v", at.Sub(t0))
		}
	}
	if !f.SharedUsable(3, t0.Add(keep)) || f.SharedUsable(2, t0.Add(keep)) {
		t.Error("once every older shared answer expired, stamps from 3 on are not usable (or older ones are)")
	}

	// Behind without next: the position is forgotten until the next poll.
	at3 := f.Mark()
	if !f.Restart("", t0, keep) || f.Following() || f.Current(at3) {
		t.Errorf("restart without next: %+v", f)
	}
	if f.Restart("7", t0, keep) {
		t.Error("learning the head again asked for another cache drop")
	}
}

func TestFeedFirstRestartIsNoDrop(t *testing.T) {
	var f Feed
	if f.Restart("12", t0, time.Minute) {
		t.Fatal("the first position asked for a cache drop")
	}
	if !f.SharedUsable(12, t0) || f.SharedUsable(11, t0) {
		t.Fatalf("first start at 12: %+v", f)
	}
}
