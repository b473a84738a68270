// SPDX-License-Identifier: Apache-2.0

package config

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// policyCase is one request per scheme for a parsed route, with the fake
// token cluster answer Finish gets.
type policyCase struct {
	name    string
	schemes string
	options string
	headers [][2]string
	answer  *authn.Answer
	status  int    // 0: allowed
	subject string // when allowed
}

// policyCases runs one request per scheme: Decide, then Finish.
func policyCases() []policyCase {
	ts := strconv.FormatInt(testNow.Unix(), 10)
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	ok := func(kind, sub string) *authn.Answer {
		return &authn.Answer{Active: true, Kind: kind, Subject: sub, Tenant: "acme", Scopes: []string{"read"}}
	}
	return []policyCase{
		{name: "oauth2", schemes: `"jwt","oauth2_bearer"`, headers: [][2]string{{"authorization", "Bearer opaque"}}, answer: &authn.Answer{Active: true, Kind: "oauth2", ClientID: "c1", Scopes: []string{"read"}}, subject: "c1"},
		{name: "oauth2 missing scope", schemes: `"oauth2_bearer"`, headers: [][2]string{{"authorization", "Bearer opaque"}}, answer: &authn.Answer{Active: true, Kind: "oauth2", ClientID: "c1"}, status: 403},
		{name: "api_key other tenant", schemes: `"api_key"`, options: `"api_key":{"tenant":{"host_label":0}}`, headers: [][2]string{{"apikey", "k"}, {":authority", "beta.api.example"}}, answer: ok("api_key", "key-1"), status: 401},
		{name: "api_key", schemes: `"api_key"`, options: `"api_key":{"tenant":{"host_label":0}}`, headers: [][2]string{{"apikey", "k"}, {":authority", "acme.api.example"}}, answer: ok("api_key", "key-1"), subject: "key-1"},
		{name: "user_api_key basic", schemes: `"domain_key","user_api_key"`, headers: [][2]string{{"authorization", b64("u1:k")}}, answer: ok("user_api_key", "u1"), subject: "u1"},
		{name: "user_api_key without developer", schemes: `"user_api_key"`, options: `"user_api_key":{"require_developer_id":true}`, headers: [][2]string{{"user-id", "u1"}, {"user-api-key", "k"}}, status: 401},
		{name: "session", schemes: `"session_token"`, headers: [][2]string{{":path", "/x?access-token=s1"}}, answer: ok("session", "u1"), subject: "u1"},
		{name: "hmac", schemes: `"user_api_key","hmac"`, headers: [][2]string{{"user-id", "u1"}, {"timestamp", ts}, {"hash-key", hmacHex("hk", "u1"+ts)}}, answer: &authn.Answer{Active: true, Kind: "hmac_key", Subject: "u1", HMACKey: "hk", Scopes: []string{"read"}}, subject: "u1"},
		{name: "public_key_token lone key", schemes: `"public_key_token"`, headers: [][2]string{{"authorization", "pk"}}, status: 401},
		{name: "public_key_token", schemes: `"public_key_token"`, headers: [][2]string{{"authorization", "pk:t"}}, answer: &authn.Answer{Active: true, Kind: "public_key_token", Subject: "cust", AppID: "pk", Scopes: []string{"read"}}, subject: "cust"},
		{name: "domain_key missing", schemes: `"domain_key"`, status: 403},
		{name: "domain_key", schemes: `"domain_key"`, headers: [][2]string{{"authorization", b64("shop|k")}}, answer: ok("domain_key", "shop"), subject: "shop"},
		{name: "sso consumed", schemes: `"sso"`, headers: [][2]string{{":path", "/login?sso-token=t"}}, answer: &authn.Answer{Reason: tokenapi.ReasonConsumed}, status: 401},
		{name: "nothing present", schemes: `"api_key","sso"`, status: 401},
	}
}

// TestSchemesThroughPolicy runs one request per scheme through a parsed
// route: Decide, then Finish with a fake token cluster answer.
func TestSchemesThroughPolicy(t *testing.T) {
	tests := policyCases()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			route := `{"name":"r","match":{"prefix":"/"},"scopes":["read"],"schemes":[` + tc.schemes + `]`
			if tc.options != "" {
				route += `,"options":{` + tc.options + `}`
			}
			cfg, err := Parse(schemeDoc(`"jwt":{"keys":[`+key+`]},`, route+`}`))
			if err != nil {
				t.Fatal(err)
			}
			rt := cfg.Policy.Routes[0]
			pairs := append([][2]string{{":method", "GET"}, {":path", "/x"}, {":authority", "api.example"}}, tc.headers...)
			r := authn.NewHeaderRequest(dedupe(pairs))
			res := rt.Decide(r, testNow)
			if res.Lookup != nil {
				if res.Lookup.Path != tokenapi.PathVerify && res.Lookup.Path != tokenapi.PathIntrospect {
					t.Fatalf("lookup path %s", res.Lookup.Path)
				}
				res = rt.Finish(r, res.Verifier.(authn.RemoteVerifier), tc.answer, testNow)
			}
			if tc.status != 0 {
				if res.Deny == nil || res.Deny.Status != tc.status {
					t.Fatalf("result %+v, want status %d", res.Deny, tc.status)
				}
				return
			}
			if res.Deny != nil || res.Identity == nil || res.Identity.Subject != tc.subject {
				t.Fatalf("denied %v, identity %+v", res.Deny, res.Identity)
			}
		})
	}
}

// dedupe keeps the last value of each name, so cases can override pseudo headers.
func dedupe(pairs [][2]string) [][2]string {
	last := map[string]int{}
	for i, kv := range pairs {
		last[strings.ToLower(kv[0])] = i
	}
	var out [][2]string
	for i, kv := range pairs {
		if last[strings.ToLower(kv[0])] == i {
			out = append(out, kv)
		}
	}
	return out
}

// FuzzSchemeOptions parses configurations whose scheme options are fuzzed.
// Invariants: no panic; every error is a *config.Error.
func FuzzSchemeOptions(f *testing.F) {
	for _, s := range []string{`"oauth2_bearer"`, `"api_key"`, `"user_api_key"`, `"session_token"`, `"hmac"`, `"public_key"`,
		`"public_key_token"`, `"domain_key"`, `"sso"`} {
		f.Add(s, `{}`)
	}
	f.Add(`"api_key"`, `{"tenant":{"header":"x-tenant"},"allowed_tenants":["acme"]}`)
	f.Add(`"api_key"`, `{"tenant":{"path_segment":1e9}}`)
	f.Add(`"hmac"`, `{"window_seconds":900,"future_skew_seconds":30,"replay_protection":true}`)
	f.Add(`"domain_key"`, `{"validate_auth_header":false}`)
	f.Add(`"oauth2_bearer"`, `{"access_type":"S2S","require_visitorcode":true,"require_customercode":true}`)
	f.Add(`"oauth2_bearer"`, `{"require_one_of_codes":["visitorcode","customercode"]}`)
	f.Add(`"oauth2_bearer"`, `{"require_developer_id":true}`)
	f.Fuzz(func(t *testing.T, name, opts string) {
		doc := schemeDoc(name+`:`+opts+`,`, `{"name":"a","match":{"prefix":"/"},"schemes":[`+name+`],"options":{`+name+`:`+opts+`}}`)
		cfg, err := Parse(doc)
		if (cfg == nil) == (err == nil) {
			t.Fatal("exactly one of config and error must be set")
		}
		if err != nil {
			if _, isCfg := err.(*Error); !isCfg {
				t.Fatalf("error %T: %v", err, err)
			}
		}
	})
}

// TestTrustRules: through a parsed policy, every route strips the credential
// locations of every scheme the policy knows (except a pass-through route),
// a repeated or contradicting credential is refused, and so is a method
// override on a method-restricted route.
func TestTrustRules(t *testing.T) {
	cfg, err := Parse(schemeDoc(`"jwt":{"keys":[`+key+`]},`,
		`{"name":"read","match":{"prefix":"/read","methods":["GET"]},"schemes":["api_key"],"options":{"api_key":{"tenant":{"header":"x-tenant"}}}},
		 {"name":"users","match":{"prefix":"/users"},"schemes":["user_api_key","session_token"]},
		 {"name":"bearer","match":{"prefix":"/bearer"},"schemes":["oauth2_bearer","jwt"]},
		 {"name":"znode","match":{"prefix":"/znode"},"schemes":["domain_key"],"options":{"domain_key":{"validate_auth_header":false}}},
		 {"name":"open","match":{"prefix":"/open","methods":["GET"]},"anonymous":true}`))
	if err != nil {
		t.Fatal(err)
	}
	pol := cfg.Policy
	strip := func(path string) authn.Locations { return pol.Match("GET", "api.example", path).StripLocations() }
	for _, path := range []string{"/read", "/users", "/bearer"} {
		loc := strip(path)
		for _, h := range []string{"authorization", "apikey", "user-id", "user-api-key", "access-token"} {
			if !slices.Contains(loc.Headers, h) {
				t.Errorf("%s does not strip the %s header: %v", path, h, loc.Headers)
			}
		}
		if !slices.Contains(loc.Query, "user-api-key") || !slices.Contains(loc.Query, "access-token") {
			t.Errorf("%s does not strip the query credentials: %v", path, loc.Query)
		}
	}
	if loc := strip("/znode"); slices.Contains(loc.Headers, "authorization") || !slices.Contains(loc.Headers, "access-token") {
		t.Errorf("the pass-through route must keep only its Authorization header: it strips %v", loc)
	}
	decide := func(method, path string, hs ...string) *authn.DenyError {
		pairs := [][2]string{{":method", method}, {":path", path}, {":authority", "api.example"}}
		for i := 0; i+1 < len(hs); i += 2 {
			pairs = append(pairs, [2]string{hs[i], hs[i+1]})
		}
		p, _, _ := strings.Cut(path, "?")
		return pol.Match(method, "api.example", p).Decide(authn.NewHeaderRequest(pairs), testNow).Deny
	}
	for _, tc := range []struct {
		name, method, path string
		headers            []string
		reason             string
	}{
		{"override header", "GET", "/read", []string{"apikey", "k", "x-tenant", "acme", "X-HTTP-Method-Override", "DELETE"}, "method_override"},
		{"override x-http-method", "GET", "/read", []string{"x-http-method", "DELETE"}, "method_override"},
		{"override x-method-override", "GET", "/open", []string{"x-method-override", "PUT"}, "method_override"},
		{"override query", "GET", "/read?_method=DELETE", []string{"apikey", "k", "x-tenant", "acme"}, "method_override"},
		{"tenant twice", "GET", "/read", []string{"apikey", "k", "x-tenant", "globex", "x-tenant", "acme"}, "ambiguous_credentials"},
		{"api key twice", "GET", "/read", []string{"apikey", "k", "apikey", "k2", "x-tenant", "acme"}, "ambiguous_credentials"},
		{"user-id in header and query", "GET", "/users?user-id=victim", []string{"user-id", "u1", "user-api-key", "k"}, "ambiguous_credentials"},
		{"access token twice", "GET", "/users?access-token=a&access-token=b", nil, "ambiguous_credentials"},
		{"visitorcode in header and query", "GET", "/bearer?visitorcode=v-2", []string{"authorization", "Bearer t", "visitorcode", "v-1"}, "ambiguous_credentials"},
		{"semicolon query", "GET", "/users?x=1;user-id=admin", []string{"user-id", "u1", "user-api-key", "k"}, "ambiguous_credentials"},
		{"header in two spellings", "GET", "/users", []string{"user-id", "u1", "user-api-key", "k", "user_id", "victim"}, "ambiguous_credentials"},
		{"query name in two cases", "GET", "/users?user-id=u1&user-api-key=k&USER-ID=victim", nil, "ambiguous_credentials"},
		{"tenant header in two spellings", "GET", "/read", []string{"apikey", "k", "x-tenant", "acme", "x_tenant", "globex"}, "ambiguous_credentials"},
		{"query that does not decode", "GET", "/bearer?visitorcod%u0065=w", []string{"authorization", "Bearer t"}, "ambiguous_credentials"},
	} {
		d := decide(tc.method, tc.path, tc.headers...)
		if d == nil || d.Reason != tc.reason || d.Status != 400 {
			t.Errorf("%s: %v, want 400 %s", tc.name, d, tc.reason)
		}
	}
	if d := decide("POST", "/users", "x-http-method-override", "GET", "user-id", "u1", "user-api-key", "k"); d != nil && d.Reason == "method_override" {
		t.Error("an override on a route open to every method is left to the upstream, not refused")
	}
}

// TestPolicyWideChecks: a method override is refused on every request once
// any route is method-restricted (a GET may fall through to an open route
// while the upstream runs DELETE), HEAD matches GET routes, and a path that
// matches another route when case or a trailing slash is ignored is refused.
func TestPolicyWideChecks(t *testing.T) {
	cfg, err := Parse(schemeDoc(`"jwt":{"keys":[`+key+`]},`,
		`{"name":"orders-write","match":{"prefix":"/orders","methods":["POST","DELETE"]},"schemes":["session_token"]},
		 {"name":"reports","match":{"prefix":"/reports","methods":["GET"]},"schemes":["session_token"]},
		 {"name":"admin","match":{"exact":"/admin"},"schemes":["session_token"]},
		 {"name":"Orders","match":{"prefix":"/Orders/Create"},"schemes":["session_token"]},
		 {"name":"public","match":{"prefix":"/"},"anonymous":true}`))
	if err != nil {
		t.Fatal(err)
	}
	pol := cfg.Policy
	check := func(method, target string, hs ...string) (*authn.DenyError, string) {
		pairs := [][2]string{{":method", method}, {":path", target}, {":authority", "api.example"}}
		for i := 0; i+1 < len(hs); i += 2 {
			pairs = append(pairs, [2]string{hs[i], hs[i+1]})
		}
		r := authn.NewHeaderRequest(pairs)
		rt := pol.Match(r.Method(), r.Host(), r.Path())
		name := ""
		if rt != nil {
			name = rt.Name
		}
		return pol.Check(r, rt), name
	}
	for _, tc := range []struct {
		name, method, target string
		headers              []string
		reason               string
	}{
		{"override on a fall-through GET", "GET", "/orders/1", []string{"X-HTTP-Method-Override", "DELETE"}, "method_override"},
		{"override query on a fall-through GET", "GET", "/orders/1?_method=DELETE", nil, "method_override"},
		{"PHP spelling .method", "POST", "/x?.method=DELETE", nil, "method_override"},
		{"PHP spelling [method", "POST", "/x?%5Bmethod=DELETE", nil, "method_override"},
		{"upper case _METHOD", "POST", "/x?_METHOD=DELETE", nil, "method_override"},
		{"underscore header spelling", "GET", "/x", []string{"x_http_method_override", "DELETE"}, "method_override"},
		{"trailing slash", "GET", "/admin/", nil, "path_ambiguous"},
		{"case", "GET", "/Admin", nil, "path_ambiguous"},
		{"case of a method route", "DELETE", "/ORDERS/1", nil, "path_ambiguous"},
		{"lower case of an upper-case route", "GET", "/orders/create", nil, "path_ambiguous"},
	} {
		d, rt := check(tc.method, tc.target, tc.headers...)
		if d == nil || d.Reason != tc.reason || d.Status != 400 {
			t.Errorf("%s (route %s): %v, want 400 %s", tc.name, rt, d, tc.reason)
		}
	}
	for _, ok := range []struct{ method, target string }{
		{"GET", "/admin"}, {"GET", "/orders/1"}, {"POST", "/orders/1"}, {"GET", "/Orders/Create"}, {"GET", "/public/x"},
	} {
		if d, rt := check(ok.method, ok.target); d != nil {
			t.Errorf("%s %s (route %s) refused: %v", ok.method, ok.target, rt, d)
		}
	}
	if _, rt := check("HEAD", "/reports/x"); rt != "reports" {
		t.Errorf("HEAD /reports/x matched %q, want the GET route reports", rt)
	}
}

// TestRegexRouteWithUpperCase: a regex route whose expression has upper
// case serves its own path, and refuses the same path in other case; one
// that turns case folding off is not skipped by another spelling.
func TestRegexRouteWithUpperCase(t *testing.T) {
	cfg, err := Parse([]byte(`{"routes":[{"name":"o","match":{"regex":"^/Orders/[0-9]+$"},"anonymous":true},
	  {"name":"admin","match":{"regex":"^(?-i)/admin(/.*)?$"},"anonymous":true},
	  {"name":"rest","match":{"prefix":"/"},"anonymous":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/Orders/1": "", "/orders/1": "path_ambiguous", "/ORDERS/1/": "path_ambiguous", "/other": "",
		"/admin/users": "", "/ADMIN/users": "path_ambiguous", "/Admin": "path_ambiguous"} {
		r := authn.NewHeaderRequest([][2]string{{":method", "GET"}, {":path", path}, {":authority", "h"}})
		got := ""
		if d := cfg.Policy.Check(r, cfg.Policy.Match("GET", "h", path)); d != nil {
			got = d.Reason
		}
		if got != want {
			t.Errorf("%s: refused for %q, want %q", path, got, want)
		}
	}
}
