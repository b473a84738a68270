// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"net/url"
	"strconv"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/cache"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// revocationFeed is a VM's position in the token cluster's revocation feed
// (cache.Feed holds the rules) and whether a poll is in flight.
type revocationFeed struct {
	cache.Feed
	inFlight bool
}

// longPollGrace is added to a long-poll's timeout besides timeout_ms: the
// cluster starts its wait when the call arrives, and a busy cluster or a
// queue on the way must not turn every idle call into a timeout.
const longPollGrace = 5 * time.Second

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
	if p.revoke.Following() {
		path += "?" + tokenapi.RevocationsSince + "=" + url.QueryEscape(p.revoke.Cursor())
		if c.RevocationWait > 0 {
			path += "&" + tokenapi.RevocationsWait + "=" + strconv.Itoa(int(c.RevocationWait/time.Second))
			timeout += c.RevocationWait + longPollGrace
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
	p.revoke.Advance(next, now, p.revoked.keep)
	if evicted > 0 {
		p.metrics.add("credgate.revocations.evicted", uint64(evicted))
		proxywasm.LogInfof("credgate: revocation feed evicted %d cached answers", evicted)
	}
}

// restartFeed follows the feed afresh from next, when the token cluster
// answered that this VM's cursor fell behind the compacted part of the feed
// (or the feed was reset), so revocations were missed: every cached answer
// goes, and cache.Feed refuses older answers from then on.
func (p *pluginContext) restartFeed(next string, now time.Time) {
	was := p.revoke.Cursor()
	if !p.revoke.Restart(next, now, p.revoked.keep) {
		return
	}
	dropped := p.cache.Clear()
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
	return c == nil || c.RevocationPoll == 0 || p.revoke.Following()
}

func hasStatus(headers [][2]string, want string) bool {
	for _, kv := range headers {
		if kv[0] == ":status" {
			return kv[1] == want
		}
	}
	return false
}
