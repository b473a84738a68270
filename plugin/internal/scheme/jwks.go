// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"time"

	"github.com/credgate/credgate/plugin/internal/jose"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

// JWKSSource is a JWT provider's remote JSON Web Key Set, fetched through a
// proxy cluster as Envoy's jwt_authn remote_jwks is. The source holds the
// last good set and decides when to fetch; the filter does the fetching
// (proxy http calls) and reports the outcome. A failed fetch never opens the
// door: tokens are only ever checked against keys that came from a good
// answer, and with no such keys they are refused.
type JWKSSource struct {
	// Provider names the JWT provider the set belongs to.
	Provider string
	// Cluster, Path and Authority address the set.
	Cluster, Path, Authority string
	// Timeout bounds one fetch.
	Timeout time.Duration
	// CacheDuration is how long a fetched set is used before it is fetched
	// again in the background.
	CacheDuration time.Duration
	// MaxStale is how long past CacheDuration a set keeps serving while
	// fetches fail; after that tokens of this provider are refused until a
	// fetch succeeds.
	MaxStale time.Duration
	// RefetchInterval spaces on-demand fetches, made when a token names a
	// key the set does not hold (a rotated key) or when there is no set.
	RefetchInterval time.Duration
	// Secrets admits symmetric (HS256) keys from the set; the fetch then
	// carries the token cluster's verify credential. Only the token cluster
	// may serve such a set.
	Secrets bool

	set       *jose.Set
	fetchedAt stamp.Stamp
	next      stamp.Stamp // earliest next background fetch
	demanded  stamp.Stamp // last on-demand fetch
	wanted    bool        // an on-demand fetch waits for the next tick
	inFlight  bool
	startedAt stamp.Stamp
	failures  int
	lastErr   error
	waiters   []func()
}

// MaxWaiters bounds the streams waiting for one source's fetch.
const MaxWaiters = 256

// Wait registers resume to run once the pending fetch ends, asking for one
// (Demand) if needed; it reports false when nothing can be waited for: no
// fetch allowed yet, or MaxWaiters streams already wait.
func (s *JWKSSource) Wait(now time.Time, resume func()) bool {
	if len(s.waiters) >= MaxWaiters || !s.Demand(now) {
		return false
	}
	s.waiters = append(s.waiters, resume)
	return true
}

// Waiters hands over, and forgets, the streams waiting for the fetch that
// just ended.
func (s *JWKSSource) Waiters() []func() {
	w := s.waiters
	s.waiters = nil
	return w
}

// Keys returns the set to verify with at now, or nil when there is none
// usable (never fetched, or stale past MaxStale).
func (s *JWKSSource) Keys(now time.Time) *jose.Set {
	if s.set == nil || !now.Before(s.fetchedAt.Time().Add(s.CacheDuration+s.MaxStale)) {
		return nil
	}
	return s.set
}

// InFlight reports whether a fetch is under way.
func (s *JWKSSource) InFlight() bool { return s.inFlight }

// Pending reports whether a fetch is under way or asked for: a stream that
// needs the set may wait for it.
func (s *JWKSSource) Pending() bool { return s.inFlight || s.wanted }

// Due reports whether a fetch should start at now: one was asked for, or the
// set is missing or older than CacheDuration and the retry backoff has
// passed. Fetches start from the proxy's ticks only, never from a stream,
// so a client that goes away cannot take a fetch with it.
func (s *JWKSSource) Due(now time.Time) bool {
	if s.inFlight {
		return false
	}
	if s.wanted {
		return true
	}
	if now.Before(s.next.Time()) {
		return false
	}
	return s.set == nil || !now.Before(s.fetchedAt.Time().Add(s.CacheDuration))
}

// Demand asks for a fetch at the next tick because a token needs a key the
// set lacks (a rotated key) or there is no set, and reports whether one is
// pending: at most one such fetch per RefetchInterval, so unknown kids
// cannot make the proxy hammer the key server.
func (s *JWKSSource) Demand(now time.Time) bool {
	if s.Pending() {
		return true
	}
	if !s.demanded.IsZero() && now.Before(s.demanded.Time().Add(s.RefetchInterval)) {
		return false
	}
	s.demanded, s.wanted = stamp.Of(now), true
	return true
}

// Begin marks a fetch as started at now.
func (s *JWKSSource) Begin(now time.Time) {
	s.inFlight, s.wanted, s.startedAt = true, false, stamp.Of(now)
}

// Overdue reports whether the fetch under way should have ended by now (its
// timeout and a grace second): its answer is lost, and the filter ends it
// as failed so the source never stays stuck.
func (s *JWKSSource) Overdue(now time.Time) bool {
	return s.inFlight && now.After(s.startedAt.Time().Add(s.Timeout+time.Second))
}

// ErrJWKSLost ends a fetch whose answer never arrived.
var ErrJWKSLost = errors.New("key set answer never arrived")

// Done records a fetch's outcome at now: body is the answer when err is nil.
// A good set replaces the old one; anything else keeps the old set (until
// MaxStale) and backs off: 1 s, 2 s, 4 s ... up to 30 s.
func (s *JWKSSource) Done(body []byte, err error, now time.Time) error {
	s.inFlight, s.wanted = false, false
	var set *jose.Set
	if err == nil {
		set, _, err = jose.ParseSet(body, s.Secrets)
	}
	if err != nil {
		s.failures++
		backoff := time.Second << min(s.failures-1, 5)
		s.next = stamp.Of(now.Add(min(backoff, 30*time.Second)))
		s.lastErr = err
		return err
	}
	s.set, s.fetchedAt, s.failures, s.lastErr = set, stamp.Of(now), 0, nil
	s.next = 0
	return nil
}

// LastError is the last fetch failure since the last success.
func (s *JWKSSource) LastError() error { return s.lastErr }
