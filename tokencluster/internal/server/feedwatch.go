// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

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

	mu      sync.Mutex
	view    store.Feed
	tail    []store.Revocation // the newest entries, contiguous, ending at view.Head
	past    []string           // the epochs the view had before, newest last (at most maxPastEpochs)
	readAt  time.Time          // when view was last read from the store (zero: never, or stale)
	moved   chan struct{}      // closed and replaced when view.Head or view.Floor moves
	waiters int
	running bool
	closed  bool
	stop    chan struct{} // closed by close
}

func newFeedWatch(st store.Store, period time.Duration) *feedWatch {
	return &feedWatch{st: st, period: period, now: time.Now, moved: make(chan struct{}), stop: make(chan struct{})}
}

// live reports whether the view is recent enough to stand for the store: the
// watcher read it lately (within 3 periods, at least a second, so that a
// busy replica still answers from it). A view a little behind the store is
// an answer from a moment ago, as any poll's; the watcher then wakes the
// caller's next call. Callers hold mu.
func (f *feedWatch) live() bool {
	return f.running && !f.readAt.IsZero() && f.now().Sub(f.readAt) < max(3*f.period, time.Second)
}

// read returns up to limit entries after since and the feed's extent: from
// the watcher's copy when it is live and covers since, else from the store.
// A cursor past the view's head, or of an epoch the watcher never saw, is
// checked against the store, since another replica may have handed it out
// before this one saw it.
func (f *feedWatch) read(ctx context.Context, since store.Cursor, limit int) ([]store.Revocation, store.Feed, error) {
	f.mu.Lock()
	if f.live() {
		view, from := f.view, f.view.Head-uint64(len(f.tail))
		switch {
		case since.Epoch != view.Epoch:
			if f.wasEpoch(since.Epoch) {
				f.mu.Unlock()
				return nil, view, nil // behind
			}
		case since.Seq > view.Head:
		case since.Seq < view.Floor:
			f.mu.Unlock()
			return nil, view, nil // behind
		case since.Seq >= from:
			var out []store.Revocation
			if limit > 0 {
				part := f.tail[since.Seq-from:]
				out = append(out, part[:min(len(part), limit)]...)
			}
			f.mu.Unlock()
			return out, view, nil
		}
	}
	f.mu.Unlock()
	return f.st.Revocations(ctx, since.Seq, limit)
}

// wasEpoch reports whether the watcher saw the feed in epoch e before its
// current one: a cursor of e is behind. Callers hold mu.
func (f *feedWatch) wasEpoch(e string) bool {
	return e != "" && slices.Contains(f.past, e)
}

// wait holds until the feed moves past since, d passes, ctx ends or the
// watch is closed. It reports whether the feed may have moved (read again).
func (f *feedWatch) wait(ctx context.Context, since store.Cursor, d time.Duration) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.waiters++
	if !f.running {
		f.running = true
		f.readAt = time.Time{}
		go f.run()
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.waiters--
		f.mu.Unlock()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		f.mu.Lock()
		if f.live() && (f.view.Epoch != since.Epoch || f.view.Head > since.Seq || f.view.Floor > since.Seq) {
			f.mu.Unlock()
			return true
		}
		moved := f.moved
		f.mu.Unlock()
		select {
		case <-moved:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		case <-f.stop:
			return false
		}
	}
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
		if f.closed || f.waiters == 0 && idle {
			f.running = false
			f.readAt = time.Time{}
			f.mu.Unlock()
			return
		}
		idle = f.waiters == 0
		f.mu.Unlock()
	}
}

// refresh reads what follows the view from the store and wakes the waiters
// when the feed moved.
func (f *feedWatch) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), max(f.period, time.Second))
	defer cancel()
	f.mu.Lock()
	at := store.Cursor{Epoch: f.view.Epoch, Seq: f.view.Head}
	f.mu.Unlock()
	var got []store.Revocation
	var feed store.Feed
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
		if fd.Behind(at) { // compacted past the view, or made again: start the copy afresh
			got = nil
			break
		}
		got = append(got, entries...)
		if len(entries) < maxRevocationLimit {
			break
		}
		at.Seq = entries[len(entries)-1].Seq
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	wasLive := !f.readAt.IsZero()
	f.readAt = f.now()
	if feed.Epoch != f.view.Epoch {
		if f.view.Epoch != "" && !slices.Contains(f.past, f.view.Epoch) {
			f.past = append(f.past[max(len(f.past)-maxPastEpochs+1, 0):], f.view.Epoch)
		}
		f.tail = got // another numbering: nothing of the copy holds
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
	if feed != f.view || !wasLive {
		f.view = feed
		close(f.moved)
		f.moved = make(chan struct{})
	}
}

// close releases every held call and makes later calls answer at once.
func (f *feedWatch) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.stop)
	}
}
