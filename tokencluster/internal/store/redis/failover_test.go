// SPDX-License-Identifier: Apache-2.0

package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/redis"
)

// load issues tokens, appends revocations and verifies issued tokens from
// several goroutines until stopped, recording what the store acknowledged.
type load struct {
	s     *redis.Store
	start time.Time

	mu       sync.Mutex
	revoked  []string // acknowledged revocation digests
	issued   []string // acknowledged token digests
	failures int      // writes refused (unreachable, not replicated)
	lastFail time.Time
	lastErr  error
	acks     []time.Time       // when each write was acknowledged
	okAfter  map[int]time.Time // worker → first acknowledged write after its last failure

	verified, unverified atomic.Int64 // verifications answered / failed (store unreachable)
	wrong                atomic.Int64 // verifications of an acknowledged token that found nothing

	stop chan struct{}
	wg   sync.WaitGroup
}

func startLoad(t *testing.T, s *redis.Store, workers int) *load {
	l := &load{s: s, start: time.Now(), stop: make(chan struct{}), okAfter: map[int]time.Time{}}
	for w := range workers {
		l.wg.Go(func() { l.writer(w) })
		l.wg.Go(func() { l.verifier(t) })
	}
	return l
}

// writer revokes and issues, one of each every few milliseconds.
func (l *load) writer(w int) {
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
		now := time.Now()
		rev := fmt.Sprintf("rev-%d-%d", w, i)
		_, err := l.s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: rev, At: now.Unix()})
		l.record(w, rev, &l.revoked, err)
		tok := fmt.Sprintf("tok-%d-%d", w, i)
		err = l.s.PutToken(ctx, store.Token{Digest: tok, Kind: "oauth2", Subject: "s", ExpiresAt: now.Add(time.Hour).Unix()}, now)
		l.record(w, tok, &l.issued, err)
	}
}

// verifier looks up acknowledged tokens (spread over every master) in a loop.
func (l *load) verifier(t *testing.T) {
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		case <-time.After(time.Millisecond):
		}
		l.mu.Lock()
		n := len(l.issued)
		var tok string
		if n > 0 {
			tok = l.issued[(i*7919)%n]
		}
		l.mu.Unlock()
		if tok == "" {
			continue
		}
		_, err := l.s.GetToken(ctx, tok, time.Now())
		switch {
		case err == nil:
			l.verified.Add(1)
		case errors.Is(err, store.ErrNotFound):
			l.wrong.Add(1)
			t.Errorf("acknowledged token %s not found during the failover", tok)
		default:
			l.unverified.Add(1)
		}
	}
}

// record notes an acknowledged write, or a refused one.
func (l *load) record(w int, digest string, into *[]string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures++
		l.lastFail = time.Now()
		l.lastErr = err
		delete(l.okAfter, w)
		return
	}
	*into = append(*into, digest)
	l.acks = append(l.acks, time.Now())
	if _, ok := l.okAfter[w]; !ok {
		l.okAfter[w] = time.Now()
	}
}

// finish stops the load and checks every acknowledged write is in the store.
func (l *load) finish(t *testing.T, disrupted time.Time) {
	close(l.stop)
	l.wg.Wait()
	ctx := context.Background()
	feed := map[string]bool{}
	for since := uint64(0); ; {
		entries, head, err := l.s.Revocations(ctx, since, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			feed[e.Digest] = true
			since = e.Seq
		}
		if len(entries) == 0 || since >= head.Head {
			break
		}
	}
	lostRev := 0
	for _, d := range l.revoked {
		if !feed[d] {
			lostRev++
		}
	}
	lostTok := 0
	for _, d := range l.issued {
		if _, err := l.s.GetToken(ctx, d, time.Now()); err != nil {
			lostTok++
		}
	}
	// The longest pause between acknowledged writes is the writes' outage.
	slices.SortFunc(l.acks, func(a, b time.Time) int { return a.Compare(b) })
	var pause time.Duration
	var pauseAt time.Time
	for i := 1; i < len(l.acks); i++ {
		if d := l.acks[i].Sub(l.acks[i-1]); d > pause {
			pause, pauseAt = d, l.acks[i-1]
		}
	}
	t.Logf("failover under load: revocations acknowledged %d, found %d (feed holds %d, refused writes may be there too); "+
		"issuances acknowledged %d, found %d; writes refused during the failover %d; no write acknowledged for %s "+
		"(from %s after the disruption); verifications answered %d, unavailable %d, wrong %d",
		len(l.revoked), len(l.revoked)-lostRev, len(feed), len(l.issued), len(l.issued)-lostTok, l.failures,
		pause.Round(time.Millisecond), pauseAt.Sub(disrupted).Round(time.Millisecond), l.verified.Load(), l.unverified.Load(), l.wrong.Load())
	if lostRev > 0 || lostTok > 0 {
		t.Fatalf("lost %d acknowledged revocations and %d acknowledged issuances", lostRev, lostTok)
	}
	if l.failures > 0 && len(l.okAfter) == 0 {
		t.Fatal("no write was acknowledged after the failover")
	}
}

// progress logs the load's counters every second until done is closed.
func progress(t *testing.T, l *load, done <-chan struct{}) {
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				l.mu.Lock()
				fmt.Printf("    %s %5.1fs: %d revocations and %d issuances acknowledged, %d writes refused (last: %v), %d verifications answered, %d unavailable\n",
					t.Name(), time.Since(l.start).Seconds(), len(l.revoked), len(l.issued), l.failures, l.lastErr,
					l.verified.Load(), l.unverified.Load())
				l.mu.Unlock()
			}
		}
	}()
}
