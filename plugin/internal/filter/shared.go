// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/cache"
	"github.com/credgate/credgate/plugin/internal/slots"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// The proxy's shared data is visible to every VM (worker) of the plugin.
// It cannot delete keys, so the plugin keeps two bounded tables of slots
// there (plugin/internal/slots), plus the per-VM stat slots:
//
//	credgate/v2/c/<n>  positive answers, for the other VMs' misses (cache.shared_slots)
//	credgate/v2/n/<n>  single-use values (HMAC signatures) already used, 8 per key (cache.replay_slots keys)
//
// Revocations are not shared: every VM follows the revocation feed itself
// and refuses revoked credentials from the shared layer (cache.Revoked).
var (
	answerTable = slots.Table{Prefix: "credgate/v2/c/", Probes: 4}
	replayTable = slots.Buckets{Prefix: "credgate/v2/n/", PerKey: 8, Probes: 2}
)

func (p *pluginContext) sharedPut(lk *authn.Lookup, e cache.Entry, pos cache.Position, now time.Time) {
	// Last writer wins: every writer stores a valid answer. With every slot
	// of the key taken by live answers, this one is simply not shared.
	if b, ok := cache.EncodeShared(e, pos); ok {
		answerTable.Put(sharedStore{}, lk.SharedKey(), b, e.StaleUntil.Time(), now)
	}
}

// sharedGet returns a fresh positive answer another VM stored, unless this
// VM learnt from the revocation feed that the credential was revoked, or
// does not follow the feed yet, or the answer predates its start in the
// feed.
func (p *pluginContext) sharedGet(lk *authn.Lookup, now time.Time) (cache.Entry, bool) {
	if !p.revocationsFollowed() {
		return cache.Entry{}, false
	}
	b, ok := answerTable.GetInto(sharedStore{}, lk.SharedKey(), now, &p.slotKey)
	if !ok {
		return cache.Entry{}, false
	}
	e, pos, ok := cache.DecodeShared(b, now)
	if !ok || p.revoked.Has(lk.Digest(), now) {
		return cache.Entry{}, false
	}
	if p.followsFeed() && !p.revoke.SharedUsable(pos, now) {
		// Asked for before this VM (re)started following the feed, or in
		// another epoch of it: a revocation in between would be unknown here.
		return cache.Entry{}, false
	}
	return e, true
}

// sharedReplay implements config.ReplayGuard on shared data, so a
// single-use value is accepted once across every VM. Claims are atomic by
// compare-and-swap once a bucket exists; proxy-wasm cannot create a key
// atomically, so the first write of a bucket is read back, and two VMs can
// accept one value only if their first writes to a new bucket interleave
// exactly (slots.Buckets).
type sharedReplay struct{ clock }

// FirstUse implements config.ReplayGuard. Any failure counts as a reuse, and
// so does a full table: refusing is safer than forgetting a used value.
func (g sharedReplay) FirstUse(key string, until int64) bool {
	switch replayTable.Claim(sharedStore{}, key, time.Unix(until, 0), g.now()) {
	case slots.First:
		return true
	case slots.Full:
		proxywasm.LogWarn(textf.Sprintf("credgate: every replay slot holds a live value (cache.replay_slots %d); refusing", replayTable.Size))
	}
	return false
}
