// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/jsonw"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

// The stored form of a cached answer in the proxy's shared data is a JSON
// object with short member names: a (active), s, t, sc (scopes), k (kind),
// tt, at, ci, v, cu, d, ap, hk (HMAC key), e (expiry, unix s), f and st
// (fresh and stale until, unix ms), re and rc (the epoch and sequence of
// the writer's position in the revocation feed when it asked for the
// answer, which reflects every revocation up to there: a reader that
// (re)started following the feed later, or follows another epoch of it,
// does not know the revocations in between, and does not use the answer).

// EncodeShared renders a positive entry for the shared layer, with the
// writer's feed position pos; ok is false for anything else (only positive
// answers are shared).
func EncodeShared(e Entry, pos Position) ([]byte, bool) {
	a := e.Answer
	if a == nil || !a.Active {
		return nil, false
	}
	var expires int64
	if !a.ExpiresAt.IsZero() {
		expires = a.ExpiresAt.Time().Unix()
	}
	return jsonw.New(nil).Bool("a", true).StringOmit("s", a.Subject).StringOmit("t", a.Tenant).StringsOmit("sc", a.Scopes).
		StringOmit("k", a.Kind).StringOmit("tt", a.TokenType).StringOmit("at", a.AccessType).StringOmit("ci", a.ClientID).
		StringOmit("v", a.Visitor).StringOmit("cu", a.Customer).StringOmit("d", a.DeveloperID).StringOmit("ap", a.AppID).
		StringOmit("hk", a.HMACKey).IntOmit("e", expires).Int("f", e.FreshUntil.Time().UnixMilli()).Int("st", e.StaleUntil.Time().UnixMilli()).
		StringOmit("re", pos.Epoch).Uint("rc", pos.Seq).Bytes(), true
}

// DecodeShared reads an entry the shared layer holds: a positive answer
// fresh at now, and its writer's feed position; ok is false for anything
// else, which is no answer.
func DecodeShared(b []byte, now time.Time) (e Entry, pos Position, ok bool) {
	if len(b) == 0 || !gjson.ValidBytes(b) {
		return Entry{}, Position{}, false
	}
	r := gjson.ParseBytes(b)
	fresh := time.UnixMilli(r.Get("f").Int())
	if !r.Get("a").Bool() || !now.Before(fresh) {
		return Entry{}, Position{}, false
	}
	a := &authn.Answer{Active: true, Subject: r.Get("s").String(), Tenant: r.Get("t").String(),
		Kind: r.Get("k").String(), TokenType: r.Get("tt").String(), AccessType: r.Get("at").String(),
		ClientID: r.Get("ci").String(), Visitor: r.Get("v").String(), Customer: r.Get("cu").String(),
		DeveloperID: r.Get("d").String(), AppID: r.Get("ap").String(), HMACKey: r.Get("hk").String()}
	for _, s := range r.Get("sc").Array() {
		a.Scopes = append(a.Scopes, s.String())
	}
	a.JoinScopes()
	if exp := r.Get("e").Int(); exp > 0 {
		a.ExpiresAt = stamp.Of(time.Unix(exp, 0))
	}
	pos = Position{Epoch: r.Get("re").String(), Seq: r.Get("rc").Uint()}
	return Entry{Answer: a, FreshUntil: stamp.Of(fresh), StaleUntil: stamp.Of(time.UnixMilli(r.Get("st").Int()))}, pos, true
}

// Revoked holds the credential digests a VM learnt from the revocation
// feed, for as long as any shared answer written before the revocation may
// live (Keep: the cache's longest TTL plus its stale window).
type Revoked struct {
	until map[string]stamp.Stamp
	Keep  time.Duration
	// closed: past MaxRevoked recent revocations, the shared layer is not
	// read until this time, rather than forget one.
	closed stamp.Stamp
}

// MaxRevoked bounds the digests a VM remembers.
const MaxRevoked = 100_000

// Add remembers a revoked digest at now.
func (s *Revoked) Add(digest string, now time.Time) {
	if s.until == nil {
		s.until = map[string]stamp.Stamp{}
	}
	if len(s.until) >= MaxRevoked {
		s.Prune(now)
	}
	if len(s.until) >= MaxRevoked {
		s.closed = stamp.Of(now.Add(s.Keep))
		return
	}
	s.until[digest] = stamp.Of(now.Add(s.Keep))
}

// Has reports whether a shared answer for digest must be refused at now.
func (s *Revoked) Has(digest string, now time.Time) bool {
	if now.Before(s.closed.Time()) {
		return true
	}
	until, ok := s.until[digest]
	return ok && now.Before(until.Time())
}

// Prune forgets revocations no shared answer can outlive.
func (s *Revoked) Prune(now time.Time) {
	for d, until := range s.until {
		if !now.Before(until.Time()) {
			delete(s.until, d)
		}
	}
}
