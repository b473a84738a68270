// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

const (
	defaultRevocationLimit = 500
	maxRevocationLimit     = 1000
	// shortWait bounds a hold when the connection's deadlines cannot be moved.
	shortWait = 5 * time.Second
)

// revocations serves GET /v1/revocations?since=<cursor>&limit=<n>&wait=<seconds>.
//
// With wait and nothing after since, the call is held until the feed moves
// or the wait (capped by Options.RevocationMaxWait) ends. Held calls do not
// read the store: the replica's feed watcher does, once per
// RevocationWatch for all of them, and answers them from its copy of the
// newest entries.
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultRevocationLimit
	if v := q.Get(tokenapi.RevocationsLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRevocationLimit {
			s.fail(w, r, errBadRequest("limit must be between 1 and 1000"))
			return
		}
		limit = n
	}
	var wait time.Duration
	if v := q.Get(tokenapi.RevocationsWait); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > tokenapi.MaxRevocationsWait {
			s.fail(w, r, errBadRequest("wait must be a number of seconds from 0 to 300"))
			return
		}
		wait = min(time.Duration(n)*time.Second, s.opts.RevocationMaxWait)
	}
	var since store.Cursor
	v := q.Get(tokenapi.RevocationsSince)
	follows := v != ""
	if follows {
		c, ok := store.ParseCursor(v)
		if !ok {
			s.fail(w, r, errBadRequest("since must be a cursor returned as next"))
			return
		}
		since = c
	} else {
		// No cursor: answer the head only, the caller follows from now.
		limit, wait = 0, 0
	}
	// Short polls and the first call read the store, so that they see
	// every write already acknowledged; long-polls read the watcher's copy,
	// and share its encoded answers.
	if !follows || wait == 0 {
		entries, feed, err := s.opts.Store.Revocations(r.Context(), since.Seq, limit)
		if err != nil {
			s.fail(w, r, errUnavailable(err))
			return
		}
		writeFeed(w, encodeFeed(entries, feed, since, follows))
		return
	}
	body, news, ok := s.feed.answer(since, limit)
	if !ok {
		entries, feed, err := s.opts.Store.Revocations(r.Context(), since.Seq, limit)
		if err != nil {
			s.fail(w, r, errUnavailable(err))
			return
		}
		body, news = encodeFeed(entries, feed, since, true), len(entries) > 0 || feed.Missed(since)
	}
	if !news {
		// The server's read and write deadlines (10 s) would cut a held
		// call: its connection's background read would time out and cancel
		// the request, and the answer could not be written.
		rc, until := http.NewResponseController(w), time.Now().Add(wait+10*time.Second)
		if rc.SetReadDeadline(until) != nil || rc.SetWriteDeadline(until) != nil {
			wait = min(wait, shortWait) // cannot move them: stay well within
		}
		var woken bool
		if body, woken = s.feed.wait(r.Context(), since, limit, wait); !woken {
			entries, feed, err := s.feed.read(r.Context(), since, limit)
			if err != nil {
				s.fail(w, r, errUnavailable(err))
				return
			}
			body = encodeFeed(entries, feed, since, true)
		}
	}
	writeFeed(w, body)
}

// encodeFeed renders the answer to a call at since (follows: since was
// given) that read entries and feed (a read at since.Seq: Feed.Missed).
func encodeFeed(entries []store.Revocation, feed store.Feed, since store.Cursor, follows bool) []byte {
	resp := tokenapi.RevocationsResponse{Revocations: make([]tokenapi.Revocation, 0, len(entries)), CacheTTL: 1}
	next := feed.At(feed.Head)
	switch {
	case follows && feed.Missed(since):
		// Entries after since were compacted, since is from another epoch,
		// past the head, names an entry the feed no longer has at its
		// sequence (a failover lost it and the number was reused) or has no
		// tag: the caller starts afresh from the head.
		resp.Behind, entries = true, nil
	case len(entries) > 0:
		next = feed.CursorAt(entries[len(entries)-1])
	}
	for _, e := range entries {
		resp.Revocations = append(resp.Revocations, tokenapi.Revocation{Kind: e.Kind, Digest: e.Digest, At: e.At})
	}
	resp.Next = next.String()
	b, err := json.Marshal(resp)
	if err != nil {
		panic("server: encode revocations: " + err.Error()) // strings and numbers only
	}
	return append(b, '\n')
}

// Header values of every feed answer, shared: net/http copies them when it
// writes the header, and nothing changes them.
var (
	feedContentType = []string{"application/json"}
	feedNoStore     = []string{"no-store"}
)

// writeFeed writes an encoded feed answer, which may be shared with other
// calls (it is only read).
func writeFeed(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"], h["Cache-Control"] = feedContentType, feedNoStore
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// RunFeed compacts the revocation feed every RevocationCompactEvery until
// ctx ends; then it releases the held long-polls and holds no more, so a
// draining replica answers at once. Serve calls it once per process.
func (s *Server) RunFeed(ctx context.Context) {
	defer s.feed.close()
	t := time.NewTicker(s.opts.RevocationCompactEvery)
	defer t.Stop()
	for {
		s.compactFeed(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// compactFeed removes the entries older than RevocationMaxAge, and the
// oldest beyond RevocationMaxEntries.
func (s *Server) compactFeed(ctx context.Context) {
	before := s.opts.Now().Add(-s.opts.RevocationMaxAge).Unix()
	for range 100 { // at most 100 × store.MaxCompact entries per round
		n, err := s.opts.Store.CompactRevocations(ctx, before, max(s.opts.RevocationMaxEntries, 0))
		if err != nil {
			if ctx.Err() == nil {
				s.opts.Logger.Warn("revocation feed compaction failed", "err", err)
			}
			return
		}
		if n > 0 {
			s.opts.Logger.Info("revocation feed compacted", "removed", n)
		}
		if n < store.MaxCompact {
			return
		}
	}
}
