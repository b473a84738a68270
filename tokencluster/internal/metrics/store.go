// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// Store wraps st so that every call is timed in
// tokencluster_store_operation_duration_seconds{op} and every failure counted
// in tokencluster_store_errors_total{op}; entries appended to the revocation
// feed count in tokencluster_revocations_published_total{kind}. Not found,
// conflict, invalid and consumed are answers of the store, not failures.
func (m *Metrics) Store(st store.Store) store.Store {
	s := &instrumented{Store: st, st: st, m: m, obs: map[string]func(time.Duration, error){}}
	for _, op := range []string{"put", "get", "lookup", "list", "delete", "put_token", "get_token", "touch_token",
		"consume_token", "delete_token", "append_revocation", "revocations", "compact_revocations", "ping", "read"} {
		h, e := m.StoreDuration.WithLabelValues(op), m.StoreErrors.WithLabelValues(op)
		s.obs[op] = func(d time.Duration, err error) {
			h.Observe(d.Seconds())
			if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) &&
				!errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrConsumed) {
				e.Inc()
			}
		}
	}
	return s
}

// instrumented embeds the store so that methods added to store.Store later
// pass through (untimed) until they are instrumented here.
type instrumented struct {
	store.Store
	st  store.Store
	m   *Metrics
	obs map[string]func(time.Duration, error)
}

func (s *instrumented) done(op string, start time.Time, err error) { s.obs[op](time.Since(start), err) }

func (s *instrumented) Put(ctx context.Context, c store.Collection, rec store.Record) error {
	start := time.Now()
	err := s.st.Put(ctx, c, rec)
	s.done("put", start, err)
	return err
}

func (s *instrumented) Get(ctx context.Context, c store.Collection, id string) (store.Record, error) {
	start := time.Now()
	rec, err := s.st.Get(ctx, c, id)
	s.done("get", start, err)
	return rec, err
}

func (s *instrumented) Lookup(ctx context.Context, c store.Collection, key string) (store.Record, error) {
	start := time.Now()
	rec, err := s.st.Lookup(ctx, c, key)
	s.done("lookup", start, err)
	return rec, err
}

// LookupOwned implements store.OwnedLookup: one "lookup" when the wrapped
// store reads record and tenant together, else a lookup and a get.
func (s *instrumented) LookupOwned(ctx context.Context, c store.Collection, key string) (store.Record, store.Owner, error) {
	ol, ok := s.st.(store.OwnedLookup)
	if !ok {
		return store.LookupThenGet(ctx, s, c, key)
	}
	start := time.Now()
	rec, owner, err := ol.LookupOwned(ctx, c, key)
	failed := err
	if failed == nil {
		failed = owner.Err // the tenant's read failed
	}
	s.done("lookup", start, failed)
	return rec, owner, err
}

// ReadView implements store.Reader: one "read" when the wrapped store
// answers a verification's read at once, else the calls the View makes.
func (s *instrumented) ReadView(ctx context.Context, r store.Read) (*store.View, error) {
	rd, ok := s.st.(store.Reader)
	if !ok {
		return store.LazyView(s, r), nil
	}
	start := time.Now()
	v, err := rd.ReadView(ctx, r)
	s.done("read", start, err)
	return v, err
}

func (s *instrumented) List(ctx context.Context, c store.Collection) ([]store.Record, error) {
	start := time.Now()
	recs, err := s.st.List(ctx, c)
	s.done("list", start, err)
	return recs, err
}

func (s *instrumented) Delete(ctx context.Context, c store.Collection, id string) error {
	start := time.Now()
	err := s.st.Delete(ctx, c, id)
	s.done("delete", start, err)
	return err
}

func (s *instrumented) PutToken(ctx context.Context, tok store.Token, now time.Time) error {
	start := time.Now()
	err := s.st.PutToken(ctx, tok, now)
	s.done("put_token", start, err)
	return err
}

func (s *instrumented) GetToken(ctx context.Context, digest string, now time.Time) (store.Token, error) {
	start := time.Now()
	tok, err := s.st.GetToken(ctx, digest, now)
	s.done("get_token", start, err)
	return tok, err
}

func (s *instrumented) TouchToken(ctx context.Context, digest string, expiresAt int64, now time.Time) (store.Token, error) {
	start := time.Now()
	tok, err := s.st.TouchToken(ctx, digest, expiresAt, now)
	s.done("touch_token", start, err)
	return tok, err
}

func (s *instrumented) ConsumeToken(ctx context.Context, digest string, now time.Time) (store.Token, error) {
	start := time.Now()
	tok, err := s.st.ConsumeToken(ctx, digest, now)
	s.done("consume_token", start, err)
	return tok, err
}

func (s *instrumented) DeleteToken(ctx context.Context, digest string, now time.Time) error {
	start := time.Now()
	err := s.st.DeleteToken(ctx, digest, now)
	s.done("delete_token", start, err)
	return err
}

func (s *instrumented) AppendRevocation(ctx context.Context, r store.Revocation) (uint64, error) {
	start := time.Now()
	seq, err := s.st.AppendRevocation(ctx, r)
	s.done("append_revocation", start, err)
	if err == nil {
		s.m.Revocations.WithLabelValues(r.Kind).Inc()
	}
	return seq, err
}

func (s *instrumented) Revocations(ctx context.Context, since uint64, limit int) ([]store.Revocation, store.Feed, error) {
	start := time.Now()
	revs, feed, err := s.st.Revocations(ctx, since, limit)
	s.done("revocations", start, err)
	return revs, feed, err
}

func (s *instrumented) CompactRevocations(ctx context.Context, before int64, keep int) (int, error) {
	start := time.Now()
	n, err := s.st.CompactRevocations(ctx, before, keep)
	s.done("compact_revocations", start, err)
	return n, err
}

func (s *instrumented) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.st.Ping(ctx)
	s.done("ping", start, err)
	return err
}

// Unwrap returns the wrapped store, for callers that look for optional
// interfaces of a backend.
func (s *instrumented) Unwrap() store.Store { return s.st }
