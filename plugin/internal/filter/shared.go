// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/cache"
	"github.com/credgate/credgate/plugin/internal/jsonw"
	"github.com/credgate/credgate/plugin/internal/slots"
)

// The proxy's shared data is visible to every VM (worker) of the plugin.
// It cannot delete keys, so the plugin keeps two bounded tables of slots
// there (plugin/internal/slots), plus the per-VM stat slots:
//
//	credgate/v2/c/<n>  positive answers, for the other VMs' misses (cache.shared_slots)
//	credgate/v2/n/<n>  single-use values (HMAC signatures) already used, 8 per key (cache.replay_slots keys)
//
// Revocations are not shared: every VM follows the revocation feed itself
// and refuses revoked credentials from the shared layer (revokedSet).
var (
	answerTable = slots.Table{Prefix: "credgate/v2/c/", Probes: 4}
	replayTable = slots.Buckets{Prefix: "credgate/v2/n/", PerKey: 8, Probes: 2}
)

// The stored form of a cached answer is a JSON object with short member
// names: a (active), s, t, sc (scopes), k (kind), tt, at, ci, v, cu, d, ap,
// hk (HMAC key), e (expiry, unix s), f and st (fresh and stale until, unix
// ms), rc (the writer's position in the revocation feed when it asked for
// the answer, which reflects every revocation up to there: a reader that
// (re)started following the feed later does not know the revocations in
// between, and does not use the answer).

func (p *pluginContext) sharedPut(lk *authn.Lookup, e cache.Entry, pos uint64, now time.Time) {
	a := e.Answer
	if a == nil || !a.Active {
		return // only positive answers are shared
	}
	var expires int64
	if !a.ExpiresAt.IsZero() {
		expires = a.ExpiresAt.Unix()
	}
	b := jsonw.New(nil).Bool("a", true).StringOmit("s", a.Subject).StringOmit("t", a.Tenant).StringsOmit("sc", a.Scopes).
		StringOmit("k", a.Kind).StringOmit("tt", a.TokenType).StringOmit("at", a.AccessType).StringOmit("ci", a.ClientID).
		StringOmit("v", a.Visitor).StringOmit("cu", a.Customer).StringOmit("d", a.DeveloperID).StringOmit("ap", a.AppID).
		StringOmit("hk", a.HMACKey).IntOmit("e", expires).Int("f", e.FreshUntil.UnixMilli()).Int("st", e.StaleUntil.UnixMilli()).
		Uint("rc", pos).Bytes()
	// Last writer wins: every writer stores a valid answer. With every slot
	// of the key taken by live answers, this one is simply not shared.
	answerTable.Put(sharedStore{}, lk.CacheKey, b, e.StaleUntil, now)
}

// sharedGet returns a fresh positive answer another VM stored, unless this
// VM learnt from the revocation feed that the credential was revoked, or
// does not follow the feed yet, or the answer predates its start in the
// feed.
func (p *pluginContext) sharedGet(lk *authn.Lookup, now time.Time) (cache.Entry, bool) {
	if !p.revocationsFollowed() {
		return cache.Entry{}, false
	}
	b, ok := answerTable.Get(sharedStore{}, lk.CacheKey, now)
	if !ok || len(b) == 0 || !gjson.ValidBytes(b) {
		return cache.Entry{}, false
	}
	r := gjson.ParseBytes(b)
	fresh := time.UnixMilli(r.Get("f").Int())
	if !r.Get("a").Bool() || !now.Before(fresh) || p.revoked.has(lk.Digest, now) {
		return cache.Entry{}, false // the entry says what it is; anything else is no answer
	}
	if p.followsFeed() && !p.revoke.SharedUsable(r.Get("rc").Uint(), now) {
		// Asked for before this VM (re)started following the feed: a
		// revocation in between would be unknown here.
		return cache.Entry{}, false
	}
	a := &authn.Answer{Active: true, Subject: r.Get("s").String(), Tenant: r.Get("t").String(),
		Kind: r.Get("k").String(), TokenType: r.Get("tt").String(), AccessType: r.Get("at").String(),
		ClientID: r.Get("ci").String(), Visitor: r.Get("v").String(), Customer: r.Get("cu").String(),
		DeveloperID: r.Get("d").String(), AppID: r.Get("ap").String(), HMACKey: r.Get("hk").String()}
	for _, s := range r.Get("sc").Array() {
		a.Scopes = append(a.Scopes, s.String())
	}
	if exp := r.Get("e").Int(); exp > 0 {
		a.ExpiresAt = time.Unix(exp, 0)
	}
	return cache.Entry{Answer: a, FreshUntil: fresh, StaleUntil: time.UnixMilli(r.Get("st").Int())}, true
}

// revokedSet holds the credential digests this VM learnt from the
// revocation feed, for as long as any shared answer written before the
// revocation may live (the cache's longest TTL plus its stale window).
type revokedSet struct {
	until map[string]time.Time
	keep  time.Duration
	// closed: past maxRevoked recent revocations, the shared layer is not
	// read until this time, rather than forget one.
	closed time.Time
}

// maxRevoked bounds the digests a VM remembers.
const maxRevoked = 100_000

func (s *revokedSet) add(digest string, now time.Time) {
	if s.until == nil {
		s.until = map[string]time.Time{}
	}
	if len(s.until) >= maxRevoked {
		s.prune(now)
	}
	if len(s.until) >= maxRevoked {
		s.closed = now.Add(s.keep)
		return
	}
	s.until[digest] = now.Add(s.keep)
}

func (s *revokedSet) has(digest string, now time.Time) bool {
	if now.Before(s.closed) {
		return true
	}
	until, ok := s.until[digest]
	return ok && now.Before(until)
}

// prune forgets revocations no shared answer can outlive.
func (s *revokedSet) prune(now time.Time) {
	for d, until := range s.until {
		if !now.Before(until) {
			delete(s.until, d)
		}
	}
}

// sharedReplay implements config.ReplayGuard on shared data, so a
// single-use value is accepted once across every VM. Claims are atomic by
// compare-and-swap once a bucket exists; proxy-wasm cannot create a key
// atomically, so the first write of a bucket is read back, and two VMs can
// accept one value only if their first writes to a new bucket interleave
// exactly (slots.Buckets).
type sharedReplay struct{ now func() time.Time }

// FirstUse implements config.ReplayGuard. Any failure counts as a reuse, and
// so does a full table: refusing is safer than forgetting a used value.
func (g sharedReplay) FirstUse(key string, until int64) bool {
	switch replayTable.Claim(sharedStore{}, key, time.Unix(until, 0), g.now()) {
	case slots.First:
		return true
	case slots.Full:
		proxywasm.LogWarnf("credgate: every replay slot holds a live value (cache.replay_slots %d); refusing", replayTable.Size)
	}
	return false
}

// vmIdentity is a random identity of this VM, made on first use.
func vmIdentity() string {
	if writer.id == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("no randomness: " + err.Error())
		}
		writer.id = hex.EncodeToString(b[:])
	}
	return writer.id
}

// writer is this VM's identity (its stat slot). A VM is single-threaded.
var writer struct {
	id string
}
