// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/jose"
	"github.com/credgate/credgate/plugin/internal/policy"
	"github.com/credgate/credgate/plugin/internal/respond"
	"github.com/credgate/credgate/plugin/internal/scheme"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// refreshKeys, on each tick, ends fetches whose answer is lost and starts
// the fetches that are due or asked for. Fetches start from the root
// context only: a fetch sent from a stream would end with the stream.
func (p *pluginContext) refreshKeys() {
	now := p.now()
	for _, src := range p.cfg.JWKS {
		if src.Overdue(now) {
			p.keysDone(src, nil, scheme.ErrJWKSLost)
		}
		if src.Due(now) && !p.fetchKeys(src) {
			p.resumeWaiters(src)
		}
	}
}

// awaitKeys pauses a stream denied for want of a remote key until the key
// set has been fetched, then decides again. It returns false when there is
// nothing to wait for: no such source, or a fetch is neither under way nor
// allowed yet.
func (h *httpContext) awaitKeys(rt *policy.Route, req *authn.HeaderRequest, d *authn.DenyError) bool {
	for _, src := range h.plugin.cfg.JWKS {
		if src.Provider == d.KeySource {
			h.parked = true
			return src.Wait(h.now(), func() { h.decideAgain(rt, req) })
		}
	}
	return false
}

// decideAgain finishes a stream once the key set it waited for is known.
func (h *httpContext) decideAgain(rt *policy.Route, req *authn.HeaderRequest) {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogCritical(textf.Sprintf("credgate: internal error: %v", r))
			h.reply(respond.Internal())
		}
	}()
	// The fetch's answer arrives in the context of the stream that sent
	// it; each waiting stream is addressed in its own.
	if h.done || proxywasm.SetEffectiveContext(h.id) != nil {
		return
	}
	res := rt.Decide(req, h.now())
	if res.Lookup != nil {
		// The same request decides by the same scheme (jwt, local) as the
		// first time; a lookup here cannot be addressed to this stream.
		res = policy.Result{Verifier: res.Verifier, Deny: authn.Deny(authn.ErrUnavailable, "internal_error",
			"The credentials cannot be verified right now. Try again later.")}
	}
	if h.conclude(rt, req, res) == types.ActionContinue {
		mustOK(proxywasm.ResumeHttpRequest())
	}
}

// fetchKeys sends one key-set request; it reports whether it was sent.
func (p *pluginContext) fetchKeys(src *scheme.JWKSSource) bool {
	headers := [][2]string{{":method", "GET"}, {":path", src.Path}, {":authority", src.Authority}, {"accept", "application/json"}}
	if src.Secrets {
		// Checked at configuration: only the token cluster serves secrets.
		headers = append(headers, [2]string{"authorization", "Bearer " + p.cfg.Cluster.VerifyToken})
	}
	err := dispatch(src.Cluster, headers, nil, uint32(src.Timeout/time.Millisecond),
		func(numHeaders, bodySize, _ int) { p.keysFetched(src, numHeaders, bodySize) }, &p.call.Encoded)
	p.call.Sent() // the encoded headers may hold the verify credential
	if err != nil {
		proxywasm.LogWarn(textf.Sprintf("credgate: key set fetch not sent: provider=%s cluster=%s: %v", src.Provider, src.Cluster, err))
		src.Done(nil, err, p.now())
		p.metrics.inc("credgate.jwks.errors")
		return false
	}
	src.Begin(p.now())
	return true
}

func (p *pluginContext) keysFetched(src *scheme.JWKSSource, numHeaders, bodySize int) {
	text, err := p.callBody(numHeaders, bodySize, jose.MaxSetBytes, nil)
	body := []byte(text)
	p.keysDone(src, body, err)
}

// keysDone records a fetch's outcome and lets the waiting streams decide.
func (p *pluginContext) keysDone(src *scheme.JWKSSource, body []byte, err error) {
	if err = src.Done(body, err, p.now()); err != nil {
		p.metrics.inc("credgate.jwks.errors")
		proxywasm.LogWarn(textf.Sprintf("credgate: key set fetch failed: provider=%s: %v", src.Provider, err))
	} else {
		p.metrics.inc("credgate.jwks.fetches")
	}
	p.resumeWaiters(src)
}

func (p *pluginContext) resumeWaiters(src *scheme.JWKSSource) {
	for _, resume := range src.Waiters() {
		resume()
	}
}
