// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
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

func apiKeyRoute(opts string) string {
	return `{"name":"a","match":{"prefix":"/"},"schemes":["api_key"],"options":{"api_key":` + opts + `}}`
}

func TestSchemesNeedTheTokenCluster(t *testing.T) {
	for _, name := range []string{"oauth2_bearer", "api_key"} {
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
	if _, d := rv.Prepare(authn.NewHeaderRequest([][2]string{{"apikey", "k"}}), testNow); d == nil || d.Code != -23 {
		t.Fatalf("request without the tenant header: %v", d)
	}
	r := authn.NewHeaderRequest([][2]string{{"apikey", "k"}, {"x-tenant", "beta"}})
	a := &authn.Answer{Active: true, Kind: "api_key", Subject: "s", Tenant: "beta"}
	if _, d := rv.Complete(r, a, testNow); d == nil || d.Status != 403 {
		t.Fatalf("tenant outside the allowed list: %v", d)
	}
}
