// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"strconv"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/internal/stamp"
)

// Feed is a VM's position in the token cluster's revocation feed, and the
// rules that tie cached answers to it. The VM knows every revocation after
// Start and none before, so:
//
//   - an answer is stamped with the Mark the VM had when it asked: it
//     reflects every revocation up to Mark.Pos;
//   - an answer asked in an earlier generation (before the VM last
//     restarted following the feed) may predate a revocation the VM
//     skipped: it is not cached (Current);
//   - a shared answer stamped before Start may predate one too: it is not
//     used (SharedUsable), nor is one stamped in another epoch of the feed
//     (positions of two epochs do not compare), nor any shared answer for a
//     while after the feed went backwards within one epoch, since positions
//     before mean nothing.
type Feed struct {
	cursor      string
	start       Position
	gen         uint32
	sharedAfter stamp.Stamp
}

// Position is a place in the revocation feed: the feed's epoch (made when
// the token cluster's feed was made; a feed made again has another) and a
// sequence in it. Sequences compare only within one epoch. The cursor's
// other parts (the tag naming the entry at the sequence) are the token
// cluster's to check: positions do not hold them.
type Position struct {
	Epoch string
	Seq   uint64
}

// ParsePosition reads a cursor: "<epoch>:<seq>:<tag>", "<epoch>:<seq>"
// from a token cluster without tags, or a bare "<seq>" from one without
// epochs (epoch ""). ok is false for anything else.
func ParsePosition(cursor string) (p Position, ok bool) {
	epoch, rest, found := strings.Cut(cursor, ":")
	if !found {
		epoch, rest = "", cursor
	} else if epoch == "" {
		return Position{}, false
	}
	seq, tag, _ := strings.Cut(rest, ":")
	if strings.Contains(tag, ":") {
		return Position{}, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return Position{}, false
	}
	return Position{Epoch: epoch, Seq: n}, true
}

// Mark is where a VM stood in the feed when it asked for an answer.
type Mark struct {
	// Gen counts the VM's (re)starts of following the feed.
	Gen uint32
	Pos Position
}

// Cursor is the opaque cursor to send as since ("" before the first poll).
func (f *Feed) Cursor() string { return f.cursor }

// Following reports whether the VM knows its position.
func (f *Feed) Following() bool { return f.cursor != "" }

// Position is the cursor parsed, zero when unknown.
func (f *Feed) Position() Position {
	p, _ := ParsePosition(f.cursor)
	return p
}

// Mark returns the VM's current mark.
func (f *Feed) Mark() Mark { return Mark{Gen: f.gen, Pos: f.Position()} }

// Foreign reports whether next is a position in another epoch than the
// VM's: the VM cannot advance to it, and must restart (Restart) instead.
func (f *Feed) Foreign(next string) bool {
	if f.cursor == "" || next == "" {
		return false
	}
	p, ok := ParsePosition(next)
	return !ok || p.Epoch != f.Position().Epoch
}

// Advance moves the cursor to next after a page of entries. The first
// position learnt starts the feed (Restart).
func (f *Feed) Advance(next string, now time.Time, keep time.Duration) {
	switch {
	case next == "":
	case f.cursor == "":
		f.Restart(next, now, keep)
	default:
		f.cursor = next
	}
}

// Restart follows the feed afresh from next (empty: forget the position
// until the next poll learns the head). It reports whether the VM was
// following before, in which case the caller must drop every cached answer.
// A position that went backwards within one epoch (the feed was reset by a
// token cluster without epochs) closes the shared layer for keep, the
// longest any shared answer may live; shared answers of another epoch are
// refused by their stamp.
func (f *Feed) Restart(next string, now time.Time, keep time.Duration) (wasFollowing bool) {
	wasFollowing, old := f.cursor != "", f.Position()
	f.cursor = next
	f.start = f.Position()
	f.gen++
	if wasFollowing && f.start.Epoch == old.Epoch && f.start.Seq < old.Seq {
		f.sharedAfter = stamp.Of(now.Add(keep))
	}
	return wasFollowing
}

// Current reports whether an answer asked at m may be cached now.
func (f *Feed) Current(m Mark) bool { return m.Gen == f.gen }

// SharedUsable reports whether a shared answer stamped at pos may be used now.
func (f *Feed) SharedUsable(pos Position, now time.Time) bool {
	return pos.Epoch == f.start.Epoch && pos.Seq >= f.start.Seq && !now.Before(f.sharedAfter.Time())
}
