// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"errors"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/config"
	"github.com/credgate/credgate/plugin/internal/gcguard"
	"github.com/credgate/credgate/plugin/internal/policy"
	"github.com/credgate/credgate/plugin/internal/respond"
	"github.com/credgate/credgate/plugin/internal/textf"
)

type httpContext struct {
	types.DefaultHttpContext
	id     uint32
	done   bool
	plugin *pluginContext
	cfg    *config.Config
	clock
	req   authn.HeaderRequest // the stream's request view
	pairs [][2]string         // the header pairs, a slice kept when the context is reused
	hdrs  []byte              // the host's encoding of the headers, which pairs point into; kept too
	// parked: the stream was handed to a key-set wait, which may outlive
	// it; such a context is never reused. calling: a token-cluster call's
	// answer is due; a context deleted before its callback ended is never
	// reused (the SDK drops a deleted stream's answer, which refers to it).
	parked, calling bool
	pend            pending // what the due answer resumes
}

// maxFreeContexts bounds the stream contexts a VM keeps for reuse, and
// maxKeptPairs and maxKeptHeaders the header slice and buffer one keeps.
const (
	maxFreeContexts = 16
	maxKeptPairs    = 128
	maxKeptHeaders  = 16 << 10
)

// StdGoDeleted takes the context back for a later stream once the host
// deleted it, unless something may still refer to it (parked, calling). Nothing kept
// past a stream points into its headers (RATIONALE, "No allocation per
// hit"); they are cleared, so a kept context holds no credentials.
func (h *httpContext) StdGoDeleted() {
	p := h.plugin
	if h.parked || h.calling || !gcguard.ReuseStreams || len(p.free) >= maxFreeContexts {
		return
	}
	pairs := h.pairs[:cap(h.pairs)]
	clear(pairs)
	if cap(pairs) > maxKeptPairs {
		pairs = nil
	}
	hdrs := h.hdrs[:cap(h.hdrs)]
	clear(hdrs)
	if cap(hdrs) > maxKeptHeaders {
		hdrs = nil
	}
	h.req.Clear()
	*h = httpContext{plugin: p, pairs: pairs[:0], hdrs: hdrs, req: h.req}
	p.free = append(p.free, h)
}

// OnHttpRequestHeaders removes client-sent identity headers, then verifies the
// request against its route. Any failure, including a panic, ends in a local
// reply: nothing unverified reaches the upstream.
func (h *httpContext) OnHttpRequestHeaders(int, bool) (action types.Action) {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogCritical(textf.Sprintf("credgate: internal error: %v", r))
			h.reply(respond.Internal())
			action = types.ActionPause
		}
	}()
	buf := &h.hdrs
	if !gcguard.ReuseStreams {
		buf = nil
	}
	pairs, err := requestHeaders(h.pairs, buf)
	if err != nil {
		panic("cannot read request headers: " + err.Error())
	}
	h.pairs = pairs
	req := &h.req
	req.Reset(h.removeIdentityHeaders(pairs))
	if !policy.NormalPath(req.Path()) {
		h.deny(nil, "", nil, authn.Deny(authn.ErrMalformed, "path_not_normalized",
			"The request path is not in normal form.").WithStatus(400))
		return types.ActionPause
	}
	pol := h.cfg.Policy
	rt, d := h.bound()
	if d != nil {
		h.deny(nil, "", nil, d)
		return types.ActionPause
	}
	if rt == nil {
		rt = pol.Match(req.Method(), req.Host(), req.Path())
	}
	if d := pol.Check(req, rt); d != nil {
		h.deny(rt, "", nil, d)
		return types.ActionPause
	}
	if rt == nil {
		if pol.AllowUnmatched {
			h.plugin.metrics.request(nil, "", "allow")
			return types.ActionContinue
		}
		h.deny(nil, "", nil, authn.Deny(authn.ErrForbidden, "no_route", "No route is configured for this request."))
		return types.ActionPause
	}
	now := h.now() // one reading per decision: each costs two host calls
	res := rt.Decide(req, now)
	if res.Lookup != nil {
		return h.remote(rt, req, res, now)
	}
	if res.Deny != nil && res.Deny.KeySource != "" && h.awaitKeys(rt, req, res.Deny) {
		return types.ActionPause
	}
	return h.conclude(rt, req, res)
}

// bound selects the route by Envoy's route (xds.route_name) when the
// policy binds any; nil and no denial leave it to the path matcher.
func (h *httpContext) bound() (*policy.Route, *authn.DenyError) {
	if !h.cfg.Policy.BindsEnvoyRoutes() {
		return nil, nil
	}
	name, err := proxywasm.GetProperty([]string{"xds", "route_name"})
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		panic("cannot read xds.route_name: " + err.Error())
	}
	return h.cfg.Policy.Bound(string(name), err == nil)
}

// OnHttpStreamDone lets the Go collector run once the stream is over.
func (h *httpContext) OnHttpStreamDone() {
	h.done = true
	h.plugin.afterStream()
}

// conclude applies a final decision: a local reply, or the request goes on
// with the credentials stripped and the identity set.
func (h *httpContext) conclude(rt *policy.Route, req *authn.HeaderRequest, res policy.Result) types.Action {
	scheme := authn.NameOf(res.Verifier)
	if res.Deny != nil {
		h.deny(rt, scheme, res.Identity, res.Deny)
		return types.ActionPause
	}
	h.plugin.metrics.request(rt, scheme, "allow")
	// The rest of Envoy (RBAC, rate limits) may decide on this state: a
	// request whose identity cannot be published does not go on.
	mustOK(publish(rt.Name, scheme, res.Identity, ""))
	if res.Identity != nil {
		h.forward(rt, req, res)
	}
	return types.ActionContinue
}

// removeIdentityHeaders drops every client header that reads as an identity
// header (any case, '_' for '-'), so only the plugin can set them, and
// returns the remaining pairs. It costs one proxy call when there are any,
// none otherwise.
func (h *httpContext) removeIdentityHeaders(pairs [][2]string) [][2]string {
	kept, found := authn.WithoutIdentityHeaders(pairs, h.cfg.IdentityPrefix, h.cfg.ClaimHeaders...)
	if found {
		mustOK(proxywasm.ReplaceHttpRequestHeaders(kept))
	}
	return kept
}

// forward strips the credentials and sets the trusted identity headers.
func (h *httpContext) forward(rt *policy.Route, req *authn.HeaderRequest, res policy.Result) {
	if rt.StripCredentials {
		loc := rt.StripLocations()
		for _, name := range loc.Headers {
			if _, sent := req.Header(name); !sent {
				continue
			}
			for _, spelling := range req.Spellings(name) {
				mustOK(proxywasm.RemoveHttpRequestHeader(spelling))
			}
		}
		if len(loc.Query) > 0 && req.RawQuery() != "" {
			mustOK(proxywasm.ReplaceHttpRequestHeader(":path", authn.StripQuery(req.Path(), req.RawQuery(), loc.Query)))
		}
	}
	h.cfg.IdentityHeaders.Each(res.Identity, setRequestHeader)
}

// publish sets the decision as filter state for the rest of Envoy
// (policy.State).
func publish(route, scheme string, id *authn.Identity, reason string) error {
	return policy.EachState(route, scheme, id, reason, setState)
}

func setRequestHeader(name, value string) {
	mustOK(proxywasm.ReplaceHttpRequestHeader(name, value))
}

// deny answers the request locally; id is the verified identity of a
// caller refused for another reason (a missing scope), or nil.
func (h *httpContext) deny(rt *policy.Route, scheme string, id *authn.Identity, d *authn.DenyError) {
	h.plugin.metrics.request(rt, scheme, outcomeOf(d))
	h.plugin.metrics.denial(rt, d)
	style, name, route := respond.StyleRFC6750, "-", ""
	if rt != nil {
		style, name, route = rt.Style, rt.Name, rt.Name
	}
	if err := publish(route, scheme, id, d.Reason); err != nil {
		proxywasm.LogWarn(textf.Sprintf("credgate: cannot publish the decision: %v", err))
	}
	if scheme == "" {
		scheme = "-"
	}
	proxywasm.LogWarn(textf.Sprintf("credgate: deny route=%s scheme=%s status=%d reason=%s detail=%q", name, scheme, d.Status, d.Reason, d.Detail))
	h.reply(respond.Deny(style, h.cfg.Policy.Realm, d))
}

func (h *httpContext) reply(r respond.Response) {
	if err := proxywasm.SendHttpResponse(uint32(r.Status), r.Headers, r.Body, -1); err != nil {
		proxywasm.LogCritical(textf.Sprintf("credgate: cannot send local response: %v", err))
	}
}

func mustOK(err error) {
	if err != nil {
		panic(err.Error())
	}
}
