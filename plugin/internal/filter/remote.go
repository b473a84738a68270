// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"errors"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/cache"
	"github.com/credgate/credgate/plugin/internal/policy"
	"github.com/credgate/credgate/plugin/internal/respond"
	"github.com/credgate/credgate/plugin/internal/scheme"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// remote answers a verifier's lookup from the caches or the token cluster.
// On a miss the stream pauses until the cluster answers. A hit reads the
// cache by the credential's key alone: the call's body, the credential's
// digest and the correlation headers are made on a miss.
func (h *httpContext) remote(rt *policy.Route, req *authn.HeaderRequest, res policy.Result, now time.Time) types.Action {
	p := h.plugin
	lk, rv := res.Lookup, res.Verifier.(authn.RemoteVerifier)
	if !lk.NoCache {
		p.key = lk.AppendKey(p.key[:0])
		if e, ok := p.cached(lk, p.key, now); ok {
			p.metrics.inc("credgate.cache.hit")
			if !e.RefreshAt.IsZero() && !now.Before(e.RefreshAt.Time()) {
				p.cache.MarkRefreshed(string(p.key), now.Add(lk.Refresh))
				p.refreshes.Push(lk, scheme.AppendCorrelation(nil, req)) // sent at the next tick
			}
			return h.conclude(rt, req, rt.Finish(req, rv, e.Answer, now))
		}
	}
	p.metrics.inc("credgate.cache.miss")
	h.calling = true
	p.call.Trace = scheme.AppendCorrelation(p.call.Trace[:0], req)
	h.pend = pending{rt, req, rv, lk}
	if err := p.ask(lk, p.call.Trace, h); err != nil {
		h.calling, h.pend = false, pending{} // no answer will come
		return h.unavailable(rt, req, rv, lk, err)
	}
	return types.ActionPause
}

// pending is what a paused stream resumes with once its answer comes.
type pending struct {
	rt  *policy.Route
	req *authn.HeaderRequest
	rv  authn.RemoteVerifier
	lk  *authn.Lookup
}

// take is the paused stream's answer (answerTaker).
func (h *httpContext) take(a *authn.Answer, mark cache.Mark, err error) {
	pd := h.pend
	h.pend = pending{}
	h.resume(pd.rt, pd.req, pd.rv, pd.lk, a, mark, err)
	h.calling = false // only now: a deletion during the callback keeps it
}

// resume finishes a paused stream once the token cluster answered.
func (h *httpContext) resume(rt *policy.Route, req *authn.HeaderRequest, rv authn.RemoteVerifier,
	lk *authn.Lookup, a *authn.Answer, mark cache.Mark, err error) {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogCritical(textf.Sprintf("credgate: internal error: %v", r))
			h.reply(respond.Internal())
		}
	}()
	var action types.Action
	switch {
	case errors.Is(err, errMismatch):
		action = h.conclude(rt, req, policy.Result{Deny: scheme.AnswerMismatch(rv.Name()), Verifier: rv})
	case err != nil:
		action = h.unavailable(rt, req, rv, lk, err)
	default:
		h.plugin.store(lk, a, mark, h.now())
		action = h.conclude(rt, req, rt.Finish(req, rv, a, h.now()))
	}
	if action == types.ActionContinue {
		mustOK(proxywasm.ResumeHttpRequest())
	}
}

// unavailable decides when the token cluster could not answer: a route with
// fail_policy "stale" may use a cached positive answer within the stale
// window; everything else gets 503.
func (h *httpContext) unavailable(rt *policy.Route, req *authn.HeaderRequest, rv authn.RemoteVerifier,
	lk *authn.Lookup, cause error) types.Action {
	p := h.plugin
	p.metrics.inc("credgate.cluster.errors")
	now := h.now()
	if rt.FailStale && !lk.NoCache {
		if e, st := p.cache.GetBytes(lk.AppendKey(p.key[:0]), now); st != cache.Missing && e.Answer.Active {
			p.metrics.inc("credgate.cache.stale")
			proxywasm.LogWarn(textf.Sprintf("credgate: token cluster unavailable, serving a cached answer: route=%s scheme=%s cause=%v",
				rt.Name, rv.Name(), cause))
			return h.conclude(rt, req, rt.Finish(req, rv, e.Answer, now))
		}
	}
	d := authn.Deny(authn.ErrUnavailable, "cluster_unavailable", "The credentials cannot be verified right now. Try again later.").
		WithDetail("%v", cause)
	return h.conclude(rt, req, policy.Result{Deny: d, Verifier: rv})
}

// cached finds a fresh answer in the VM's cache, then in the shared layer;
// key is the lookup's (AppendKey).
func (p *pluginContext) cached(lk *authn.Lookup, key []byte, now time.Time) (cache.Entry, bool) {
	if e, st := p.cache.GetBytes(key, now); st == cache.Fresh {
		return e, true
	}
	if !p.cfg.Cache.Shared {
		return cache.Entry{}, false
	}
	e, ok := p.sharedGet(lk, now)
	if ok {
		p.cache.Put(string(key), lk.Digest(), e, now)
	}
	return e, ok
}

// store caches a fresh answer in the VM's cache and, when positive, in the
// shared layer for the other VMs, stamped with mark: where this VM stood in
// the revocation feed when it asked. An answer asked for before the VM
// (re)started following the feed may predate a revocation it skipped, and
// one whose credential was revoked while the call was in flight may predate
// that revocation: neither is cached.
func (p *pluginContext) store(lk *authn.Lookup, a *authn.Answer, mark cache.Mark, now time.Time) {
	if lk.NoCache || !p.revocationsFollowed() || p.revoked.Has(lk.Digest(), now) ||
		p.followsFeed() && !p.revoke.Current(mark) {
		return
	}
	e, ok := p.cache.Policy().Lifetimes(a, now, lk.Refresh)
	if !ok {
		return
	}
	p.key = lk.AppendKey(p.key[:0])
	p.cache.Put(string(p.key), lk.Digest(), e, now)
	if p.cfg.Cache.Shared && a.Active {
		p.sharedPut(lk, e, mark.Pos, now)
	}
}

// sendRefreshes repeats, from the tick, the lookups that slide sessions'
// expiry (cache.Refreshes); each answer replaces the cached one.
func (p *pluginContext) sendRefreshes() {
	lks, traces := p.refreshes.Take()
	for i, lk := range lks {
		err := p.ask(lk, traces[i], refresh{p, lk})
		if err != nil {
			proxywasm.LogWarn(textf.Sprintf("credgate: background refresh not sent: %v", err))
		}
	}
}

var (
	errReset   = errors.New("the call was reset")
	errTooBig  = errors.New("the answer is too large")
	errNoReply = errors.New("the answer has no status")
	// errMismatch: the token cluster answered for another credential
	// (authn.Lookup.Answers); such an answer is neither used nor cached.
	errMismatch = errors.New("the answer is for another credential")
)

// refresh stores a background refresh's answer (answerTaker).
type refresh struct {
	p  *pluginContext
	lk *authn.Lookup
}

func (r refresh) take(a *authn.Answer, mark cache.Mark, err error) {
	if err == nil {
		r.p.store(r.lk, a, mark, r.p.now())
	}
}

// answerTaker gets a token-cluster answer (ask): the decoded answer or the
// reason there is none, and the VM's feed position when it asked.
type answerTaker interface {
	take(a *authn.Answer, mark cache.Mark, err error)
}

// clusterCall is a token-cluster call in flight. Its callback is bound
// once; once answered, the record is kept for a later call (at most
// maxFreeCalls). A call whose stream was deleted first is never answered
// (the SDK drops it), and its record is left to the collector.
type clusterCall struct {
	p    *pluginContext
	lk   *authn.Lookup
	sent stamp.Stamp
	mark cache.Mark
	to   answerTaker
	cb   func(numHeaders, bodySize, numTrailers int)
}

const maxFreeCalls = 16

// ask sends a lookup to the token cluster with the request's correlation
// headers (trace); to gets its answer.
func (p *pluginContext) ask(lk *authn.Lookup, trace [][2]string, to answerTaker) error {
	c, b := p.cfg.Cluster, &p.call
	b.Headers = c.AppendCallHeaders(b.Headers[:0], lk.Method, lk.Path, lk.ContentType, trace)
	var rec *clusterCall
	if n := len(p.calls); n > 0 {
		rec, p.calls = p.calls[n-1], p.calls[:n-1]
	} else {
		rec = &clusterCall{p: p}
		rec.cb = rec.answered
	}
	rec.lk, rec.sent, rec.mark, rec.to = lk, stamp.Of(p.now()), p.revoke.Mark(), to
	b.Body = lk.AppendBody(b.Body[:0])
	defer b.Sent()
	err := dispatch(c.Name, b.Headers, b.Body, uint32(c.Timeout/time.Millisecond), rec.cb, &b.Encoded)
	if err != nil {
		rec.release()
	}
	return err
}

// release clears the record and keeps it for a later call.
func (c *clusterCall) release() {
	p := c.p
	*c = clusterCall{p: p, cb: c.cb}
	if len(p.calls) < maxFreeCalls {
		p.calls = append(p.calls, c)
	}
}

// answered is the call's callback: it decodes the answer and hands it on.
func (c *clusterCall) answered(numHeaders, bodySize, _ int) {
	p, b, lk, mark, to := c.p, &c.p.call, c.lk, c.mark, c.to
	p.metrics.latency(max(p.now().Sub(c.sent.Time()), 0))
	c.release() // before to.take, which may ask again
	body, err := p.callBody(numHeaders, bodySize, scheme.MaxAnswer, &b.Answer)
	var a *authn.Answer
	if err == nil {
		a, err = scheme.DecodeAnswer(body) // keeps none of body
	}
	b.Decoded()
	if err == nil && !lk.Answers(a) {
		a, err = nil, errMismatch
	}
	to.take(a, mark, err)
}

// callBody reads an http call's answer in its callback: the body of a 200
// of at most max bytes, or why there is none. The status is read into the
// VM's buffer, and the body into *into, or a new buffer when into is nil.
func (p *pluginContext) callBody(numHeaders, bodySize, max int, into *[]byte) (string, error) {
	if numHeaders == 0 {
		return "", errReset
	}
	status, err := callStatus(&p.call.Status)
	switch {
	case err != nil && err != types.ErrorStatusNotFound:
		return "", errNoReply
	case status != "200":
		return "", textf.Errorf("answered %q", status)
	case bodySize > max:
		return "", errTooBig
	}
	body, err := callBodyText(into, bodySize)
	if err != nil && err != types.ErrorStatusNotFound {
		return "", textf.Errorf("cannot read the answer: %w", err)
	}
	return body, nil
}
