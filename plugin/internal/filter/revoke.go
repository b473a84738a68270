// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"net/url"
	"strconv"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// revocationFeed is a VM's position in the token cluster's revocation feed.
type revocationFeed struct {
	cursor   string
	inFlight bool
	// start is the position this VM (re)started following from: it knows
	// every revocation after it, none before.
	start uint64
	// epoch counts the (re)starts: an answer asked for in an earlier epoch
	// may predate a revocation this VM skipped, and is not cached.
	epoch uint32
	// sharedAfter: after a reset of the feed, the shared layer is not read
	// before this time.
	sharedAfter time.Time
}

// feedMark is where a VM stood in the feed when it asked the token cluster
// for an answer: the answer reflects every revocation up to pos.
type feedMark struct {
	epoch uint32
	pos   uint64
}

func (f revocationFeed) mark() feedMark { return feedMark{epoch: f.epoch, pos: f.position()} }

// position is the feed cursor as a number (the token cluster's sequence),
// 0 when unknown.
func (f revocationFeed) position() uint64 {
	n, err := strconv.ParseUint(f.cursor, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// pollRevocations asks the token cluster for revocations since the last
// cursor, evicts the named credentials from this VM's cache and remembers
// them so this VM never serves them from the shared layer either. The first
// poll only learns the current cursor. With a revocation wait the poll is a
// long-poll: the token cluster holds it until a revocation arrives, so an
// idle VM sends one call per wait, and its timeout covers the wait.
func (p *pluginContext) pollRevocations() {
	c := p.cfg.Cluster
	if c == nil || p.revoke.inFlight {
		return
	}
	path := tokenapi.PathRevocations
	timeout := c.Timeout
	if p.revoke.cursor != "" {
		path += "?" + tokenapi.RevocationsSince + "=" + url.QueryEscape(p.revoke.cursor)
		if c.RevocationWait > 0 {
			path += "&" + tokenapi.RevocationsWait + "=" + strconv.Itoa(int(c.RevocationWait/time.Second))
			timeout += c.RevocationWait
		}
	}
	headers := [][2]string{{":method", "GET"}, {":path", path}, {":authority", c.Authority}, {"accept", "application/json"}}
	if c.VerifyToken != "" {
		headers = append(headers, [2]string{"authorization", "Bearer " + c.VerifyToken})
	}
	_, err := proxywasm.DispatchHttpCall(c.Name, headers, nil, nil, uint32(timeout.Milliseconds()), p.onRevocations)
	if err != nil {
		proxywasm.LogWarnf("credgate: revocation poll not sent: %v", err)
		return
	}
	p.revoke.inFlight = true
}

func (p *pluginContext) onRevocations(numHeaders, bodySize, _ int) {
	p.revoke.inFlight = false
	if numHeaders == 0 || bodySize == 0 || bodySize > 1<<20 {
		p.metrics.inc("credgate.revocations.errors")
		return
	}
	headers, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil || !hasStatus(headers, "200") {
		p.metrics.inc("credgate.revocations.errors")
		return
	}
	body, err := proxywasm.GetHttpCallResponseBody(0, bodySize)
	if err != nil || !gjson.ValidBytes(body) {
		p.metrics.inc("credgate.revocations.errors")
		return
	}
	root := gjson.ParseBytes(body)
	now := p.now()
	next := root.Get(tokenapi.FieldNext).String()
	if root.Get(tokenapi.FieldBehind).Bool() {
		p.restartFeed(next, now)
		return
	}
	evicted := 0
	p.revoked.prune(now)
	for _, r := range root.Get(tokenapi.FieldRevocations).Array() {
		digest := r.Get("digest").String()
		if digest == "" {
			continue
		}
		p.revoked.add(digest, now)
		evicted += p.cache.EvictDigest(digest)
	}
	if next != "" {
		if p.revoke.cursor == "" {
			p.restartFeed(next, now)
		}
		p.revoke.cursor = next
	}
	if evicted > 0 {
		p.metrics.add("credgate.revocations.evicted", uint64(evicted))
		proxywasm.LogInfof("credgate: revocation feed evicted %d cached answers", evicted)
	}
}

// restartFeed follows the feed afresh from next: at the first poll, or when
// the token cluster answered that this VM's cursor fell behind the
// compacted part of the feed, so revocations were missed. Every cached
// answer goes, answers asked for before now are not cached, and shared
// answers stamped before next are refused (sharedGet). A position that went
// backwards means the feed was reset: positions written before mean nothing,
// so the shared layer is not read for as long as any answer in it may live.
// Without next, the VM forgets its position: nothing is cached until the
// next poll learns the head.
func (p *pluginContext) restartFeed(next string, now time.Time) {
	first, old, was := p.revoke.cursor == "", p.revoke.position(), p.revoke.cursor
	p.revoke.cursor = next
	p.revoke.start = p.revoke.position()
	p.revoke.epoch++
	if first {
		return
	}
	dropped := p.cache.Clear()
	if p.revoke.start < old {
		p.revoke.sharedAfter = now.Add(p.revoked.keep)
	}
	p.metrics.inc("credgate.revocations.behind")
	proxywasm.LogWarnf("credgate: revocation feed: position %s fell behind the compacted feed (or the feed was reset); dropped %d cached answers, following again from %q",
		was, dropped, next)
}

// followsFeed reports whether revocation polling is configured.
func (p *pluginContext) followsFeed() bool {
	c := p.cfg.Cluster
	return c != nil && c.RevocationPoll > 0
}

// revocationsFollowed reports whether answers may be cached: only once the
// VM knows its position in the revocation feed, so that any revocation after
// an answer was cached is seen by a later poll. Without polling configured,
// cached answers live at most their TTL.
func (p *pluginContext) revocationsFollowed() bool {
	c := p.cfg.Cluster
	return c == nil || c.RevocationPoll == 0 || p.revoke.cursor != ""
}

func hasStatus(headers [][2]string, want string) bool {
	for _, kv := range headers {
		if kv[0] == ":status" {
			return kv[1] == want
		}
	}
	return false
}
