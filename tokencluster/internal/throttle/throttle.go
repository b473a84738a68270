// SPDX-License-Identifier: Apache-2.0

// Package throttle slows down password and secret guessing: failures are
// counted per account and per source address; past a threshold, further
// attempts are refused (429) for a backoff that doubles with each failure,
// up to a cap. With a store shared by replicas (Redis) every replica counts
// the same failures.
package throttle

import (
	"context"
	"sync"
	"time"
)

// Counters keep failure counts. AddFailure adds one to key's count (which
// is forgotten Window after the first failure, or once a refusal ends if
// later) and, from Threshold failures on, refuses the key for the backoff of
// that count from now; it returns the count and the refusal's remaining
// time. Failures returns the count and the remaining refusal (0 when none).
type Counters interface {
	AddFailure(ctx context.Context, key string, p Policy) (int64, time.Duration, error)
	Failures(ctx context.Context, key string) (int64, time.Duration, error)
	ClearFailures(ctx context.Context, key string) error
}

// Policy is when to refuse.
type Policy struct {
	Threshold int64         // failures before attempts are refused
	Window    time.Duration // failures are forgotten this long after the first
	Base      time.Duration // refusal after Threshold failures; doubles per failure
	Max       time.Duration // longest refusal
}

// Backoff is how long attempts are refused after n failures (0 below the
// threshold).
func (p Policy) Backoff(n int64) time.Duration {
	if n < p.Threshold {
		return 0
	}
	d := p.Base
	for i := p.Threshold; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Limiter applies an account policy and a source policy.
type Limiter struct {
	C       Counters
	Account Policy
	Source  Policy
}

// Defaults: 5 failures per account (then 1 s, doubling, up to 15 minutes);
// 100 per source address within 15 minutes (then 1 minute, doubling).
var (
	DefaultAccount = Policy{Threshold: 5, Window: 15 * time.Minute, Base: time.Second, Max: 15 * time.Minute}
	DefaultSource  = Policy{Threshold: 100, Window: 15 * time.Minute, Base: time.Minute, Max: time.Hour}
)

// Attempt is one guess, begun with Begin and ended with End.
type Attempt struct {
	l            *Limiter
	account, src string
}

// Begin returns the attempt, or how long the caller must wait (> 0) when the
// account or the source is refused now.
func (l *Limiter) Begin(ctx context.Context, endpoint, account, source string) (*Attempt, time.Duration, error) {
	a := &Attempt{l: l, account: "acct:" + endpoint + ":" + account, src: "src:" + source}
	for _, k := range []struct {
		key string
		p   Policy
	}{{a.account, l.Account}, {a.src, l.Source}} {
		_, wait, err := l.C.Failures(ctx, k.key)
		if err != nil {
			return nil, 0, err
		}
		if wait > 0 {
			return nil, wait, nil
		}
	}
	return a, 0, nil
}

// End records the outcome: a failure counts against the account and the
// source, a success clears the account's failures.
func (a *Attempt) End(ctx context.Context, ok bool) error {
	if ok {
		return a.l.C.ClearFailures(ctx, a.account)
	}
	_, _, err := a.Fail(ctx)
	return err
}

// Fail counts a failure against the account and the source and returns the
// refusals it started (0 when the account or the source is not refused).
func (a *Attempt) Fail(ctx context.Context) (account, source time.Duration, err error) {
	if _, account, err = a.l.C.AddFailure(ctx, a.account, a.l.Account); err != nil {
		return 0, 0, err
	}
	_, source, err = a.l.C.AddFailure(ctx, a.src, a.l.Source)
	return account, source, err
}

// Memory is Counters in this process, for a single replica (the bbolt
// store). It holds at most maxKeys keys; past that the oldest expire first.
type Memory struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]*memCount
}

const maxKeys = 100_000

type memCount struct {
	n       int64
	expires time.Time // the count is forgotten then
	blocked time.Time // attempts are refused until then
}

// NewMemory returns empty counters on the clock now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, keys: map[string]*memCount{}}
}

// AddFailure implements Counters.
func (m *Memory) AddFailure(_ context.Context, key string, p Policy) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	c := m.live(key, now)
	if c == nil {
		if len(m.keys) >= maxKeys {
			m.sweep(now)
		}
		c = &memCount{expires: now.Add(p.Window)}
		m.keys[key] = c
	}
	c.n++
	if b := p.Backoff(c.n); b > 0 {
		c.blocked = now.Add(b)
		if c.blocked.After(c.expires) {
			c.expires = c.blocked
		}
	}
	return c.n, max(c.blocked.Sub(now), 0), nil
}

// Failures implements Counters.
func (m *Memory) Failures(_ context.Context, key string) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if c := m.live(key, now); c != nil {
		return c.n, max(c.blocked.Sub(now), 0), nil
	}
	return 0, 0, nil
}

// ClearFailures implements Counters.
func (m *Memory) ClearFailures(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.keys, key)
	m.mu.Unlock()
	return nil
}

func (m *Memory) live(key string, now time.Time) *memCount {
	c := m.keys[key]
	if c != nil && !now.Before(c.expires) {
		delete(m.keys, key)
		return nil
	}
	return c
}

// sweep drops expired keys, then, if still full, the ones expiring first.
func (m *Memory) sweep(now time.Time) {
	var soonest string
	for k, c := range m.keys {
		if !now.Before(c.expires) {
			delete(m.keys, k)
		} else if soonest == "" || c.expires.Before(m.keys[soonest].expires) {
			soonest = k
		}
	}
	if len(m.keys) >= maxKeys && soonest != "" {
		delete(m.keys, soonest)
	}
}
