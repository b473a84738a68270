// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

// TestFeedRules walks a VM through the feed: first position, pages,
// falling behind, a reset; at each step it checks which answers may be
// cached (by the mark they were asked at) and which shared answers may be
// used (by their stamp).
func TestFeedRules(t *testing.T) {
	const keep = 10 * time.Minute
	var f Feed
	if f.Following() || f.Position() != (Position{}) || f.Cursor() != "" {
		t.Fatalf("new feed: %+v", f)
	}
	before := f.Mark() // asked before the first position was known
	f.Advance("e1:40", t0, keep)
	if !f.Following() || f.Position() != at("e1", 40) {
		t.Fatalf("after the first poll: %+v", f)
	}
	if f.Current(before) {
		t.Error("an answer asked before the VM followed the feed is cacheable")
	}
	at40 := f.Mark()
	f.Advance("", t0, keep) // a page without next changes nothing
	f.Advance("e1:45", t0, keep)
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
		stamp  Position
		usable bool
	}{{at("e1", 39), false}, {at("e1", 40), true}, {at("e1", 45), true}, {at("e1", 1000), true},
		{at("e2", 45), false}, {at("", 45), false}}
	for _, s := range shared {
		if got := f.SharedUsable(s.stamp, t0); got != s.usable {
			t.Errorf("following from 40: shared answer stamped %+v usable %v, want %v", s.stamp, got, s.usable)
		}
	}

	// Behind: the feed was compacted past 45; the head is 90.
	at45 := f.Mark()
	if !f.Restart("e1:90", t0, keep) {
		t.Fatal("Restart of a following VM did not ask for a cache drop")
	}
	if f.Current(at45) || f.Current(at40) {
		t.Error("an answer asked before the restart is cacheable")
	}
	if !f.Current(f.Mark()) || f.Position() != at("e1", 90) {
		t.Errorf("after the restart: %+v", f)
	}
	for _, s := range []struct {
		stamp  Position
		usable bool
	}{{at("e1", 45), false}, {at("e1", 89), false}, {at("e1", 90), true}, {at("e1", 91), true}} {
		if got := f.SharedUsable(s.stamp, t0); got != s.usable {
			t.Errorf("restarted at 90: shared answer stamped %+v usable %v, want %v", s.stamp, got, s.usable)
		}
	}

	// Reset within one epoch: the feed went back to 3. Every stamp is from
	// another numbering.
	if !f.Restart("e1:3", t0, keep) {
		t.Fatal("reset did not ask for a cache drop")
	}
	for _, when := range []time.Time{t0, t0.Add(keep - time.Second)} {
		if f.SharedUsable(at("e1", 90), when) || f.SharedUsable(at("e1", 3), when) {
			t.Errorf("after a reset the shared layer is used at %v", when.Sub(t0))
		}
	}
	if !f.SharedUsable(at("e1", 3), t0.Add(keep)) || f.SharedUsable(at("e1", 2), t0.Add(keep)) {
		t.Error("once every older shared answer expired, stamps from 3 on are not usable (or older ones are)")
	}

	// Behind without next: the position is forgotten until the next poll.
	at3 := f.Mark()
	if !f.Restart("", t0, keep) || f.Following() || f.Current(at3) {
		t.Errorf("restart without next: %+v", f)
	}
	if f.Restart("e1:7", t0, keep) {
		t.Error("learning the head again asked for another cache drop")
	}
}

func TestFeedFirstRestartIsNoDrop(t *testing.T) {
	var f Feed
	if f.Restart("e1:12", t0, time.Minute) {
		t.Fatal("the first position asked for a cache drop")
	}
	if !f.SharedUsable(at("e1", 12), t0) || f.SharedUsable(at("e1", 11), t0) {
		t.Fatalf("first start at 12: %+v", f)
	}
}

func at(epoch string, seq uint64) Position { return Position{Epoch: epoch, Seq: seq} }

func TestParsePosition(t *testing.T) {
	tests := []struct {
		cursor string
		want   Position
		ok     bool
	}{
		{"3f2a9c1b7d6e5f40:12", at("3f2a9c1b7d6e5f40", 12), true},
		{"3f2a9c1b7d6e5f40:0", at("3f2a9c1b7d6e5f40", 0), true},
		{"12", at("", 12), true}, // a token cluster without epochs
		{"", Position{}, false},
		{":12", Position{}, false},
		{"e1:", Position{}, false},
		{"e1:x", Position{}, false},
		{"e1:-1", Position{}, false},
		{"3f2a9c1b7d6e5f40:12:9c1b7d6e5f403f2a", at("3f2a9c1b7d6e5f40", 12), true},
		{"3f2a9c1b7d6e5f40:0:", at("3f2a9c1b7d6e5f40", 0), true}, // no entry at 0: no tag
		{"e1:2:3", at("e1", 2), true},                            // the tag is the cluster's to check
		{"e1:2:", at("e1", 2), true},
		{"e1::ab", Position{}, false},
		{"e1:x:ab", Position{}, false},
		{"e1:2:ab:cd", Position{}, false},
	}
	for _, tc := range tests {
		got, ok := ParsePosition(tc.cursor)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParsePosition(%q) = %+v, %v; want %+v, %v", tc.cursor, got, ok, tc.want, tc.ok)
		}
	}
}

// TestFeedMadeAgain: the token cluster's feed was made again (a new epoch)
// and reuses the sequence numbers. Seq 45 of the new epoch is not seq 45 of
// the old one: shared answers stamped in the old epoch are refused however
// high their sequence, the new epoch's from its start on are used (no shared
// layer closure is needed: stamps say their epoch), and a next in another
// epoch is foreign to the cursor.
func TestFeedMadeAgain(t *testing.T) {
	const keep = 10 * time.Minute
	var f Feed
	f.Advance("old:45", t0, keep)
	for _, tc := range []struct {
		next    string
		foreign bool
	}{{"old:46", false}, {"old:45", false}, {"new:45", true}, {"new:46", true}, {"46", true}, {"", false}, {"x:y", true}} {
		if got := f.Foreign(tc.next); got != tc.foreign {
			t.Errorf("at old:45, Foreign(%q) = %v, want %v", tc.next, got, tc.foreign)
		}
	}
	before := f.Mark()
	if !f.Restart("new:45", t0, keep) {
		t.Fatal("a new epoch did not ask for a cache drop")
	}
	if f.Current(before) {
		t.Error("an answer asked in the old epoch is cacheable")
	}
	if f.Mark().Pos != at("new", 45) {
		t.Errorf("mark after the restart: %+v", f.Mark())
	}
	for _, s := range []struct {
		stamp  Position
		usable bool
	}{
		{at("old", 45), false}, {at("old", 46), false}, {at("old", 1000), false},
		{at("new", 44), false}, {at("new", 45), true}, {at("new", 46), true}, {at("", 45), false},
	} {
		if got := f.SharedUsable(s.stamp, t0); got != s.usable {
			t.Errorf("restarted at new:45: shared answer stamped %+v usable %v, want %v", s.stamp, got, s.usable)
		}
	}
}

// TestSharedStampRoundTrip: the shared layer keeps the writer's epoch and
// sequence; an entry without an epoch (an earlier release) reads as epoch "".
func TestSharedStampRoundTrip(t *testing.T) {
	e := Entry{Answer: &authn.Answer{Active: true, Subject: "s"}, FreshUntil: stamp.Of(t0.Add(time.Minute)), StaleUntil: stamp.Of(t0.Add(2 * time.Minute))}
	for _, pos := range []Position{at("3f2a9c1b7d6e5f40", 7), at("", 7)} {
		b, ok := EncodeShared(e, pos)
		if !ok {
			t.Fatal("not encoded")
		}
		_, got, ok := DecodeShared(b, t0)
		if !ok || got != pos {
			t.Errorf("stamp %+v read back as %+v (%v) from %s", pos, got, ok, b)
		}
	}
}

// TestFeedTaggedCursors: cursors carry a tag naming the entry at their
// sequence; the VM compares positions by epoch and sequence only. A tag that
// changes at one sequence is the token cluster's to tell (behind), not a
// foreign epoch; an upgrade from untagged cursors is one restart at the same
// position, which closes nothing.
func TestFeedTaggedCursors(t *testing.T) {
	const keep = 10 * time.Minute
	var f Feed
	f.Advance("e1:10:00000000000000aa", t0, keep)
	if f.Position() != at("e1", 10) || f.Cursor() != "e1:10:00000000000000aa" {
		t.Fatalf("position %+v, cursor %q", f.Position(), f.Cursor())
	}
	for _, tc := range []struct {
		next    string
		foreign bool
	}{{"e1:11:00000000000000bb", false}, {"e1:10:00000000000000cc", false}, {"e1:10", false}, {"e2:10:00000000000000aa", true}, {"e1:1:2:3", true}} {
		if got := f.Foreign(tc.next); got != tc.foreign {
			t.Errorf("Foreign(%q) = %v, want %v", tc.next, got, tc.foreign)
		}
	}
	f.Advance("e1:12:00000000000000bb", t0, keep)
	if f.Mark().Pos != at("e1", 12) {
		t.Fatalf("mark %+v, want e1:12", f.Mark())
	}
	// Behind at the same place (the entry at 12 was replaced): a restart,
	// the shared layer stays open for stamps from 12 on.
	if !f.Restart("e1:12:00000000000000dd", t0, keep) {
		t.Fatal("restart did not ask for a cache drop")
	}
	if !f.SharedUsable(at("e1", 12), t0) || f.SharedUsable(at("e1", 11), t0) {
		t.Errorf("restarted at e1:12: shared rules %+v", f)
	}
	// Behind to an earlier place (the newest entries were lost): no shared
	// answer for keep.
	f.Restart("e1:11:00000000000000ee", t0, keep)
	if f.SharedUsable(at("e1", 12), t0) || !f.SharedUsable(at("e1", 12), t0.Add(keep)) {
		t.Errorf("restarted back at e1:11: shared rules %+v", f)
	}
	// An untagged cursor (a cluster of an earlier release) then a tagged one
	// at the same sequence: positions are equal.
	var u Feed
	u.Advance("e1:7", t0, keep)
	if u.Foreign("e1:7:00000000000000aa") || !u.Restart("e1:7:00000000000000aa", t0, keep) || !u.SharedUsable(at("e1", 7), t0) {
		t.Errorf("upgrade to tagged cursors: %+v", u)
	}
}
