// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"strconv"
	"time"
)

// Feed is a VM's position in the token cluster's revocation feed, and the
// rules that tie cached answers to it. The VM knows every revocation after
// Start and none before, so:
//
//   - an answer is stamped with the Mark the VM had when it asked: it
//     reflects every revocation up to Mark.Pos;
//   - an answer asked in an earlier epoch (before the VM last restarted
//     following the feed) may predate a revocation the VM skipped: it is
//     not cached (Current);
//   - a shared answer stamped before Start may predate one too: it is not
//     used (SharedUsable), nor is any shared answer for a while after the
//     feed went backwards (a reset), since positions before mean nothing.
type Feed struct {
	cursor      string
	start       uint64
	epoch       uint32
	sharedAfter time.Time
}

// Mark is where a VM stood in the feed when it asked for an answer.
type Mark struct {
	Epoch uint32
	Pos   uint64
}

// Cursor is the opaque cursor to send as since ("" before the first poll).
func (f *Feed) Cursor() string { return f.cursor }

// Following reports whether the VM knows its position.
func (f *Feed) Following() bool { return f.cursor != "" }

// Position is the cursor as a number, 0 when unknown.
func (f *Feed) Position() uint64 {
	n, err := strconv.ParseUint(f.cursor, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Mark returns the VM's current mark.
func (f *Feed) Mark() Mark { return Mark{Epoch: f.epoch, Pos: f.Position()} }

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
// A position that went backwards (the feed was reset) closes the shared
// layer for keep, the longest any shared answer may live.
func (f *Feed) Restart(next string, now time.Time, keep time.Duration) (wasFollowing bool) {
	wasFollowing, old := f.cursor != "", f.Position()
	f.cursor = next
	f.start = f.Position()
	f.epoch++
	if wasFollowing && f.start < old {
		f.sharedAfter = now.Add(keep)
	}
	return wasFollowing
}

// Current reports whether an answer asked at m may be cached now.
func (f *Feed) Current(m Mark) bool { return m.Epoch == f.epoch }

// SharedUsable reports whether a shared answer stamped at pos may be used now.
func (f *Feed) SharedUsable(pos uint64, now time.Time) bool {
	return pos >= f.start && !now.Before(f.sharedAfter)
}
