// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// wakeUp is one move of the watcher's view: ch is closed when the view
// moves. Before closing it the watcher encodes the answer most waiters want
// (the cursor at the old head, the default limit) into key, body and news,
// so that they take it without the watcher's lock: 10,000 calls woken at
// once would otherwise queue on it, each parking and waking a second time.
type wakeUp struct {
	ch   chan struct{}
	key  answerKey
	body []byte
	news bool
}

func newWakeUp() *wakeUp { return &wakeUp{ch: make(chan struct{})} }

// answerKey names an answer given from the watcher's view.
type answerKey struct {
	since store.Cursor
	limit int
}

// maxAnswers bounds the encoded answers kept for one view; past it they are
// forgotten (cursors that many are each a store read's worth anyway).
const maxAnswers = 64

// feedTail is how many of the newest revocations the watcher keeps to
// answer woken long-polls without reading the store.
const feedTail = 1024

// maxPastEpochs bounds the earlier epochs of the feed a watcher remembers to
// answer their cursors as behind without reading the store.
const maxPastEpochs = 8

// feedWatch follows the store's revocation feed for every long-poll held by
// this replica: one store read per watch period, whatever the number of
// waiters, and revocations written by other replicas on the same store are
// seen within that period. It runs only while calls are held.
type feedWatch struct {
	st     store.Store
	period time.Duration
	now    func() time.Time

	mu     sync.Mutex
	view   store.Feed
	tail   []store.Revocation // the newest entries, contiguous, ending at view.Head
	past   []string           // the epochs the view had before, newest last (at most maxPastEpochs)
	readAt time.Time          // when view was last read from the store (zero: never, or stale)
	readBy time.Time          // when that read began: view is at least as new as the store then
	moved  *wakeUp            // closed and replaced when the view moves, and by close
	// lost is the store's entry at the view's former head, when a read
	// found the entry the copy had there replaced (a failover lost it and
	// its sequence was reused): the held calls at that head are behind.
	lost store.Cursor
	// answers holds the encoded answers given from the current view and
	// tail, by cursor and limit: every call woken by one revocation holds
	// the same cursor, so one encoding serves them all. Emptied whenever
	// the view or the tail changes.
	answers map[answerKey][]byte
	waiters atomic.Int64 // held calls
	running bool
	closed  bool
	stop    chan struct{} // closed by close
}

func newFeedWatch(st store.Store, period time.Duration) *feedWatch {
	return &feedWatch{st: st, period: period, now: time.Now, moved: newWakeUp(), stop: make(chan struct{})}
}

// live reports whether the view is recent enough to stand for the store: the
// watcher read it lately (within 3 periods, at least a second, so that a
// busy replica still answers from it). A view a little behind the store is
// an answer from a moment ago, as any poll's; the watcher then wakes the
// caller's next call. Callers hold mu.
func (f *feedWatch) live() bool {
	return f.running && !f.readAt.IsZero() && f.now().Sub(f.readAt) < max(3*f.period, time.Second)
}

// fromView returns up to limit entries after since and the feed's extent
// from the watcher's copy, and whether the copy could tell: it must be live
// and cover since, and hold the entry at since (to check since's tag) unless
// since is at the floor. A cursor past the view's head, or of an epoch the
// watcher never saw, is left to the store, since another replica may have
// handed it out before this one saw it. The extent returned has the tag at
// since (Feed.Missed). Callers hold mu.
func (f *feedWatch) fromView(since store.Cursor, limit int) ([]store.Revocation, store.Feed, bool) {
	if !f.live() {
		return nil, store.Feed{}, false
	}
	view, from := f.view, f.view.Head-uint64(len(f.tail))
	switch {
	case since.Epoch != view.Epoch:
		if f.wasEpoch(since.Epoch) {
			return nil, view, true // behind
		}
	case since.Seq > view.Head:
	case since.Seq < view.Floor:
		return nil, view, true // behind
	case since.Seq == f.lost.Seq && since.Seq > view.Floor && since.Tag != f.lost.Tag && f.lost.Epoch == view.Epoch:
		view.SinceTag = f.lost.Tag
		return nil, view, true // behind: its entry was replaced
	case since.Seq >= from:
		switch {
		case since.Seq == view.Head:
			view.SinceTag = view.Tag
		case since.Seq > from:
			view.SinceTag = store.EntryTag(view.Epoch, f.tail[since.Seq-from-1])
		case since.Seq > view.Floor:
			return nil, store.Feed{}, false // its entry is not in the copy: the store tells
		}
		part := f.tail[since.Seq-from:]
		return part[:min(len(part), max(limit, 0))], view, true
	}
	return nil, store.Feed{}, false
}

// answer returns the encoded answer for since and limit from the watcher's
// copy (see fromView), and whether it has news (entries, or behind); ok is
// false when the copy cannot tell. Every caller with the same cursor and
// limit shares one encoding until the view changes: the bytes are read-only.
func (f *feedWatch) answer(since store.Cursor, limit int) (body []byte, news, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answerLocked(since, limit)
}

func (f *feedWatch) answerLocked(since store.Cursor, limit int) (body []byte, news, ok bool) {
	entries, view, ok := f.fromView(since, limit)
	if !ok {
		return nil, false, false
	}
	news = len(entries) > 0 || view.Missed(since)
	k := answerKey{since, limit}
	if b, hit := f.answers[k]; hit {
		return b, news, true
	}
	b := encodeFeed(entries, view, since, true)
	if f.answers == nil || len(f.answers) >= maxAnswers {
		f.answers = make(map[answerKey][]byte)
	}
	f.answers[k] = b
	return b, news, true
}

// read returns up to limit entries after since and the feed's extent: from
// the watcher's copy when it can tell (fromView), else from the store.
func (f *feedWatch) read(ctx context.Context, since store.Cursor, limit int) ([]store.Revocation, store.Feed, error) {
	f.mu.Lock()
	entries, view, ok := f.fromView(since, limit)
	entries = slices.Clone(entries)
	f.mu.Unlock()
	if ok {
		return entries, view, nil
	}
	return f.st.Revocations(ctx, since.Seq, limit)
}

// wasEpoch reports whether the watcher saw the feed in epoch e before its
// current one: a cursor of e is behind. Callers hold mu.
func (f *feedWatch) wasEpoch(e string) bool {
	return e != "" && slices.Contains(f.past, e)
}

// wait holds until the watcher's copy has news for since (entries after
// it, or behind), d passes, ctx ends or the watch is closed. With news it
// returns the answer for since and limit (body, ok; see answer); else the
// caller reads the feed as for any call. Waiters share everything but the
// timer: one channel wakes them all, and the first one woken encodes the
// answer for the others.
func (f *feedWatch) wait(ctx context.Context, since store.Cursor, limit int, d time.Duration) (body []byte, ok bool) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, false
	}
	f.waiters.Add(1)
	defer f.waiters.Add(-1)
	if !f.running {
		f.running = true
		f.readAt = time.Time{}
		go f.run()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	// The caller found since in the feed before calling (not behind, no
	// entries after it), so a view read since that no longer holds it (another
	// epoch, or a head below since) means the feed was made again or went
	// back, e.g. a failover lost its newest appends: since is behind now, and
	// waiting for the head to pass it again would skip the entries that
	// reuse its sequence numbers.
	key, done, checked := answerKey{since, limit}, ctx.Done(), f.now()
	for !f.closed {
		if body, news, ok := f.answerLocked(since, limit); ok && news {
			f.mu.Unlock()
			return body, true
		}
		if f.live() && f.readBy.After(checked) && f.view.Behind(since) {
			k := answerKey{since, -1} // a behind answer has no entries, whatever the limit
			body := f.answers[k]
			if body == nil {
				body = encodeFeed(nil, f.view, since, true)
				if f.answers == nil || len(f.answers) >= maxAnswers {
					f.answers = make(map[answerKey][]byte)
				}
				f.answers[k] = body
			}
			f.mu.Unlock()
			return body, true
		}
		w := f.moved
		f.mu.Unlock()
		select {
		case <-w.ch:
			if w.news && w.key == key {
				return w.body, true // encoded by the watcher for this cursor
			}
		case <-timer.C:
			return nil, false
		case <-done:
			return nil, false
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil, false
}

// run reads the store every period while calls are held, and stops a
// period after the last one left.
func (f *feedWatch) run() {
	t := time.NewTicker(f.period)
	defer t.Stop()
	idle := false
	for {
		f.refresh()
		select {
		case <-f.stop:
		case <-t.C:
		}
		f.mu.Lock()
		if f.closed || f.waiters.Load() == 0 && idle {
			f.running = false
			f.readAt = time.Time{}
			f.mu.Unlock()
			return
		}
		idle = f.waiters.Load() == 0
		f.mu.Unlock()
	}
}

// refresh reads what follows the view from the store and wakes the waiters
// when the feed moved.
func (f *feedWatch) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), max(f.period, time.Second))
	defer cancel()
	f.mu.Lock()
	at, began := f.view.At(f.view.Head), f.now()
	f.mu.Unlock()
	var got []store.Revocation
	var feed store.Feed
	replaced := false // the copy's entries are not the store's any more
	var lost store.Cursor
	for range feedTail/maxRevocationLimit + 1 {
		entries, fd, err := f.st.Revocations(ctx, at.Seq, maxRevocationLimit)
		if err != nil {
			f.mu.Lock()
			f.readAt = time.Time{} // not live: held calls wait for their timeout, others read the store
			f.mu.Unlock()
			return
		}
		feed = fd
		if at.Epoch == "" { // the first read: the copy starts from what it found
			at.Epoch = fd.Epoch
		}
		if fd.Missed(at) {
			// Compacted past the view, made again, or the entry the copy
			// ends with is gone (a failover lost it and its number was
			// reused, maybe with those before it): start the copy afresh.
			got, replaced = nil, true
			if fd.Epoch == at.Epoch && at.Seq > fd.Floor && at.Seq <= fd.Head {
				lost = store.Cursor{Epoch: fd.Epoch, Seq: at.Seq, Tag: fd.SinceTag}
			}
			break
		}
		got = append(got, entries...)
		if len(entries) < maxRevocationLimit {
			break
		}
		at.Seq = entries[len(entries)-1].Seq
	}
	feed.SinceTag = "" // of this read, not of the feed
	f.mu.Lock()
	defer f.mu.Unlock()
	wasLive, before := !f.readAt.IsZero(), f.view
	f.readAt, f.readBy = f.now(), began
	if feed.Epoch != f.view.Epoch {
		if f.view.Epoch != "" && !slices.Contains(f.past, f.view.Epoch) {
			f.past = append(f.past[max(len(f.past)-maxPastEpochs+1, 0):], f.view.Epoch)
		}
		f.tail = got // another numbering: nothing of the copy holds
	} else if replaced {
		f.tail = nil // the next round reads the store's entries afresh
		if lost.Seq > 0 {
			f.lost = lost
		}
	} else if len(got) > 0 && got[0].Seq == f.view.Head+1 {
		f.tail = append(f.tail, got...)
	} else if len(got) > 0 || feed.Head != f.view.Head {
		f.tail = got // not contiguous with the copy: keep only what was read
	}
	if len(f.tail) > 0 && f.tail[len(f.tail)-1].Seq != feed.Head {
		f.tail = nil // more arrived than was read this round; the next round catches up
	}
	if over := len(f.tail) - feedTail; over > 0 {
		f.tail = append([]store.Revocation(nil), f.tail[over:]...)
	}
	if feed != before || !wasLive || len(got) > 0 {
		clear(f.answers) // encoded from what changed
	}
	if feed != f.view || !wasLive {
		f.view = feed
		w := f.moved
		if wasLive {
			w.key = answerKey{before.At(before.Head), defaultRevocationLimit}
			w.body, w.news, _ = f.answerLocked(w.key.since, w.key.limit)
		}
		close(w.ch)
		f.moved = newWakeUp()
	}
}

// close releases every held call and makes later calls answer at once.
func (f *feedWatch) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.stop)
		close(f.moved.ch) // wakes the waiters, which see closed
		f.moved = newWakeUp()
	}
}
