// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/credgate/credgate/plugin/internal/cache"
	"github.com/credgate/credgate/plugin/internal/scheme"
	"github.com/credgate/credgate/plugin/internal/textf"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// revocationFeed is a VM's position in the token cluster's revocation feed
// (cache.Feed holds the rules) and whether a poll is in flight.
type revocationFeed struct {
	cache.Feed
	inFlight bool
	// Kept from poll to poll, so that a poll of a quiet feed allocates
	// nothing: the headers, the path made for pathCursor and pathWait, the
	// bound callback, and the answer's buffer (what is kept from an answer
	// is copied out of it).
	headers    [5][2]string
	path       string
	pathCursor string
	pathWait   time.Duration
	answered   func(numHeaders, bodySize, numTrailers int)
	body       []byte
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
	f := &p.revoke
	path, timeout, wait := tokenapi.PathRevocations, c.Timeout, time.Duration(0)
	if f.Following() {
		if wait = c.RevocationWait; wait > 0 {
			timeout += wait + longPollGrace
		}
		if cur := f.Cursor(); f.path == "" || cur != f.pathCursor || wait != f.pathWait {
			f.path, f.pathCursor, f.pathWait = tokenapi.RevocationsPath(cur, wait), cur, wait
		}
		path = f.path
	}
	headers := c.AppendCallHeaders(f.headers[:0], "GET", path, "", nil)
	if f.answered == nil {
		f.answered = p.onRevocations
	}
	err := dispatch(c.Name, headers, nil, uint32(timeout.Milliseconds()), f.answered, &p.call.Encoded)
	p.call.Sent()
	if err != nil {
		proxywasm.LogWarn(textf.Sprintf("credgate: revocation poll not sent: %v", err))
		return
	}
	p.revoke.inFlight = true
}

func (p *pluginContext) onRevocations(numHeaders, bodySize, _ int) {
	p.revoke.inFlight = false
	defer p.revoke.dropLargeBody()
	body, err := p.callBody(numHeaders, bodySize, scheme.MaxRevocationsAnswer, &p.revoke.body) // reused: what is kept is copied
	if err != nil {
		p.metrics.inc("credgate.revocations.errors")
		return
	}
	feed, err := scheme.DecodeRevocations(body)
	if err != nil {
		p.metrics.inc("credgate.revocations.errors")
		return
	}
	now, next := p.now(), feed.Next
	if cur := p.revoke.Cursor(); next == cur {
		next = cur
	} else {
		next = strings.Clone(next) // kept as the cursor; the buffer is reused
	}
	if feed.Behind || p.revoke.Foreign(next) {
		// Foreign: a next in another epoch than the cursor is a feed made
		// again, whatever the answer says; positions cannot be compared.
		p.restartFeed(next, now)
		return
	}
	evicted := 0
	p.revoked.Prune(now)
	for _, digest := range feed.Digests {
		p.revoked.Add(strings.Clone(digest), now) // kept; the buffer is reused
		evicted += p.cache.EvictDigest(digest)
	}
	p.revoke.Advance(next, now, p.revoked.Keep)
	if evicted > 0 {
		p.metrics.add("credgate.revocations.evicted", uint64(evicted))
		proxywasm.LogInfo(textf.Sprintf("credgate: revocation feed evicted %d cached answers", evicted))
	}
}

// dropLargeBody lets a large answer's buffer go once read, as the call
// buffers do: a VM keeps at most scheme.MaxKeptCallBuffer of it.
func (f *revocationFeed) dropLargeBody() {
	if cap(f.body) > scheme.MaxKeptCallBuffer {
		f.body = nil
	}
}

// restartFeed follows the feed afresh from next, when the token cluster
// answered that this VM's cursor fell behind the compacted part of the feed
// (or the feed was reset), so revocations were missed: every cached answer
// goes, and cache.Feed refuses older answers from then on.
func (p *pluginContext) restartFeed(next string, now time.Time) {
	was := p.revoke.Cursor()
	if !p.revoke.Restart(next, now, p.revoked.Keep) {
		return
	}
	dropped := p.cache.Clear()
	p.metrics.inc("credgate.revocations.behind")
	proxywasm.LogWarn(textf.Sprintf("credgate: revocation feed: position %s fell behind the compacted feed (or the feed was reset); dropped %d cached answers, following again from %q",
		was, dropped, next))
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
