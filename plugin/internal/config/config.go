// SPDX-License-Identifier: Apache-2.0

// Package config parses the plugin configuration (JSON, from the Envoy filter
// config) into a validated, immutable policy. Verifiers are built once here.
// Every error names the JSON path it is about; unknown keys are errors, since a
// misspelt option in an authentication policy must not be silently ignored.
package config

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/pathre"
	"github.com/credgate/credgate/plugin/internal/policy"
	"github.com/credgate/credgate/plugin/internal/respond"
	"github.com/credgate/credgate/plugin/internal/scheme"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// No gjson path the plugin evaluates comes from the configuration or a
// request (configured claim names are compared whole, scheme.claim), so no
// gjson modifier ("@reverse", ...) can run. gjson no longer honours
// gjson.DisableModifiers at run time; the module's build turns modifiers off
// and drops their code (scripts/build-wasm.sh).

// MaxSize bounds the configuration document.
const MaxSize = 1 << 20

// Config is the parsed configuration.
type Config struct {
	Policy *policy.Policy
	// IdentityPrefix is the prefix of the trusted identity headers; client
	// copies of any header with this prefix are removed from every request.
	IdentityPrefix string
	// IdentityHeaders names the identity headers under IdentityPrefix.
	IdentityHeaders *authn.IdentityHeaders
	// Cluster is how to reach the token cluster; nil when not configured
	// (then no route may use a scheme that needs it).
	Cluster *Cluster
	// Cache configures the verification caches.
	Cache Cache
	// JWKS are the remote key sets the filter keeps fetched.
	JWKS []*scheme.JWKSSource
	// ClaimHeaders are the headers JWT claims are copied into; client
	// copies are removed from every request, as identity headers are.
	ClaimHeaders []string
}

// Error is a configuration error at a JSON path.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// errAt is the error at path. Not inlined: there is one call per error
// path, and inlined it grows every parser.
//
//go:noinline
func errAt(path, format string, args ...any) error {
	return &Error{Path: path, Err: textf.Errorf(format, args...)}
}

var topKeys = []string{"routes", "unmatched", "realm", "identity_header_prefix", "token_cluster", "cache"}

// Parse validates data and returns the frozen configuration.
func Parse(data []byte) (*Config, error) { return ParseEnv(data, Env{}) }

// ParseEnv is Parse with the services the proxy provides to verifiers.
func ParseEnv(data []byte, env Env) (*Config, error) {
	if len(data) > MaxSize {
		return nil, errAt("", "configuration is %d bytes, more than the %d allowed", len(data), MaxSize)
	}
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(data) {
		return nil, errAt("", "configuration is not valid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil, errAt("", "configuration must be a JSON object")
	}
	if err := knownKeys("", root, append(append([]string(nil), topKeys...), globalKeys()...)); err != nil {
		return nil, err
	}
	cfg := &Config{IdentityPrefix: "x-credgate-", Policy: &policy.Policy{Realm: "credgate"}}
	if err := parseTop(root, cfg); err != nil {
		return nil, err
	}
	cfg.IdentityHeaders = authn.NewIdentityHeaders(cfg.IdentityPrefix)
	var err error
	if cfg.Cluster, err = parseCluster(root.Get("token_cluster"), env.Getenv); err != nil {
		return nil, err
	}
	env.cluster = cfg.Cluster
	env.built = map[string]authn.Verifier{}
	if cfg.Cache, err = parseCache(root.Get("cache")); err != nil {
		return nil, err
	}
	if err := validateSections(root, env); err != nil {
		return nil, err
	}
	routes := root.Get("routes")
	if !routes.IsArray() || len(routes.Array()) == 0 {
		return nil, errAt("routes", "at least one route is required")
	}
	for i, r := range routes.Array() {
		rt, err := parseRoute(textf.Sprintf("routes[%d]", i), r, root, env)
		if err != nil {
			return nil, err
		}
		if rt.NeedsCluster() && cfg.Cluster == nil {
			return nil, errAt(textf.Sprintf("routes[%d].schemes", i), "a scheme of this route needs the token cluster: add a token_cluster section")
		}
		cfg.Policy.Routes = append(cfg.Policy.Routes, rt)
	}
	if err := checkBindings(cfg.Policy.Routes); err != nil {
		return nil, err
	}
	if j, ok := env.built["jwt"].(*scheme.JWT); ok {
		cfg.JWKS, cfg.ClaimHeaders = j.Sources(), j.ClaimHeaders()
		for _, h := range cfg.ClaimHeaders {
			if authn.IsIdentityHeader(h, cfg.IdentityPrefix) && contains(identityNames, h[len(cfg.IdentityPrefix):]) {
				return nil, errAt("jwt", "claim_to_headers: %q is an identity header the plugin sets itself", h)
			}
		}
	}
	return cfg, nil
}

// TickPeriod is how often the filter needs the proxy's tick: to poll the
// revocation feed, at least every second to fetch remote key sets, and
// every second with a token cluster to send background refreshes (0:
// never).
func (c *Config) TickPeriod() time.Duration {
	var tick time.Duration
	if c.Cluster != nil && c.Cluster.RevocationPoll > 0 {
		tick = c.Cluster.RevocationPoll
	}
	if len(c.JWKS) > 0 && (tick == 0 || tick > time.Second) {
		tick = time.Second
	}
	if c.Cluster != nil && tick == 0 {
		tick = time.Second // background refreshes (sliding sessions) go out from the tick
	}
	return tick
}

// identityNames are the identity headers the plugin sets, after the prefix.
var identityNames = []string{"subject", "tenant", "scopes", "scheme", "token-type", "customer", "visitor"}

func parseTop(root gjson.Result, cfg *Config) error {
	if v := root.Get("unmatched"); v.Exists() {
		switch v.String() {
		case "deny":
		case "allow":
			cfg.Policy.AllowUnmatched = true
		default:
			return errAt("unmatched", "must be \"deny\" or \"allow\", got %s", v.Raw)
		}
	}
	if v := root.Get("realm"); v.Exists() {
		if v.Type != gjson.String || v.String() == "" || strings.ContainsAny(v.String(), "\"\\\r\n") {
			return errAt("realm", "must be a non-empty string without quotes or line breaks")
		}
		cfg.Policy.Realm = v.String()
	}
	if v := root.Get("identity_header_prefix"); v.Exists() {
		p := strings.ReplaceAll(strings.ToLower(v.String()), "_", "-")
		if v.Type != gjson.String || len(p) < 3 || !strings.HasPrefix(p, "x-") || !strings.HasSuffix(p, "-") {
			return errAt("identity_header_prefix", "must be a header-name prefix like \"x-credgate-\"")
		}
		cfg.IdentityPrefix = p
	}
	return nil
}

// validateSections builds each top-level scheme section once without route
// options, so a section is checked even when no route uses it yet.
func validateSections(root gjson.Result, env Env) error {
	for _, b := range builders {
		if g := root.Get(b.name); g.Exists() {
			if _, err := b.build(Build{Path: b.name, GlobalPath: b.name, Global: g, Env: env}); err != nil {
				return err
			}
		}
	}
	return nil
}

var routeKeys = []string{"name", "match", "schemes", "anonymous", "scopes", "error_style", "strip_credentials", "options", "fail_policy"}

func parseRoute(path string, r, root gjson.Result, env Env) (*policy.Route, error) {
	if err := knownKeys(path, r, routeKeys); err != nil {
		return nil, err
	}
	rt := &policy.Route{Name: r.Get("name").String(), Style: respond.StyleRFC6750, StripCredentials: true}
	if rt.Name == "" {
		return nil, errAt(path+".name", "a route name is required")
	}
	if err := parseMatch(path+".match", r.Get("match"), rt); err != nil {
		return nil, err
	}
	if v := r.Get("error_style"); v.Exists() {
		if !contains(respond.Styles(), v.String()) {
			return nil, errAt(path+".error_style", "unknown style %s (valid: %s)", v.Raw, strings.Join(respond.Styles(), ", "))
		}
		rt.Style = v.String()
	}
	if v := r.Get("fail_policy"); v.Exists() {
		switch v.String() {
		case "closed":
		case "stale":
			rt.FailStale = true
		default:
			return nil, errAt(path+".fail_policy", "must be \"closed\" or \"stale\", got %s", v.Raw)
		}
	}
	if v := r.Get("strip_credentials"); v.Exists() {
		if !v.IsBool() {
			return nil, errAt(path+".strip_credentials", "must be true or false")
		}
		rt.StripCredentials = v.Bool()
	}
	var err error
	if rt.Scopes, err = stringList(path+".scopes", r.Get("scopes")); err != nil {
		return nil, err
	}
	return rt, parseSchemes(path, r, root, rt, env)
}

func parseSchemes(path string, r, root gjson.Result, rt *policy.Route, env Env) error {
	anon := r.Get("anonymous")
	if anon.Exists() && !anon.IsBool() {
		return errAt(path+".anonymous", "must be true or false")
	}
	rt.Anonymous = anon.Bool()
	names, err := stringList(path+".schemes", r.Get("schemes"))
	if err != nil {
		return err
	}
	switch {
	case rt.Anonymous && len(names) > 0:
		return errAt(path, "an anonymous route accepts no schemes")
	case rt.Anonymous && len(rt.Scopes) > 0:
		return errAt(path, "an anonymous route cannot require scopes")
	case !rt.Anonymous && len(names) == 0:
		return errAt(path+".schemes", "list at least one scheme, or set \"anonymous\": true")
	}
	opts := r.Get("options")
	if opts.Exists() {
		if err := knownKeys(path+".options", opts, names); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, name := range names {
		at := textf.Sprintf("%s.schemes[%d]", path, i)
		build, ok := builderOf(name)
		if !ok {
			return errAt(at, "unknown scheme %q (known: %s)", name, strings.Join(globalKeys(), ", "))
		}
		if seen[name] {
			return errAt(at, "scheme %q is listed twice", name)
		}
		seen[name] = true
		v, err := build(Build{Path: path + ".options." + name, GlobalPath: name, Global: root.Get(name),
			Options: opts.Get(name), Route: r, Env: env})
		if err != nil {
			return err
		}
		rt.Verifiers = append(rt.Verifiers, v)
	}
	return nil
}

var matchKeys = []string{"prefix", "exact", "regex", "envoy_route", "methods", "hosts"}

// maxEnvoyRoute bounds an Envoy route name in envoy_route.
const maxEnvoyRoute = 256

func parseMatch(path string, m gjson.Result, rt *policy.Route) error {
	if !m.IsObject() {
		return errAt(path, "an object is required")
	}
	if err := knownKeys(path, m, matchKeys); err != nil {
		return err
	}
	if er := m.Get("envoy_route"); er.Exists() {
		return parseEnvoyRoute(path, m, er, rt)
	}
	set := 0
	for _, k := range []string{"prefix", "exact", "regex"} {
		if v := m.Get(k); v.Exists() {
			set++
			if v.Type != gjson.String || (k != "regex" && !strings.HasPrefix(v.String(), "/")) {
				return errAt(path+"."+k, "must be a string starting with \"/\"")
			}
		}
	}
	if set != 1 {
		return errAt(path, "exactly one of prefix, exact, regex and envoy_route is required")
	}
	rt.Prefix, rt.Exact = m.Get("prefix").String(), m.Get("exact").String()
	if re := m.Get("regex"); re.Exists() {
		compiled, err := pathre.Compile(re.String())
		if err != nil {
			return errAt(path+".regex", "%v", err)
		}
		rt.Regex = compiled
	}
	var err error
	if rt.Methods, err = stringList(path+".methods", m.Get("methods")); err != nil {
		return err
	}
	for i, meth := range rt.Methods {
		if meth != strings.ToUpper(meth) || meth == "" {
			return errAt(textf.Sprintf("%s.methods[%d]", path, i), "methods are upper case, got %q", meth)
		}
	}
	if rt.Hosts, err = stringList(path+".hosts", m.Get("hosts")); err != nil {
		return err
	}
	for i, h := range rt.Hosts {
		if c := authn.CanonicalHost(h); c != h || c == "" {
			return errAt(textf.Sprintf("%s.hosts[%d]", path, i), "hosts are names without a port or trailing dot, in lower case: %q", h)
		}
	}
	return nil
}

// parseEnvoyRoute binds the route to an Envoy route by name. Envoy's route
// already matched path, methods and hosts, so the match takes nothing else.
func parseEnvoyRoute(path string, m, er gjson.Result, rt *policy.Route) error {
	name := er.String()
	if er.Type != gjson.String || name == "" || len(name) > maxEnvoyRoute || hasControl(name) {
		return errAt(path+".envoy_route", "must be an Envoy route name: a non-empty string of at most %d characters without control characters", maxEnvoyRoute)
	}
	var other []string
	m.ForEach(func(k, _ gjson.Result) bool {
		if k.String() != "envoy_route" {
			other = append(other, k.String())
		}
		return true
	})
	if len(other) > 0 {
		return errAt(path, "envoy_route selects the route by Envoy's route table: match %s in the Envoy route, not here", strings.Join(other, ", "))
	}
	rt.EnvoyRoute = name
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// checkBindings refuses two routes bound to one Envoy route.
func checkBindings(routes []*policy.Route) error {
	seen := map[string]int{}
	for i, rt := range routes {
		if rt.EnvoyRoute == "" {
			continue
		}
		if j, dup := seen[rt.EnvoyRoute]; dup {
			return errAt(textf.Sprintf("routes[%d].match.envoy_route", i), "Envoy route %q is already bound by routes[%d]", rt.EnvoyRoute, j)
		}
		seen[rt.EnvoyRoute] = i
	}
	return nil
}

func stringList(path string, v gjson.Result) ([]string, error) {
	if !v.Exists() {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, errAt(path, "must be an array of strings")
	}
	var out []string
	for i, e := range v.Array() {
		if e.Type != gjson.String || e.String() == "" {
			return nil, errAt(textf.Sprintf("%s[%d]", path, i), "must be a non-empty string")
		}
		out = append(out, e.String())
	}
	return out, nil
}

func knownKeys(path string, obj gjson.Result, allowed []string) error {
	if !obj.IsObject() {
		return errAt(path, "an object is required")
	}
	var err error
	obj.ForEach(func(k, _ gjson.Result) bool {
		if !contains(allowed, k.String()) {
			p := k.String()
			if path != "" {
				p = path + "." + p
			}
			err = errAt(p, "unknown key (valid here: %s)", strings.Join(allowed, ", "))
			return false
		}
		return true
	})
	return err
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
