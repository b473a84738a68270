// SPDX-License-Identifier: Apache-2.0

package config

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// schemeDoc is a configuration with a token cluster, the given top-level
// sections (a JSON fragment ending in a comma, or "") and one route.
func schemeDoc(sections, route string) []byte {
	return []byte(`{"token_cluster":{},` + sections + `"routes":[` + route + `]}`)
}

// parseRouteVerifiers parses a document and returns the first route's verifiers.
func parseRouteVerifiers(t *testing.T, doc []byte) []authn.Verifier {
	t.Helper()
	cfg, err := Parse(doc)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cfg.Policy.Routes[0].Verifiers
}

func TestSchemeErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name     string
		sections string
		route    string
		want     string
	}{
		{name: "oauth2 bad access type", route: `{"name":"a","match":{"prefix":"/"},"schemes":["oauth2_bearer"],"options":{"oauth2_bearer":{"access_type":"s2s"}}}`, want: "routes[0].options.oauth2_bearer.access_type: must be one of"},
		{name: "oauth2 global bad access type", sections: `"oauth2_bearer":{"access_type":7},`, route: `{"name":"a","match":{"prefix":"/"},"anonymous":true}`, want: "oauth2_bearer.access_type: must be one of"},
		{name: "oauth2 unknown option", route: `{"name":"a","match":{"prefix":"/"},"schemes":["oauth2_bearer"],"options":{"oauth2_bearer":{"accesstype":"S2S"}}}`, want: "routes[0].options.oauth2_bearer.accesstype: unknown key"},
		{name: "oauth2 options not an object", route: `{"name":"a","match":{"prefix":"/"},"schemes":["oauth2_bearer"],"options":{"oauth2_bearer":true}}`, want: "routes[0].options.oauth2_bearer: an object is required"},
		{name: "oauth2 visitor not bool", route: `{"name":"a","match":{"prefix":"/"},"schemes":["oauth2_bearer"],"options":{"oauth2_bearer":{"require_visitorcode":"yes"}}}`, want: "routes[0].options.oauth2_bearer.require_visitorcode: must be true or false"},
		{name: "oauth2 one of codes not a list", route: oauth2Route(`{"require_one_of_codes":"visitorcode"}`), want: "routes[0].options.oauth2_bearer.require_one_of_codes: must be an array of strings"},
		{name: "oauth2 one of codes empty", route: oauth2Route(`{"require_one_of_codes":[]}`), want: "routes[0].options.oauth2_bearer.require_one_of_codes: must list at least one of"},
		{name: "oauth2 one of codes unknown", route: oauth2Route(`{"require_one_of_codes":["visitorcode","customer_code"]}`), want: `routes[0].options.oauth2_bearer.require_one_of_codes[1]: unknown binding code "customer_code"`},
		{name: "oauth2 one of codes twice", route: oauth2Route(`{"require_one_of_codes":["customercode","customercode"]}`), want: `routes[0].options.oauth2_bearer.require_one_of_codes[1]: binding code "customercode" is listed twice`},
		{name: "oauth2 one of codes not strings", route: oauth2Route(`{"require_one_of_codes":[1]}`), want: "routes[0].options.oauth2_bearer.require_one_of_codes[0]: must be a non-empty string"},
		{name: "oauth2 global one of codes", sections: `"oauth2_bearer":{"require_one_of_codes":["x"]},`, route: `{"name":"a","match":{"prefix":"/"},"anonymous":true}`, want: `oauth2_bearer.require_one_of_codes[0]: unknown binding code "x"`},
		{name: "oauth2 developer-id not bool", route: oauth2Route(`{"require_developer_id":"yes"}`), want: "routes[0].options.oauth2_bearer.require_developer_id: must be true or false"},
		{name: "oauth2 customer not bool", sections: `"oauth2_bearer":{"require_customercode":1},`, route: `{"name":"a","match":{"prefix":"/"},"anonymous":true}`, want: "oauth2_bearer.require_customercode: must be true or false"},
		{name: "api_key two tenant sources", route: apiKeyRoute(`{"tenant":{"header":"x-t","host_label":0}}`), want: "routes[0].options.api_key.tenant: exactly one of"},
		{name: "api_key empty tenant source", route: apiKeyRoute(`{"tenant":{}}`), want: "routes[0].options.api_key.tenant: exactly one of"},
		{name: "api_key unknown tenant source", route: apiKeyRoute(`{"tenant":{"cookie":"t"}}`), want: "routes[0].options.api_key.tenant.cookie: unknown key"},
		{name: "api_key tenant not an object", route: apiKeyRoute(`{"tenant":"x-tenant"}`), want: "routes[0].options.api_key.tenant: an object is required"},
		{name: "api_key header not a string", route: apiKeyRoute(`{"tenant":{"header":1}}`), want: "routes[0].options.api_key.tenant.header: the tenant header"},
		{name: "api_key header with a space", route: apiKeyRoute(`{"tenant":{"header":"x tenant"}}`), want: "routes[0].options.api_key.tenant.header"},
		{name: "api_key negative host label", route: apiKeyRoute(`{"tenant":{"host_label":-1}}`), want: "routes[0].options.api_key.tenant.host_label: the host label"},
		{name: "api_key fractional host label", route: apiKeyRoute(`{"tenant":{"host_label":0.5}}`), want: "routes[0].options.api_key.tenant.host_label"},
		{name: "api_key path segment zero", route: apiKeyRoute(`{"tenant":{"path_segment":0}}`), want: "routes[0].options.api_key.tenant.path_segment: the path segment must be from 1"},
		{name: "api_key global tenant", sections: `"api_key":{"tenant":{"path_segment":"1"}},`, route: `{"name":"a","match":{"prefix":"/"},"anonymous":true}`, want: "api_key.tenant.path_segment"},
		{name: "api_key allowed tenants not a list", route: apiKeyRoute(`{"allowed_tenants":"acme"}`), want: "routes[0].options.api_key.allowed_tenants: must be an array"},
		{name: "api_key empty allowed tenant", route: apiKeyRoute(`{"allowed_tenants":["acme",""]}`), want: "routes[0].options.api_key.allowed_tenants[1]: must be a non-empty string"},
		{name: "api_key unknown option", route: apiKeyRoute(`{"tenants":[]}`), want: "routes[0].options.api_key.tenants: unknown key"},
		{name: "user_api_key developer not bool", route: optRoute("user_api_key", `{"require_developer_id":"true"}`), want: "routes[0].options.user_api_key.require_developer_id: must be true or false"},
		{name: "user_api_key unknown option", route: optRoute("user_api_key", `{"require_developer":true}`), want: "routes[0].options.user_api_key.require_developer: unknown key"},
		{name: "user_api_key global not an object", sections: `"user_api_key":[],`, route: anonRoute, want: "user_api_key: an object is required"},
		{name: "session refresh zero", route: optRoute("session_token", `{"refresh_seconds":0}`), want: "routes[0].options.session_token.refresh_seconds: must be a whole number from 1 to 600"},
		{name: "session refresh too long", sections: `"session_token":{"refresh_seconds":900},`, route: anonRoute, want: "session_token.refresh_seconds: must be a whole number from 1 to 600"},
		{name: "session refresh fraction", route: optRoute("session_token", `{"refresh_seconds":1.5}`), want: "routes[0].options.session_token.refresh_seconds"},
		{name: "session refresh string", route: optRoute("session_token", `{"refresh_seconds":"60"}`), want: "routes[0].options.session_token.refresh_seconds"},
		{name: "hmac window zero", route: optRoute("hmac", `{"window_seconds":0}`), want: "routes[0].options.hmac.window_seconds: must be a whole number from 1 to 86400"},
		{name: "hmac skew too large", sections: `"hmac":{"future_skew_seconds":7200},`, route: anonRoute, want: "hmac.future_skew_seconds: must be a whole number from 1 to 3600"},
		{name: "hmac replay not bool", route: optRoute("hmac", `{"replay_protection":1}`), want: "routes[0].options.hmac.replay_protection: must be true or false"},
		{name: "hmac unknown option", route: optRoute("hmac", `{"window":900}`), want: "routes[0].options.hmac.window: unknown key"},
		{name: "public_key takes no options", route: optRoute("public_key", `{"public":true}`), want: "routes[0].options.public_key.public: unknown key (this scheme takes no options)"},
		{name: "public_key_token global takes no options", sections: `"public_key_token":{"ttl":5},`, route: anonRoute, want: "public_key_token.ttl: unknown key"},
		{name: "public_key options not an object", route: optRoute("public_key", `[]`), want: "routes[0].options.public_key: an object is required"},
		{name: "sso takes no options", route: optRoute("sso", `{"param":"t"}`), want: "routes[0].options.sso.param: unknown key"},
		{name: "domain_key validate not bool", route: optRoute("domain_key", `{"validate_auth_header":"false"}`), want: "routes[0].options.domain_key.validate_auth_header: must be true or false"},
		{name: "domain_key unknown option", route: optRoute("domain_key", `{"validate":false}`), want: "routes[0].options.domain_key.validate: unknown key"},
		{name: "domain_key global validate not bool", sections: `"domain_key":{"validate_auth_header":0},`, route: anonRoute, want: "domain_key.validate_auth_header: must be true or false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(schemeDoc(tc.sections, tc.route))
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

// anonRoute is a route that accepts no scheme, for top-level section tests.
const anonRoute = `{"name":"a","match":{"prefix":"/"},"anonymous":true}`

// optRoute is a route accepting only scheme, with its options.
func optRoute(scheme, opts string) string {
	return `{"name":"a","match":{"prefix":"/"},"schemes":["` + scheme + `"],"options":{"` + scheme + `":` + opts + `}}`
}

func apiKeyRoute(opts string) string {
	return `{"name":"a","match":{"prefix":"/"},"schemes":["api_key"],"options":{"api_key":` + opts + `}}`
}

func TestSchemesNeedTheTokenCluster(t *testing.T) {
	for _, name := range []string{"oauth2_bearer", "api_key", "user_api_key", "session_token", "hmac", "public_key", "public_key_token", "domain_key", "sso"} {
		doc := `{"routes":[{"name":"a","match":{"prefix":"/"},"schemes":["` + name + `"]}]}`
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "token_cluster") {
			t.Errorf("%s without a token cluster: %v", name, err)
		}
	}
}

func TestOAuth2Route(t *testing.T) {
	vs := parseRouteVerifiers(t, schemeDoc(`"oauth2_bearer":{"access_type":"C2S"},"jwt":{"keys":[`+key+`]},`,
		`{"name":"a","match":{"prefix":"/"},"schemes":["jwt","oauth2_bearer"],"options":{"oauth2_bearer":{"access_type":"S2S","require_visitorcode":true}}}`))
	v := vs[1]
	if v.Name() != "oauth2_bearer" {
		t.Fatalf("verifier %s", v.Name())
	}
	jws := authn.NewHeaderRequest([][2]string{{"authorization", "Bearer eyJh.eyJz.c2ln"}})
	if v.Present(jws) {
		t.Fatal("a JWS went to introspection on a route that accepts jwt")
	}
	if got := v.Strip(); len(got.Query) != 1 || got.Query[0] != "visitorcode" {
		t.Fatalf("route option not applied: %+v", got)
	}
}

func TestAPIKeyRoute(t *testing.T) {
	vs := parseRouteVerifiers(t, schemeDoc(`"api_key":{"tenant":{"header":"X-Tenant"}},`, apiKeyRoute(`{"allowed_tenants":["acme"]}`)))
	rv, ok := vs[0].(authn.RemoteVerifier)
	if !ok {
		t.Fatalf("%T is not remote", vs[0])
	}
	// The global tenant source (header, lower-cased) applies to the route.
	if _, d := rv.Prepare(authn.NewHeaderRequest([][2]string{{"apikey", "k"}}), stamp.Of(testNow)); d == nil || d.Code != -23 {
		t.Fatalf("request without the tenant header: %v", d)
	}
	r := authn.NewHeaderRequest([][2]string{{"apikey", "k"}, {"x-tenant", "beta"}})
	a := &authn.Answer{Active: true, Kind: "api_key", Subject: "s", Tenant: "beta"}
	if _, d := rv.Complete(r, a, stamp.Of(testNow)); d == nil || d.Status != 403 {
		t.Fatalf("tenant outside the allowed list: %v", d)
	}
}

func TestSessionAndHMACRoutes(t *testing.T) {
	vs := parseRouteVerifiers(t, schemeDoc(`"session_token":{"refresh_seconds":30},"hmac":{"window_seconds":60},`,
		`{"name":"a","match":{"prefix":"/"},"schemes":["session_token","hmac","user_api_key"],"options":{"session_token":{"refresh_seconds":5},"hmac":{"replay_protection":true}}}`))
	s := vs[0].(authn.RemoteVerifier)
	l, d := s.Prepare(authn.NewHeaderRequest([][2]string{{"access-token", "t"}}), stamp.Of(testNow))
	if d != nil || l.Refresh != 5*time.Second {
		t.Fatalf("route refresh not applied: %v %v", l, d)
	}
	h := vs[1].(authn.RemoteVerifier)
	old := authn.NewHeaderRequest([][2]string{{"user-id", "u"}, {"timestamp", "1772366339"}, {"hash-key", strings.Repeat("ab", 32)}})
	if _, d := h.Prepare(old, stamp.Of(testNow)); d == nil || d.Reason != "hmac_expired" {
		t.Fatalf("global window not applied: %v", d)
	}
	// Replay protection without a replay store fails closed at request time.
	fresh := authn.NewHeaderRequest([][2]string{{"user-id", "u"}, {"timestamp", "1772366400"}, {"hash-key", hmacHex("k", "u1772366400")}})
	a := &authn.Answer{Active: true, Kind: "hmac_key", HMACKey: "k"}
	if _, d := h.Complete(fresh, a, stamp.Of(testNow)); d == nil || d.Status != 503 {
		t.Fatalf("replay without a store: %v", d)
	}
}

type replayStub struct{ n int }

func (r *replayStub) FirstUse(string, int64) bool { r.n++; return r.n == 1 }

func TestHMACReplayFromEnv(t *testing.T) {
	stub := &replayStub{}
	cfg, err := ParseEnv(schemeDoc("", optRoute("hmac", `{"replay_protection":true}`)), Env{Replay: stub})
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Policy.Routes[0].Verifiers[0].(authn.RemoteVerifier)
	ts := "1772366400" // testNow
	mac := hmacHex("k", "u"+ts)
	r := authn.NewHeaderRequest([][2]string{{"user-id", "u"}, {"timestamp", ts}, {"hash-key", mac}})
	a := &authn.Answer{Active: true, Kind: "hmac_key", Subject: "u", HMACKey: "k"}
	if _, d := h.Complete(r, a, stamp.Of(testNow)); d != nil {
		t.Fatalf("first use: %v", d)
	}
	if _, d := h.Complete(r, a, stamp.Of(testNow)); d == nil || d.Reason != "hmac_replayed" || stub.n != 2 {
		t.Fatalf("replay: %v (%d uses)", d, stub.n)
	}
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestPublicKeyRoutes(t *testing.T) {
	missing := authn.NewHeaderRequest([][2]string{{":path", "/"}})
	lone := authn.NewHeaderRequest([][2]string{{"authorization", "pk"}})
	withToken := authn.NewHeaderRequest([][2]string{{"authorization", "pk:t"}})
	tests := []struct {
		name    string
		schemes string
		req     *authn.HeaderRequest
		want    string // name of the deciding scheme, "" for none
	}{
		{name: "restricted route, key and token", schemes: `"public_key_token"`, req: withToken, want: "public_key_token"},
		{name: "restricted route, lone key is refused by it", schemes: `"public_key_token"`, req: lone, want: "public_key_token"},
		{name: "restricted route, missing answers Authorization is missing", schemes: `"public_key_token"`, req: missing, want: "public_key_token"},
		{name: "public route, lone key", schemes: `"public_key"`, req: lone, want: "public_key"},
		{name: "mixed route, lone key", schemes: `"public_key_token","public_key"`, req: lone, want: "public_key"},
		{name: "mixed route, key and token", schemes: `"public_key","public_key_token"`, req: withToken, want: "public_key_token"},
		{name: "not last, missing is left to the route", schemes: `"public_key","user_api_key"`, req: missing, want: ""},
		{name: "api_key last claims missing credentials (code -23)", schemes: `"public_key","api_key"`, req: missing, want: "api_key"},
		{name: "api_key not last leaves them", schemes: `"api_key","public_key"`, req: missing, want: "public_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := parseRouteVerifiers(t, schemeDoc("", `{"name":"a","match":{"prefix":"/"},"schemes":[`+tc.schemes+`]}`))
			got := ""
			for _, v := range vs {
				if v.Present(tc.req) {
					got = v.Name()
					break
				}
			}
			if got != tc.want {
				t.Fatalf("decided by %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDomainKeyRoutes(t *testing.T) {
	vs := parseRouteVerifiers(t, schemeDoc("", optRoute("domain_key", `{"validate_auth_header":false}`)))
	if _, remote := vs[0].(authn.RemoteVerifier); remote {
		t.Fatal("validate_auth_header false still asks the token cluster")
	}
	id, d := vs[0].Verify(authn.NewHeaderRequest(nil), stamp.Of(testNow))
	if d != nil || id.Scheme != "domain_key_unchecked" {
		t.Fatalf("unchecked route: %+v %v", id, d)
	}
	// Without a remote scheme the route needs no token cluster.
	if _, err := Parse([]byte(`{"routes":[` + optRoute("domain_key", `{"validate_auth_header":false}`) + `]}`)); err != nil {
		t.Fatal(err)
	}
	vs = parseRouteVerifiers(t, schemeDoc(`"domain_key":{"validate_auth_header":false},`, optRoute("domain_key", `{"validate_auth_header":true}`)))
	rv, remote := vs[0].(authn.RemoteVerifier)
	if !remote {
		t.Fatal("the route's validate_auth_header did not override the section's")
	}
	_, d = rv.Prepare(authn.NewHeaderRequest(nil), stamp.Of(testNow))
	if d == nil || d.Status != 403 || !vs[0].Present(authn.NewHeaderRequest(nil)) {
		t.Fatalf("missing header on a domain_key route: %v", d)
	}
}

// The verify credential may come from the VM environment, so it never has
// to sit in Envoy YAML or a WasmPlugin resource.
func TestVerifyTokenFromEnv(t *testing.T) {
	doc := func(cluster string) []byte {
		return []byte(`{"token_cluster":` + cluster + `,"routes":[{"name":"r","match":{"prefix":"/"},"schemes":["api_key"]}]}`)
	}
	env := Env{Getenv: func(k string) string {
		return map[string]string{"CREDGATE_VERIFY_TOKEN": "from-the-environment-0123", "SPACED": "a b"}[k]
	}}
	cfg, err := ParseEnv(doc(`{"verify_token_env":"CREDGATE_VERIFY_TOKEN"}`), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.VerifyToken != "from-the-environment-0123" {
		t.Fatalf("verify token %q", cfg.Cluster.VerifyToken)
	}
	for cluster, want := range map[string]string{
		`{"verify_token_env":"MISSING"}`:              "MISSING is not set in the VM environment",
		`{"verify_token_env":"SPACED"}`:               "SPACED must be a token",
		`{"verify_token_env":""}`:                     "must name an environment variable",
		`{"verify_token_env":"A","verify_token":"t"}`: "not both",
		`{"verify_token":"has space"}`:                "without spaces",
	} {
		_, err := ParseEnv(doc(cluster), env)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "token_cluster") {
			t.Errorf("%s: err = %v, want %q", cluster, err, want)
		}
	}
	if _, err := ParseEnv(doc(`{"verify_token_env":"CREDGATE_VERIFY_TOKEN"}`), Env{}); err == nil {
		t.Error("no environment, yet the variable was found")
	}
}

func oauth2Route(options string) string {
	return `{"name":"a","match":{"prefix":"/"},"schemes":["oauth2_bearer"],"options":{"oauth2_bearer":` + options + `}}`
}

func TestRevocationWait(t *testing.T) {
	doc := func(cluster string) []byte {
		return []byte(`{"token_cluster":` + cluster + `,"routes":[{"name":"r","match":{"prefix":"/"},"schemes":["api_key"]}]}`)
	}
	tests := []struct {
		cluster string
		want    time.Duration
		err     string
	}{
		{cluster: `{}`, want: 30 * time.Second},
		{cluster: `{"revocation_wait_seconds":0}`, want: 0},
		{cluster: `{"revocation_wait_seconds":300}`, want: 300 * time.Second},
		{cluster: `{"revocation_wait_seconds":301}`, err: "token_cluster.revocation_wait_seconds"},
		{cluster: `{"revocation_wait_seconds":-1}`, err: "token_cluster.revocation_wait_seconds"},
		{cluster: `{"revocation_wait_seconds":1.5}`, err: "token_cluster.revocation_wait_seconds"},
		{cluster: `{"revocation_wait_seconds":"30"}`, err: "token_cluster.revocation_wait_seconds"},
	}
	for _, tc := range tests {
		cfg, err := Parse(doc(tc.cluster))
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.cluster, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.cluster, err)
		case cfg.Cluster.RevocationWait != tc.want:
			t.Errorf("%s: wait %v, want %v", tc.cluster, cfg.Cluster.RevocationWait, tc.want)
		}
	}
}
