// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
)

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

func TestSchemesNeedTheTokenCluster(t *testing.T) {
	for _, name := range []string{"oauth2_bearer"} {
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
