// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"strings"
	"testing"
)

const key = `{"kid":"k1","secret":"k1-secret-0123456789abcdef0123456789"}`

func TestParseValid(t *testing.T) {
	cfg, err := Parse([]byte(`{
	  "realm": "shop",
	  "unmatched": "deny",
	  "identity_header_prefix": "X-Auth-",
	  "jwt": {"keys": [` + key + `], "leeway_seconds": 5, "issuer": "https://issuer"},
	  "routes": [
	    {"name": "a", "match": {"prefix": "/a/", "methods": ["GET","POST"], "hosts": ["api.example"]}, "schemes": ["jwt"], "scopes": ["read"]},
	    {"name": "b", "match": {"regex": "^/b/[0-9]+$"}, "schemes": ["jwt"], "strip_credentials": false},
	    {"name": "c", "match": {"exact": "/healthz"}, "anonymous": true}
	  ]}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IdentityPrefix != "x-auth-" || cfg.Policy.Realm != "shop" || len(cfg.Policy.Routes) != 3 {
		t.Fatalf("cfg = %+v", cfg)
	}
	p := cfg.Policy
	tests := []struct {
		name, method, host, path, want string
	}{
		{name: "prefix", method: "GET", host: "api.example", path: "/a/x", want: "a"},
		{name: "host mismatch", method: "GET", host: "other", path: "/a/x", want: ""},
		{name: "method mismatch", method: "PUT", host: "api.example", path: "/a/x", want: ""},
		{name: "regex", method: "GET", host: "x", path: "/b/12", want: "b"},
		{name: "regex no match", method: "GET", host: "x", path: "/b/x", want: ""},
		{name: "exact", method: "GET", host: "x", path: "/healthz", want: "c"},
		{name: "exact is exact", method: "GET", host: "x", path: "/healthz/x", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := p.Match(tc.method, tc.host, tc.path)
			got := ""
			if rt != nil {
				got = rt.Name
			}
			if got != tc.want {
				t.Fatalf("matched %q, want %q", got, tc.want)
			}
		})
	}
	if p.Routes[1].StripCredentials || !p.Routes[0].StripCredentials {
		t.Fatal("strip_credentials not honoured")
	}
}

func TestParseErrorsNameThePath(t *testing.T) {
	route := func(s string) string { return `{"jwt":{"keys":[` + key + `]},"routes":[` + s + `]}` }
	tests := []struct {
		name string
		json string
		want string
	}{
		{name: "not JSON", json: `{`, want: "not valid JSON"},
		{name: "not an object", json: `[]`, want: "must be a JSON object"},
		{name: "unknown top key", json: `{"rotues":[]}`, want: "rotues: unknown key"},
		{name: "no routes", json: `{"jwt":{"keys":[` + key + `]}}`, want: "routes: at least one route"},
		{name: "bad unmatched", json: `{"unmatched":"maybe","routes":[]}`, want: "unmatched: must be"},
		{name: "jwt without keys", json: `{"jwt":{},"routes":[]}`, want: "jwt: exactly one of keys, local_jwks and remote_jwks is required"},
		{name: "short jwt secret", json: `{"jwt":{"keys":[{"kid":"a","secret":"short"}]},"routes":[]}`, want: "jwt.keys[0].secret: an HS256 secret must be at least 32 bytes"},
		{name: "fractional cache size", json: `{"cache":{"max_entries":1.5},"routes":[]}`, want: "cache.max_entries: must be a whole number"},
		{name: "jwt secret env unset", json: `{"jwt":{"keys":[{"kid":"a","secret_env":"NO_SUCH_VAR"}]},"routes":[]}`, want: "jwt.keys[0].secret_env: NO_SUCH_VAR is not set in the VM environment"},
		{name: "jwt secret and env", json: `{"jwt":{"keys":[{"kid":"a","secret":"x","secret_env":"X"}]},"routes":[]}`, want: "jwt.keys[0]: set secret or secret_env, not both"},
		{name: "jwt keys and remote", json: `{"jwt":{"keys":[{"secret":"0123456789abcdef0123456789abcdef"}],"remote_jwks":{"cluster":"c"}},"routes":[]}`, want: "jwt: exactly one of keys, local_jwks and remote_jwks"},
		{name: "jwt remote without cluster", json: `{"jwt":{"remote_jwks":{}},"routes":[]}`, want: "jwt.remote_jwks.cluster: the Envoy cluster"},
		{name: "jwt remote secrets from elsewhere", json: `{"jwt":{"remote_jwks":{"cluster":"idp","include_secrets":true}},"routes":[]}`, want: "jwt.remote_jwks.include_secrets: HS256 secrets come only from the token cluster"},
		{name: "jwt remote bad duration", json: `{"jwt":{"remote_jwks":{"cluster":"idp","cache_duration_seconds":0}},"routes":[]}`, want: "jwt.remote_jwks.cache_duration_seconds: must be a whole number from 1"},
		{name: "jwt local jwks secret", json: `{"jwt":{"local_jwks":{"keys":[{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}]}},"routes":[]}`, want: "jwt.local_jwks: the key set has no usable key"},
		{name: "jwt providers two without issuer", json: `{"jwt":{"providers":[{"name":"a","remote_jwks":{"cluster":"x"}},{"name":"b","remote_jwks":{"cluster":"y"}}]},"routes":[]}`, want: "jwt: providers[0]: an issuer is required when there are several providers"},
		{name: "jwt providers same name", json: `{"jwt":{"providers":[{"name":"a","issuer":"i","remote_jwks":{"cluster":"x"}},{"name":"a","issuer":"j","remote_jwks":{"cluster":"y"}}]},"routes":[]}`, want: "jwt.providers[1].name: \"a\" is already providers[0]"},
		{name: "jwt providers and inline", json: `{"jwt":{"providers":[],"issuer":"x"},"routes":[]}`, want: "jwt.issuer: with providers, each provider has its own settings"},
		{name: "jwt claim header envoy", json: `{"jwt":{"remote_jwks":{"cluster":"x"},"claim_to_headers":[{"claim":"sub","header":"x-envoy-original-path"}]},"routes":[]}`, want: "jwt.claim_to_headers[0].header"},
		{name: "jwt claim header forwarded", json: `{"jwt":{"remote_jwks":{"cluster":"x"},"claim_to_headers":[{"claim":"sub","header":"x-forwarded-host"}]},"routes":[]}`, want: "jwt.claim_to_headers[0].header"},
		{name: "jwt claim header forbidden", json: `{"jwt":{"remote_jwks":{"cluster":"x"},"claim_to_headers":[{"claim":"sub","header":"authorization"}]},"routes":[]}`, want: "jwt.claim_to_headers[0].header"},
		{name: "jwt claim header identity", json: `{"jwt":{"remote_jwks":{"cluster":"x"},"claim_to_headers":[{"claim":"sub","header":"x-credgate-subject"}]},"routes":[{"name":"r","match":{"prefix":"/"},"schemes":["jwt"]}]}`, want: "is an identity header the plugin sets itself"},
		{name: "unknown jwt key", json: `{"jwt":{"keys":[` + key + `],"alg":"none"},"routes":[]}`, want: "jwt.alg: unknown key"},
		{name: "bad leeway", json: `{"jwt":{"keys":[` + key + `],"leeway_seconds":9999},"routes":[]}`, want: "jwt.leeway_seconds"},
		{name: "route without name", json: route(`{"match":{"prefix":"/"},"schemes":["jwt"]}`), want: "routes[0].name"},
		{name: "two path matchers", json: route(`{"name":"a","match":{"prefix":"/","exact":"/x"},"schemes":["jwt"]}`), want: "routes[0].match: exactly one of"},
		{name: "relative prefix", json: route(`{"name":"a","match":{"prefix":"x"},"schemes":["jwt"]}`), want: "routes[0].match.prefix"},
		{name: "bad regex", json: route(`{"name":"a","match":{"regex":"("},"schemes":["jwt"]}`), want: "routes[0].match.regex"},
		{name: "non-ASCII regex", json: route(`{"name":"a","match":{"regex":"^/café"},"schemes":["jwt"]}`), want: "routes[0].match.regex: at byte 5: not ASCII"},
		{name: "regex named group", json: route(`{"name":"a","match":{"regex":"^/(?P<id>[0-9]+)$"},"schemes":["jwt"]}`), want: "routes[0].match.regex: at byte 4: invalid or unsupported group"},
		{name: "regex too large", json: route(`{"name":"a","match":{"regex":"^/(a{30}){33}$"},"schemes":["jwt"]}`), want: "routes[0].match.regex: at byte 0: expression too large"},
		{name: "regex nested counts", json: route(`{"name":"a","match":{"regex":"^/(a{100}){200}$"},"schemes":["jwt"]}`), want: "routes[0].match.regex: at byte 10: invalid repeat count"},
		{name: "lower-case method", json: route(`{"name":"a","match":{"prefix":"/","methods":["get"]},"schemes":["jwt"]}`), want: "routes[0].match.methods[0]"},
		{name: "unknown scheme", json: route(`{"name":"a","match":{"prefix":"/"},"schemes":["kerberos"]}`), want: `routes[0].schemes[0]: unknown scheme "kerberos"`},
		{name: "jwt route without jwt section", json: `{"routes":[{"name":"a","match":{"prefix":"/"},"schemes":["jwt"]}]}`, want: "jwt: the jwt section is required"},
		{name: "options for a scheme the route does not accept", json: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt"],"options":{"api_key":{}}}`), want: "routes[0].options.api_key: unknown key"},
		{name: "duplicate scheme", json: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt","jwt"]}`), want: "routes[0].schemes[1]"},
		{name: "no schemes", json: route(`{"name":"a","match":{"prefix":"/"}}`), want: "routes[0].schemes: list at least one scheme"},
		{name: "anonymous with schemes", json: route(`{"name":"a","match":{"prefix":"/"},"anonymous":true,"schemes":["jwt"]}`), want: "anonymous route accepts no schemes"},
		{name: "bad error style", json: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt"],"error_style":"xml"}`), want: "routes[0].error_style: unknown style"},
		{name: "unknown route key", json: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt"],"scope":["x"]}`), want: "routes[0].scope: unknown key"},
		{name: "too large", json: `{"x":"` + strings.Repeat("a", MaxSize) + `"}`, want: "more than the"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil {
				t.Fatal("accepted an invalid configuration")
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error %T is not *config.Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"jwt":{"keys":[` + key + `]},"routes":[{"name":"a","match":{"prefix":"/"},"schemes":["jwt"]}]}`))
	f.Add([]byte(`{"routes":[{"name":"a","match":{"exact":"/"},"anonymous":true}]}`))
	f.Add([]byte(`{"routes":[{"name":"a","match":{"regex":"^(a+)+$"},"anonymous":true}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("exactly one of config and error must be set")
		}
		if cfg == nil {
			return
		}
		for _, rt := range cfg.Policy.Routes {
			if !rt.Anonymous && len(rt.Verifiers) == 0 {
				t.Fatalf("route %q accepts nothing yet is not anonymous", rt.Name)
			}
		}
	})
}

func TestBuildersInNameOrder(t *testing.T) {
	for i := 1; i < len(builders); i++ {
		if builders[i-1].name >= builders[i].name {
			t.Errorf("builders: %q must come after %q (names in order, each once)", builders[i-1].name, builders[i].name)
		}
	}
	for _, b := range builders {
		if got, ok := builderOf(b.name); !ok || got == nil {
			t.Errorf("builderOf(%q) finds nothing", b.name)
		}
	}
	if _, ok := builderOf("nope"); ok {
		t.Error("builderOf finds an unknown scheme")
	}
}
