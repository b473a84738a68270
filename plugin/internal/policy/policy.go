// SPDX-License-Identifier: Apache-2.0

// Package policy decides, per route, which credential schemes a request may
// use, in which order, and what else a verified identity must have. Policy
// lives here once; verifiers only verify.
package policy

import (
	"strings"
	"sync"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/pathre"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

// Route is one entry of the route table. Routes are matched in order; the
// first match wins. A Route is immutable once built.
type Route struct {
	// Name identifies the route in logs and metrics.
	Name string
	// Hosts, when not empty, restricts the route to these authorities (no port).
	Hosts []string
	// Methods, when not empty, restricts the route to these methods.
	Methods []string
	// Exactly one of Exact, Prefix, Regex and EnvoyRoute is set.
	Exact  string
	Prefix string
	Regex  *pathre.Regexp
	// EnvoyRoute binds the route to the Envoy route of that name (the
	// xds.route_name property): Envoy's route table selects it, the path
	// matcher never does (see Policy.Bound).
	EnvoyRoute string
	// Anonymous routes require no credentials (identity headers are still
	// removed from the request).
	Anonymous bool
	// Verifiers are the accepted schemes, in order.
	Verifiers []authn.Verifier
	// Scopes must all be granted to the verified identity.
	Scopes []string
	// Style is the error body style of the route.
	Style string
	// StripCredentials removes the credentials before the request goes upstream.
	StripCredentials bool
	// FailStale serves a cached positive answer, within the stale window,
	// when the token cluster cannot be reached. Otherwise such requests get 503.
	FailStale bool

	locOnce sync.Once
	inputs  authn.Locations // every location any accepted scheme reads
	strip   authn.Locations // every location any accepted scheme strips
	// lowerExact and lowerPrefix are Exact (without a trailing slash) and
	// Prefix in lower case, for matchesFolded (set by Policy.prepare).
	lowerExact, lowerPrefix string
	// foldRegex is Regex without case, for matchesFolded; nil only if
	// it could not be compiled, which matchesFolded reads as a match so
	// that the request is refused as ambiguous.
	foldRegex *pathre.Regexp
}

// locations computes what the route reads and strips, once. also are the
// credential locations of every scheme of the policy (Policy.prepare).
func (rt *Route) locations(also ...authn.Locations) {
	rt.locOnce.Do(func() {
		var in, st, passed []authn.Locations
		for _, v := range rt.Verifiers {
			in, st = append(in, authn.InputsOf(v)), append(st, v.Strip())
			if p, ok := v.(authn.PassThrough); ok {
				passed = append(passed, p.Passes())
			}
		}
		rt.inputs = authn.Union(in...)
		rt.strip = authn.Union(append(st, also...)...).Without(authn.Union(passed...))
	})
}

// StripLocations lists the credential locations removed before a verified
// request goes upstream: those of every scheme the policy knows, not only
// the deciding scheme's, so no unverified credential reaches the upstream.
// A scheme that lets its credential through by configuration (domain_key
// with validate_auth_header false) keeps just that location.
func (rt *Route) StripLocations() authn.Locations {
	rt.locations()
	return rt.strip
}

// NeedsCluster reports whether any accepted scheme asks the token cluster.
func (rt *Route) NeedsCluster() bool {
	for _, v := range rt.Verifiers {
		if _, remote := v.(authn.RemoteVerifier); remote {
			return true
		}
	}
	return false
}

// Matches reports whether the route applies to the request.
func (rt *Route) Matches(method, host, path string) bool {
	if len(rt.Hosts) > 0 && !containsFold(rt.Hosts, host) {
		return false
	}
	// HEAD is GET without the body: frameworks serve it with the GET
	// handler, so a GET route must not let HEAD fall through to another.
	if len(rt.Methods) > 0 && !contains(rt.Methods, method) && !(method == "HEAD" && contains(rt.Methods, "GET")) {
		return false
	}
	switch {
	case rt.Exact != "":
		return path == rt.Exact
	case rt.Prefix != "":
		return strings.HasPrefix(path, rt.Prefix)
	case rt.Regex != nil:
		return rt.Regex.MatchString(path)
	}
	return false
}

// matchesFolded is Matches as an upstream that ignores case and a trailing
// slash (Express, Spring, ASP.NET by default) reads the path. Paths are
// ASCII (NormalPath), compared without case. A regex route matches when its
// expression matches the path in lower case, or its case-less form
// (foldRegex) matches the path as sent: an expression may turn case folding
// back off ((?-i)) or negate a letter class, so neither form alone refuses
// every spelling the other reads; *lower is the path in lower case, made on
// the first regex route that needs it.
func (rt *Route) matchesFolded(method, host, path string, lower *string) bool {
	if len(rt.Hosts) > 0 && !containsFold(rt.Hosts, host) {
		return false
	}
	if len(rt.Methods) > 0 && !contains(rt.Methods, method) && !(method == "HEAD" && contains(rt.Methods, "GET")) {
		return false
	}
	switch {
	case rt.Exact != "":
		return equalLower(trimSlash(path), rt.lowerExact)
	case rt.Prefix != "":
		return len(path) >= len(rt.lowerPrefix) && equalLower(path[:len(rt.lowerPrefix)], rt.lowerPrefix) ||
			len(rt.lowerPrefix) == len(path)+1 && rt.lowerPrefix[len(path)] == '/' && equalLower(path, rt.lowerPrefix[:len(path)])
	case rt.Regex != nil:
		if rt.foldRegex == nil {
			return true
		}
		// Without a trailing slash the trimmed path is the path: one run.
		trimmed := len(trimSlash(path)) != len(path)
		if rt.foldRegex.MatchString(path) || trimmed && rt.foldRegex.MatchString(trimSlash(path)) {
			return true
		}
		if isASCII(path) { // as NormalPath requires: read in lower case as it is matched
			return rt.Regex.MatchLower(path) || trimmed && rt.Regex.MatchLower(trimSlash(path))
		}
		if *lower == "" {
			*lower = strings.ToLower(path)
		}
		return rt.Regex.MatchString(*lower) || len(trimSlash(*lower)) != len(*lower) && rt.Regex.MatchString(trimSlash(*lower))
	}
	return false
}

// equalLower reports whether s in ASCII lower case is lower. Other bytes
// compare as they are: paths are ASCII (NormalPath).
func equalLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimSlash(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}

// Result is the outcome of a route's decision.
type Result struct {
	Identity *authn.Identity
	Deny     *authn.DenyError
	// Verifier is the scheme that decided; nil when none was present or the
	// route is anonymous.
	Verifier authn.Verifier
	// Lookup is set when the deciding scheme needs the token cluster: answer
	// it (from the cache or the cluster) and call Finish.
	Lookup *authn.Lookup
}

// Decide runs the route's schemes on the request: the first scheme whose
// credentials are present decides (OR). When none is present the request is
// refused with 401, naming the schemes the route accepts.
func (rt *Route) Decide(r authn.Request, now time.Time) Result {
	if len(rt.Methods) > 0 && methodOverride(r) {
		return Result{Deny: authn.Deny(authn.ErrMalformed, "method_override",
			"Method overrides are refused on routes restricted to some methods.").WithStatus(400)}
	}
	if rt.Anonymous {
		return Result{}
	}
	rt.locations()
	if d := authn.Ambiguous(r, rt.inputs); d != nil {
		return Result{Deny: d}
	}
	for _, v := range rt.Verifiers {
		if !v.Present(r) {
			continue
		}
		if rv, remote := v.(authn.RemoteVerifier); remote {
			lookup, deny := rv.Prepare(r, stamp.Of(now))
			if deny != nil {
				return Result{Deny: deny, Verifier: v}
			}
			if lookup == nil {
				return rt.authorize(nil, nil, v)
			}
			return Result{Lookup: lookup, Verifier: v}
		}
		id, deny := v.Verify(r, stamp.Of(now))
		return rt.authorize(id, deny, v)
	}
	return Result{Deny: authn.Deny(authn.ErrMissing, "credentials_missing",
		"Credentials are required. This route accepts: "+rt.schemeNames()+".")}
}

// methodOverrideHeaders and methodOverrideQuery are where frameworks (Rails,
// Laravel, Express method-override, Spring's HiddenHttpMethodFilter, ASP.NET)
// read a method that replaces the request's.
var methodOverrideHeaders = [...]string{"x-http-method-override", "x-http-method", "x-method-override"}

const methodOverrideQuery = "_method" // as folded by authn.FoldQueryName

// methodOverride reports whether the request asks the upstream for another
// method than the one the route matched.
func methodOverride(r authn.Request) bool {
	for _, h := range methodOverrideHeaders {
		if r.HeaderCount(h) > 0 {
			return true
		}
	}
	return r.RawQuery() != "" && r.QueryCount(methodOverrideQuery) > 0
}

// Finish completes a decision that needed the token cluster, from its answer.
func (rt *Route) Finish(r authn.Request, v authn.RemoteVerifier, a *authn.Answer, now time.Time) Result {
	id, deny := v.Complete(r, a, stamp.Of(now))
	return rt.authorize(id, deny, v)
}

// authorize applies the route's requirements to a verifier's outcome.
func (rt *Route) authorize(id *authn.Identity, deny *authn.DenyError, v authn.Verifier) Result {
	if deny != nil {
		return Result{Deny: deny, Verifier: v}
	}
	if id == nil {
		// A verifier that neither allows nor denies is a defect: deny.
		return Result{Deny: authn.Deny(authn.ErrInvalid, "internal", "The credentials could not be verified."), Verifier: v}
	}
	if !Publishable(id) {
		// The upstream and the rest of Envoy (RBAC on the filter state) must
		// see the same identity: one that cannot be published as it is, or
		// would be cut or cleaned for a header, does not go on.
		return Result{Deny: authn.Deny(authn.ErrInvalid, "identity_unsafe",
			"The credentials name an identity that cannot be passed on."), Verifier: v}
	}
	if !id.HasScopes(rt.Scopes) {
		d := authn.Deny(authn.ErrForbidden, "insufficient_scope", "The access token lacks a required scope.")
		d.Scopes = rt.Scopes
		return Result{Identity: id, Deny: d, Verifier: v}
	}
	return Result{Identity: id, Verifier: v}
}

func (rt *Route) schemeNames() string {
	names := make([]string, len(rt.Verifiers))
	for i, v := range rt.Verifiers {
		names[i] = v.Name()
	}
	return strings.Join(names, ", ")
}

// Policy is the frozen route table.
type Policy struct {
	Routes []*Route
	// AllowUnmatched lets requests that match no route through unverified.
	// The default is to refuse them.
	AllowUnmatched bool
	// Realm is used in WWW-Authenticate challenges.
	Realm string

	once       sync.Once
	anyMethods bool              // some route is restricted to some methods
	bound      map[string]*Route // routes by the Envoy route they are bound to
}

// Check applies the policy-wide rules to a request and the route Match gave
// it (nil: none), before the route decides:
//
//   - when any route is restricted to some methods, a method override is
//     refused on every request: a GET with X-HTTP-Method-Override: DELETE
//     may match an open route while the upstream runs the DELETE handler;
//   - the request must match the same route when case and a trailing slash
//     are ignored, as many upstreams route: /Admin or /admin/ must not skip
//     the route of /admin.
func (p *Policy) Check(r authn.Request, rt *Route) *authn.DenyError {
	p.prepare()
	if p.anyMethods && methodOverride(r) {
		return authn.Deny(authn.ErrMalformed, "method_override",
			"Method overrides are refused: routes here are restricted to some methods.").WithStatus(400)
	}
	if rt != nil && rt.EnvoyRoute != "" {
		// Envoy's route table chose the route, not the path: how Envoy
		// matches case is its route's case_sensitive setting.
		return nil
	}
	var lower string
	var folded *Route
	for _, c := range p.Routes {
		if c.matchesFolded(r.Method(), r.Host(), r.Path(), &lower) {
			folded = c
			break
		}
	}
	if folded != rt {
		return authn.Deny(authn.ErrMalformed, "path_ambiguous",
			"The path matches another route when case or a trailing slash is ignored.").WithStatus(400)
	}
	return nil
}

// prepare gives every route the credential locations of every scheme.
func (p *Policy) prepare() {
	p.once.Do(func() {
		var all []authn.Locations
		for _, rt := range p.Routes {
			for _, v := range rt.Verifiers {
				all = append(all, v.Strip())
			}
			p.anyMethods = p.anyMethods || len(rt.Methods) > 0
			if rt.EnvoyRoute != "" {
				if p.bound == nil {
					p.bound = map[string]*Route{}
				}
				p.bound[rt.EnvoyRoute] = rt
			}
		}
		every := authn.Union(all...)
		for _, rt := range p.Routes {
			rt.locations(every)
			rt.lowerExact, rt.lowerPrefix = trimSlash(strings.ToLower(rt.Exact)), strings.ToLower(rt.Prefix)
			if rt.Regex != nil {
				// A valid expression stays valid without case (FuzzMatch).
				rt.foldRegex, _ = pathre.Compile("(?i)" + rt.Regex.String())
			}
		}
	})
}

// BindsEnvoyRoutes reports whether some route is bound to an Envoy route:
// only then does the filter read the xds.route_name property.
func (p *Policy) BindsEnvoyRoutes() bool {
	p.prepare()
	return len(p.bound) > 0
}

// Bound selects a route by the Envoy route of the request: name is the
// xds.route_name property, found false when Envoy answered NotFound (the
// stream has no route). It answers:
//
//   - the route bound to name, when there is one;
//   - nil and no denial when the property is absent or empty (no route, or
//     an Envoy route without a name): the path matcher decides (Match), as
//     it does for Istio and plain use;
//   - a denial (403 envoy_route_unbound) when name is an Envoy route that
//     no route is bound to, once any route is bound. Failing closed makes a
//     misspelt binding visible at once; falling back to the path matcher
//     would let a catch-all route there (or unmatched "allow") decide for a
//     route that was meant to be protected.
//
// The configuration refuses two routes bound to one Envoy route, so the
// answer is never ambiguous.
func (p *Policy) Bound(name string, found bool) (*Route, *authn.DenyError) {
	p.prepare()
	if len(p.bound) == 0 || !found || name == "" {
		return nil, nil
	}
	if rt := p.bound[name]; rt != nil {
		return rt, nil
	}
	return nil, authn.Deny(authn.ErrForbidden, "envoy_route_unbound", "No route is configured for this request.").
		WithDetail("Envoy route %q is bound to no credgate route", name)
}

// Match returns the first route that applies, or nil.
func (p *Policy) Match(method, host, path string) *Route {
	p.prepare()
	for _, rt := range p.Routes {
		if rt.Matches(method, host, path) {
			return rt
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
