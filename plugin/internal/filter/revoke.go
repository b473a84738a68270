// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"net/url"
	"strconv"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// revocationFeed is a VM's position in the token cluster's revocation feed.
type revocationFeed struct {
	cursor   string
	inFlight bool
	// start is the first position this VM learnt: it knows every
	// revocation after it, none before.
	start uint64
}

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
// poll only learns the current cursor.
func (p *pluginContext) pollRevocations() {
	c := p.cfg.Cluster
	if c == nil || p.revoke.inFlight {
		return
	}
	path := tokenapi.PathRevocations
	if p.revoke.cursor != "" {
		path += "?since=" + url.QueryEscape(p.revoke.cursor)
	}
	headers := [][2]string{{":method", "GET"}, {":path", path}, {":authority", c.Authority}, {"accept", "application/json"}}
	if c.VerifyToken != "" {
		headers = append(headers, [2]string{"authorization", "Bearer " + c.VerifyToken})
	}
	_, err := proxywasm.DispatchHttpCall(c.Name, headers, nil, nil, uint32(c.Timeout.Milliseconds()), p.onRevocations)
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
	evicted := 0
	now := p.now()
	p.revoked.prune(now)
	for _, r := range root.Get(tokenapi.FieldRevocations).Array() {
		digest := r.Get("digest").String()
		if digest == "" {
			continue
		}
		p.revoked.add(digest, now)
		evicted += p.cache.EvictDigest(digest)
	}
	if next := root.Get(tokenapi.FieldNext).String(); next != "" {
		first := p.revoke.cursor == ""
		p.revoke.cursor = next
		if first {
			p.revoke.start = p.revoke.position()
		}
	}
	if evicted > 0 {
		p.metrics.add("credgate.revocations.evicted", uint64(evicted))
		proxywasm.LogInfof("credgate: revocation feed evicted %d cached answers", evicted)
	}
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
