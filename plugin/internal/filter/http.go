// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"net/url"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/config"
	"github.com/credgate/credgate/plugin/internal/policy"
	"github.com/credgate/credgate/plugin/internal/respond"
)

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
	cfg    *config.Config
	now    func() time.Time
}

// OnHttpRequestHeaders removes client-sent identity headers, then verifies the
// request against its route. Any failure, including a panic, ends in a local
// reply: nothing unverified reaches the upstream.
func (h *httpContext) OnHttpRequestHeaders(int, bool) (action types.Action) {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogCriticalf("credgate: internal error: %v", r)
			h.reply(internalError())
			action = types.ActionPause
		}
	}()
	pairs, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		panic("cannot read request headers: " + err.Error())
	}
	req := authn.NewHeaderRequest(h.removeIdentityHeaders(pairs))
	if !policy.NormalPath(req.Path()) {
		h.deny(nil, "", authn.Deny(authn.ErrMalformed, "path_not_normalized",
			"The request path is not in normal form.").WithStatus(400))
		return types.ActionPause
	}
	pol := h.cfg.Policy
	rt := pol.Match(req.Method(), req.Host(), req.Path())
	if d := pol.Check(req, rt); d != nil {
		h.deny(rt, "", d)
		return types.ActionPause
	}
	if rt == nil {
		if pol.AllowUnmatched {
			h.plugin.metrics.request(nil, "", "allow")
			return types.ActionContinue
		}
		h.deny(nil, "", authn.Deny(authn.ErrForbidden, "no_route", "No route is configured for this request."))
		return types.ActionPause
	}
	res := rt.Decide(req, h.now())
	if res.Lookup != nil {
		return h.remote(rt, req, res)
	}
	return h.conclude(rt, req, res)
}

// OnHttpStreamDone lets the Go collector run once the stream is over.
func (h *httpContext) OnHttpStreamDone() { h.plugin.afterStream() }

// conclude applies a final decision: a local reply, or the request goes on
// with the credentials stripped and the identity set.
func (h *httpContext) conclude(rt *policy.Route, req *authn.HeaderRequest, res policy.Result) types.Action {
	scheme := schemeName(res.Verifier)
	if res.Deny != nil {
		h.deny(rt, scheme, res.Deny)
		return types.ActionPause
	}
	h.plugin.metrics.request(rt, scheme, "allow")
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
	kept, found := authn.WithoutIdentityHeaders(pairs, h.cfg.IdentityPrefix)
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
			mustOK(proxywasm.ReplaceHttpRequestHeader(":path", stripQuery(req.Path(), req.RawQuery(), loc.Query)))
		}
	}
	id := res.Identity
	p := h.cfg.IdentityPrefix
	set := func(name, value string) {
		if value = headerSafe(value); value != "" {
			mustOK(proxywasm.ReplaceHttpRequestHeader(p+name, value))
		}
	}
	set("subject", id.Subject)
	set("tenant", id.Tenant)
	set("scopes", strings.Join(id.Scopes, " "))
	set("scheme", id.Scheme)
	set("token-type", id.TokenType)
	set("customer", id.Customer)
	set("visitor", id.Visitor)
}

// headerSafe drops control characters from an identity value, so no value
// can split or corrupt a header, and bounds its length.
func headerSafe(v string) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, v)
	if len(v) > authn.MaxHeaderValue {
		v = v[:authn.MaxHeaderValue]
	}
	return v
}

// stripQuery removes the named parameters from a query string, in every
// spelling that folds to the name (authn.FoldQueryName), as the request
// view reads them.
func stripQuery(path, rawQuery string, names []string) string {
	var kept []string
	for _, part := range strings.Split(rawQuery, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && containsString(names, authn.FoldQueryName(k)) {
			continue
		}
		kept = append(kept, part)
	}
	if len(kept) == 0 {
		return path
	}
	return path + "?" + strings.Join(kept, "&")
}

func (h *httpContext) deny(rt *policy.Route, scheme string, d *authn.DenyError) {
	h.plugin.metrics.request(rt, scheme, outcomeOf(d))
	h.plugin.metrics.denial(rt, d)
	style, name := respond.StyleRFC6750, "-"
	if rt != nil {
		style, name = rt.Style, rt.Name
	}
	if scheme == "" {
		scheme = "-"
	}
	proxywasm.LogWarnf("credgate: deny route=%s scheme=%s status=%d reason=%s detail=%q", name, scheme, d.Status, d.Reason, d.Detail)
	h.reply(respond.Deny(style, h.cfg.Policy.Realm, d))
}

func (h *httpContext) reply(r respond.Response) {
	if err := proxywasm.SendHttpResponse(uint32(r.Status), r.Headers, r.Body, -1); err != nil {
		proxywasm.LogCriticalf("credgate: cannot send local response: %v", err)
	}
}

func schemeName(v authn.Verifier) string {
	if v == nil {
		return ""
	}
	return v.Name()
}

func mustOK(err error) {
	if err != nil {
		panic(err.Error())
	}
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
