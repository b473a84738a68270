// SPDX-License-Identifier: Apache-2.0

package config

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/jose"
	"github.com/credgate/credgate/plugin/internal/scheme"
	"github.com/credgate/credgate/plugin/internal/textf"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// providerKeys are the keys of one JWT provider. The jwt section is either
// one provider written inline (these keys, without "name") or
// {"providers": [...]}.
var providerKeys = []string{"name", "issuer", "audience", "audiences", "keys", "local_jwks", "remote_jwks",
	"leeway_seconds", "tenant_claim", "scope_claim", "types", "claim_to_headers"}

var remoteJWKSKeys = []string{"cluster", "path", "authority", "timeout_ms", "cache_duration_seconds",
	"max_stale_seconds", "refetch_interval_seconds", "include_secrets"}

// buildJWT builds the jwt verifier from the top-level "jwt" section. All
// routes share one verifier, so each remote key set is fetched once per VM.
func buildJWT(b Build) (authn.Verifier, error) {
	j := b.Global
	if !j.Exists() {
		return nil, errAt("jwt", "the jwt section is required when a route accepts jwt")
	}
	if b.Options.Exists() {
		return nil, errAt(b.Path, "jwt takes no per-route options")
	}
	if v, ok := b.Env.built["jwt"]; ok {
		return v, nil
	}
	var opts scheme.JWTOptions
	if ps := j.Get("providers"); ps.Exists() {
		if err := knownKeys("jwt", j, append([]string{"providers"}, providerKeys[1:]...)); err != nil {
			return nil, err
		}
		var stray string
		j.ForEach(func(k, _ gjson.Result) bool {
			if k.Str != "providers" {
				stray = k.Str
			}
			return stray == ""
		})
		if stray != "" {
			return nil, errAt("jwt."+stray, "with providers, each provider has its own settings")
		}
		if !ps.IsArray() || len(ps.Array()) == 0 {
			return nil, errAt("jwt.providers", "list at least one provider")
		}
		for i, p := range ps.Array() {
			prov, err := parseProvider(textf.Sprintf("jwt.providers[%d]", i), p, b.Env, true)
			if err != nil {
				return nil, err
			}
			for k, o := range opts.Providers {
				if o.Name == prov.Name {
					return nil, errAt(textf.Sprintf("jwt.providers[%d].name", i), "%q is already providers[%d]", prov.Name, k)
				}
			}
			opts.Providers = append(opts.Providers, prov)
		}
	} else {
		prov, err := parseProvider("jwt", j, b.Env, false)
		if err != nil {
			return nil, err
		}
		opts.Providers = []scheme.JWTProvider{prov}
	}
	v, err := scheme.NewJWT(opts)
	if err != nil {
		return nil, &Error{Path: "jwt", Err: err}
	}
	if b.Env.built != nil {
		b.Env.built["jwt"] = v
	}
	return v, nil
}

func parseProvider(path string, p gjson.Result, env Env, named bool) (scheme.JWTProvider, error) {
	var prov scheme.JWTProvider
	allowed := providerKeys
	if !named {
		// Inline: no name; "providers" is the other form of the section.
		allowed = append([]string{"providers"}, providerKeys[1:]...)
	}
	if err := knownKeys(path, p, allowed); err != nil {
		return prov, err
	}
	prov.Name = "default"
	if named {
		n := p.Get("name")
		if n.Type != gjson.String || !metricName(n.Str) {
			return prov, errAt(path+".name", "a name of letters, digits, '_' and '-' is required")
		}
		prov.Name = n.Str
	}
	for _, k := range []string{"issuer", "tenant_claim", "scope_claim"} {
		if v := p.Get(k); v.Exists() && (v.Type != gjson.String || v.Str == "") {
			return prov, errAt(path+"."+k, "must be a non-empty string")
		}
	}
	prov.Issuer, prov.TenantClaim, prov.ScopeClaim = p.Get("issuer").Str, p.Get("tenant_claim").Str, p.Get("scope_claim").Str
	aud, auds := p.Get("audience"), p.Get("audiences")
	switch {
	case aud.Exists() && auds.Exists():
		return prov, errAt(path, "set audience or audiences, not both")
	case aud.Exists():
		if aud.Type != gjson.String || aud.Str == "" {
			return prov, errAt(path+".audience", "must be a non-empty string")
		}
		prov.Audiences = []string{aud.Str}
	case auds.Exists():
		list, err := stringList(path+".audiences", auds)
		if err != nil {
			return prov, err
		}
		if len(list) == 0 {
			return prov, errAt(path+".audiences", "list at least one audience, or leave it out")
		}
		prov.Audiences = list
	}
	if l := p.Get("leeway_seconds"); l.Exists() {
		if l.Type != gjson.Number || l.Int() < 0 || l.Int() > 300 || float64(l.Int()) != l.Num {
			return prov, errAt(path+".leeway_seconds", "must be a number of seconds from 0 to 300")
		}
		prov.Leeway = time.Duration(l.Int()) * time.Second
	}
	if t := p.Get("types"); t.Exists() {
		types, err := stringList(path+".types", t)
		if err != nil {
			return prov, err
		}
		if len(types) == 0 {
			return prov, errAt(path+".types", "list at least one typ value, e.g. [\"JWT\"]")
		}
		prov.Types = types
	}
	var err error
	if prov.ClaimHeaders, err = parseClaimHeaders(path+".claim_to_headers", p.Get("claim_to_headers")); err != nil {
		return prov, err
	}
	keys, local, remote := p.Get("keys"), p.Get("local_jwks"), p.Get("remote_jwks")
	set := 0
	for _, v := range []gjson.Result{keys, local, remote} {
		if v.Exists() {
			set++
		}
	}
	if set != 1 {
		return prov, errAt(path, "exactly one of keys, local_jwks and remote_jwks is required")
	}
	switch {
	case keys.Exists():
		prov.Keys, err = parseHMACKeys(path+".keys", keys, env)
	case local.Exists():
		prov.Keys, err = parseLocalJWKS(path+".local_jwks", local)
	default:
		prov.Remote, err = parseRemoteJWKS(path+".remote_jwks", remote, env)
		if prov.Remote != nil {
			prov.Remote.Provider = prov.Name
		}
	}
	return prov, err
}

// parseHMACKeys reads HS256 keys: {"kid", "secret"} or {"kid", "secret_env"}.
func parseHMACKeys(path string, keys gjson.Result, env Env) (*jose.Set, error) {
	if !keys.IsArray() || len(keys.Array()) == 0 {
		return nil, errAt(path, "at least one key is required")
	}
	var list []*jose.Key
	for i, k := range keys.Array() {
		kp := textf.Sprintf("%s[%d]", path, i)
		if err := knownKeys(kp, k, []string{"kid", "alg", "secret", "secret_env"}); err != nil {
			return nil, err
		}
		if kid := k.Get("kid"); kid.Exists() && kid.Type != gjson.String {
			return nil, errAt(kp+".kid", "must be a string")
		}
		if alg := k.Get("alg"); alg.Exists() && alg.Str != jose.HS256 {
			return nil, errAt(kp+".alg", "keys holds HS256 secrets; give public keys in local_jwks or remote_jwks")
		}
		secret, err := secretValue(kp, k, "secret", env)
		if err != nil {
			return nil, err
		}
		key, err := jose.NewHMACKey(k.Get("kid").Str, []byte(secret))
		if err != nil {
			return nil, errAt(kp+".secret", "%v", err)
		}
		list = append(list, key)
	}
	set, err := jose.NewSet(list)
	if err != nil {
		return nil, errAt(path, "%v", err)
	}
	return set, nil
}

// parseLocalJWKS reads an inline JSON Web Key Set (an object, or a string
// holding one, as Envoy's local_jwks inline_string). Symmetric keys are
// refused there: give secrets in keys, where they may come from the
// environment.
func parseLocalJWKS(path string, v gjson.Result) (*jose.Set, error) {
	doc := []byte(v.Raw)
	if v.Type == gjson.String {
		doc = []byte(v.Str)
	}
	set, _, err := jose.ParseSet(doc, false)
	if err != nil {
		return nil, errAt(path, "%v", err)
	}
	return set, nil
}

func parseRemoteJWKS(path string, v gjson.Result, env Env) (*scheme.JWKSSource, error) {
	if err := knownKeys(path, v, remoteJWKSKeys); err != nil {
		return nil, err
	}
	src := &scheme.JWKSSource{Path: "/.well-known/jwks.json", Timeout: time.Second, CacheDuration: 5 * time.Minute,
		MaxStale: time.Hour, RefetchInterval: 5 * time.Second}
	c := v.Get("cluster")
	if c.Type != gjson.String || c.Str == "" {
		return nil, errAt(path+".cluster", "the Envoy cluster that serves the key set is required")
	}
	src.Cluster = c.Str
	src.Authority = c.Str
	tc := env.cluster
	if tc != nil && tc.Name == c.Str {
		src.Authority = tc.Authority
	}
	if a := v.Get("authority"); a.Exists() {
		if a.Type != gjson.String || a.Str == "" || strings.ContainsAny(a.Str, " /\r\n") {
			return nil, errAt(path+".authority", "must be a host name")
		}
		src.Authority = a.Str
	}
	if p := v.Get("path"); p.Exists() {
		if p.Type != gjson.String || !strings.HasPrefix(p.Str, "/") || strings.ContainsAny(p.Str, " \r\n#") {
			return nil, errAt(path+".path", "must be a path starting with \"/\"")
		}
		src.Path = p.Str
	}
	durations := []struct {
		key      string
		into     *time.Duration
		unit     time.Duration
		min, max int64
	}{
		{"timeout_ms", &src.Timeout, time.Millisecond, 10, 60000},
		{"cache_duration_seconds", &src.CacheDuration, time.Second, 1, 86400},
		{"max_stale_seconds", &src.MaxStale, time.Second, 0, 7 * 86400},
		{"refetch_interval_seconds", &src.RefetchInterval, time.Second, 1, 3600},
	}
	for _, d := range durations {
		if x := v.Get(d.key); x.Exists() {
			if x.Type != gjson.Number || float64(x.Int()) != x.Num || x.Int() < d.min || x.Int() > d.max {
				return nil, errAt(path+"."+d.key, "must be a whole number from %d to %d", d.min, d.max)
			}
			*d.into = time.Duration(x.Int()) * d.unit
		}
	}
	if s := v.Get("include_secrets"); s.Exists() {
		if s.Type != gjson.True && s.Type != gjson.False {
			return nil, errAt(path+".include_secrets", "must be true or false")
		}
		src.Secrets = s.Bool()
	}
	if src.Secrets && !v.Get("path").Exists() {
		src.Path = tokenapi.PathJWKSWithSecrets // the set that holds them
	}
	if src.Secrets && (tc == nil || tc.Name != src.Cluster || tc.VerifyToken == "") {
		// The verify credential goes only to the token cluster, and HS256
		// secrets come only from it, over an authenticated call.
		return nil, errAt(path+".include_secrets", "HS256 secrets come only from the token cluster (token_cluster.cluster) with its verify credential set")
	}
	return src, nil
}

// claimHeaderForbidden are headers a claim may never set: credentials,
// framing, hop-by-hop, and what proxies and upstreams trust about the
// client.
var claimHeaderForbidden = []string{"authorization", "cookie", "host", "content-length", "content-type",
	"transfer-encoding", "connection", "te", "trailer", "upgrade", "keep-alive", "proxy-authorization",
	"proxy-connection", "forwarded", "via", "x-real-ip", "x-request-id", "traceparent", "tracestate", "x-client-ip"}

// forbiddenPrefix: Envoy's own headers and the forwarding family.
func forbiddenPrefix(h string) bool {
	return strings.HasPrefix(h, "x-envoy-") || strings.HasPrefix(h, "x-forwarded-") || strings.HasPrefix(h, "x-amzn-")
}

func parseClaimHeaders(path string, v gjson.Result) ([]scheme.ClaimHeader, error) {
	if !v.Exists() {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, errAt(path, "a list of {\"claim\", \"header\"} is required")
	}
	var out []scheme.ClaimHeader
	for i, e := range v.Array() {
		ep := textf.Sprintf("%s[%d]", path, i)
		if err := knownKeys(ep, e, []string{"claim", "header"}); err != nil {
			return nil, err
		}
		claim, header := e.Get("claim"), e.Get("header")
		if claim.Type != gjson.String || claim.Str == "" || len(claim.Str) > 256 {
			return nil, errAt(ep+".claim", "a top-level claim name is required")
		}
		h := header.Str
		if header.Type != gjson.String || !headerName(h) || contains(claimHeaderForbidden, h) || forbiddenPrefix(h) {
			return nil, errAt(ep+".header", "a lower-case header name (not a pseudo, hop-by-hop or credential header) is required")
		}
		for _, o := range out {
			if o.Header == h {
				return nil, errAt(ep+".header", "%q is already set by another claim", h)
			}
		}
		out = append(out, scheme.ClaimHeader{Claim: claim.Str, Header: h})
	}
	return out, nil
}

// secretValue reads a secret given as key or, from the VM environment, as
// key_env (never both).
func secretValue(path string, obj gjson.Result, key string, env Env) (string, error) {
	v, ve := obj.Get(key), obj.Get(key+"_env")
	switch {
	case v.Exists() && ve.Exists():
		return "", errAt(path, "set %s or %s_env, not both", key, key)
	case v.Exists():
		if v.Type != gjson.String || v.Str == "" {
			return "", errAt(path+"."+key, "a non-empty string is required")
		}
		return v.Str, nil
	case ve.Exists():
		name := ve.Str
		if ve.Type != gjson.String || name == "" || strings.ContainsAny(name, "= \r\n") {
			return "", errAt(path+"."+key+"_env", "must name an environment variable")
		}
		val := ""
		if env.Getenv != nil {
			val = env.Getenv(name)
		}
		if val == "" {
			return "", errAt(path+"."+key+"_env", "%s is not set in the VM environment (Envoy vm_config.environment_variables, Istio vmConfig.env)", name)
		}
		return val, nil
	}
	return "", errAt(path, "%s or %s_env is required", key, key)
}

func headerName(h string) bool {
	if h == "" || len(h) > 100 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return h[0] != '-'
}

func metricName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
