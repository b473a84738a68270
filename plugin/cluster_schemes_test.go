// SPDX-License-Identifier: Apache-2.0

package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
)

// TestSchemesThroughTokenCluster runs every scheme through the real module
// and a real token cluster, under each profile: success with the identity
// the upstream sees and the credentials stripped, each documented failure,
// and the credentials in each documented location.
func TestSchemesThroughTokenCluster(t *testing.T) {
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			e := newClusterEnv(t, p, 2)
			t.Run("oauth2_bearer", func(t *testing.T) { testOAuth2(t, e) })
			t.Run("jwt_or_oauth2", func(t *testing.T) { testJWTOrOAuth2(t, e) })
			t.Run("api_key", func(t *testing.T) { testAPIKey(t, e) })
			t.Run("user_api_key", func(t *testing.T) { testUserKey(t, e) })
			t.Run("session_token", func(t *testing.T) { testSession(t, e) })
			t.Run("hmac", func(t *testing.T) { testHMAC(t, e) })
			t.Run("public_key", func(t *testing.T) { testPublicKey(t, e) })
			t.Run("domain_key", func(t *testing.T) { testDomainKey(t, e) })
			t.Run("sso", func(t *testing.T) { testSSO(t, e) })
			t.Run("no secret in the logs", func(t *testing.T) { noSecretLogged(t, e) })
		})
	}
}

// demoSecrets are the seeded credentials (tokencluster/testdata/credentials.json).
var demoSecrets = []string{"demo-client-secret", "demo-api-key-0001", "demo-api-key-0002", "demo-api-key-0003", "demo-user-api-key",
	"demo-user-hmac-key", "demo-password", "demo-secret-key", "demo-domain-key", "demo-partner-secret",
	"demo-customer-password", "demo-jwt-signing-secret"}

// noSecretLogged fails if any seeded secret, or any token issued during the
// run, appears in what the plugin logged.
func noSecretLogged(t *testing.T, e *clusterEnv) {
	secrets := append(append([]string(nil), demoSecrets...), e.issued...)
	logs := e.host.Logs()
	if len(logs) == 0 {
		t.Fatal("no logs captured: the check would prove nothing")
	}
	for _, l := range logs {
		for _, s := range secrets {
			if len(s) >= 8 && strings.Contains(l.Message, s) {
				t.Errorf("log line leaks a credential: %q", l.Message)
			}
		}
	}
}

func testOAuth2(t *testing.T, e *clusterEnv) {
	c2s := e.oauthToken(t, "")
	res := e.call(t, "GET", "/v1/designs/7", "authorization", "Bearer "+c2s, "x-credgate-subject", "spoofed")
	expectUpstream(t, res, map[string]string{"x-credgate-subject": "demo-client", "x-credgate-tenant": "acme",
		"x-credgate-scheme": "oauth2_bearer"}, "authorization")
	expectDenied(t, e.call(t, "GET", "/v1/designs/7", "authorization", "Bearer not-a-real-token"), 401, "invalid_token")
	expectDenied(t, e.call(t, "GET", "/v1/designs/7"), 401, "oauth2_bearer")
	// The S2S route wants a server-to-server token.
	expectDenied(t, e.call(t, "POST", "/v2/order", "authorization", "Bearer "+c2s), 403, "")
	t.Run("order needs one or both of visitorcode, customercode", func(t *testing.T) { testOrderCodes(t, e) })
	t.Run("zeamster contacts with developer-id", func(t *testing.T) { testZeamsterOAuth(t, e) })
}

// testZeamsterOAuth: Zeamster's OAuth is "available on most endpoints",
// /v2/contacts among them; the route still requires the developer-id, which
// must be the developer the token's client is registered under.
func testZeamsterOAuth(t *testing.T, e *clusterEnv) {
	tok := e.oauthToken(t, "")
	ok := map[string]string{"x-credgate-subject": "demo-client", "x-credgate-scheme": "oauth2_bearer", "x-credgate-tenant": "acme"}
	tests := []struct {
		name    string
		path    string
		headers []string
		status  int // 0: reaches the upstream
		body    string
	}{
		{name: "developer-id header", path: "/v2/contacts", headers: []string{"developer-id", "dev-1001"}},
		{name: "developer-id query", path: "/v2/contacts?developer-id=dev-1001&page=2"},
		{name: "no developer-id", path: "/v2/contacts", status: 401, body: "developer-id is missing"},
		{name: "another developer", path: "/v2/contacts", headers: []string{"developer-id", "dev-9999"}, status: 401, body: "invalid_token"},
		{name: "developer-id twice", path: "/v2/contacts?developer-id=dev-1001", headers: []string{"developer-id", "dev-9999"}, status: 400, body: ""},
		{name: "unknown token", path: "/v2/contacts", headers: []string{"authorization", "Bearer not-a-token", "developer-id", "dev-1001"}, status: 401, body: "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := append([]string{"authorization", "Bearer " + tok}, tc.headers...)
			if len(tc.headers) > 0 && tc.headers[0] == "authorization" {
				hs = tc.headers
			}
			res := e.call(t, "GET", tc.path, hs...)
			if tc.status != 0 {
				expectDenied(t, res, tc.status, tc.body)
				return
			}
			expectUpstream(t, res, ok, "authorization", "developer-id")
			if path, _ := res.UpstreamHeader(":path"); strings.Contains(path, "developer-id") {
				t.Errorf("upstream path %q still carries the developer-id", path)
			}
		})
	}
	// A client registered under no developer cannot call the route.
	if st, b := e.tc.Admin(t, "POST", "/admin/v1/oauth-clients", `{"id":"plain-client","tenant":"acme","secret":"plain-client-secret"}`); st != 201 {
		t.Fatalf("create client: %d %s", st, b)
	}
	st, b := e.tc.Do(t, "POST", "/token", "application/x-www-form-urlencoded", "grant_type=client_credentials",
		"Authorization", basic("plain-client:plain-client-secret"))
	if st != 200 {
		t.Fatalf("POST /token: %d %s", st, b)
	}
	plain := e.remember(jsonField(t, b, "access_token"))
	expectDenied(t, e.call(t, "GET", "/v2/contacts", "authorization", "Bearer "+plain, "developer-id", "dev-1001"), 401, "invalid_token")
	// The user API key still decides when its credentials are sent.
	expectUpstream(t, e.call(t, "GET", "/v2/contacts", "user-id", "user-42", "user-api-key", "demo-user-api-key", "developer-id", "dev-1001"),
		map[string]string{"x-credgate-scheme": "user_api_key"})
}

// testOrderCodes: Zakeke's order checkout takes a token bound to one or
// both of visitorcode and customercode (require_one_of_codes), never one
// bound to neither; a code sent with the request must be the token's.
func testOrderCodes(t *testing.T, e *clusterEnv) {
	tests := []struct {
		name    string
		form    string
		headers []string
		status  int // 0: reaches the upstream
		body    string
		seen    map[string]string
	}{
		{name: "visitorcode", form: "visitorcode=v-1", seen: map[string]string{"x-credgate-visitor": "v-1", "x-credgate-subject": "demo-client"}},
		{name: "customercode", form: "customercode=c-1", seen: map[string]string{"x-credgate-customer": "c-1", "x-credgate-scheme": "oauth2_bearer"}},
		{name: "both", form: "visitorcode=v-1&customercode=c-1", headers: []string{"customercode", "c-1"},
			seen: map[string]string{"x-credgate-visitor": "v-1", "x-credgate-customer": "c-1"}},
		{name: "neither", status: 403, body: `"error":"access_denied"`},
		{name: "neither, codes claimed by the request", headers: []string{"visitorcode", "v-1", "customercode", "c-1"}, status: 403, body: "visitorcode or a customercode"},
		{name: "another visitor claimed", form: "visitorcode=v-1", headers: []string{"visitorcode", "v-other"}, status: 401, body: "visitorcode"},
		{name: "another customer claimed", form: "customercode=c-1", headers: []string{"customercode", "c-other"}, status: 401, body: "customercode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.oauthToken(t, "access_type=S2S&"+tc.form)
			res := e.call(t, "POST", "/v2/order", append([]string{"authorization", "Bearer " + tok}, tc.headers...)...)
			if tc.status != 0 {
				expectDenied(t, res, tc.status, tc.body)
				return
			}
			expectUpstream(t, res, tc.seen, "authorization", "visitorcode", "customercode")
		})
	}
}

func testJWTOrOAuth2(t *testing.T, e *clusterEnv) {
	jwtTok := e.customerJWT(t)
	expectUpstream(t, e.call(t, "POST", "/Orders/Create", "authorization", "Bearer "+jwtTok),
		map[string]string{"x-credgate-subject": "customer-9", "x-credgate-scheme": "jwt"}, "authorization")
	expectUpstream(t, e.call(t, "POST", "/Orders/Create", "authorization", "Bearer "+e.oauthToken(t, "")),
		map[string]string{"x-credgate-scheme": "oauth2_bearer"})
	expectDenied(t, e.call(t, "POST", "/Orders/Create", "authorization", jwtTok), 401, "")
}

func testAPIKey(t *testing.T, e *clusterEnv) {
	res := e.call(t, "GET", "/Supplier/Products/List", "ApiKey", "demo-api-key-0001", "x-tenant", "acme")
	expectUpstream(t, res, map[string]string{"x-credgate-tenant": "acme", "x-credgate-scheme": "api_key"}, "apikey")
	expectUpstream(t, e.call(t, "GET", "/Supplier/Products/List", "APIKEY", "demo-api-key-0001", "x-tenant", "acme"), nil, "apikey")
	t.Run("every ApiKey failure answers -23", func(t *testing.T) { testAPIKeyFailures(t, e) })
	// The Supplier route admits acme and globex: initech's valid key is
	// forbidden, with its status as code.
	expectUpstream(t, e.call(t, "GET", "/Supplier/Products/List", "ApiKey", "demo-api-key-0002", "x-tenant", "globex"),
		map[string]string{"x-credgate-tenant": "globex"}, "apikey")
	expectDenied(t, e.call(t, "GET", "/Supplier/Products/List", "ApiKey", "demo-api-key-0003", "x-tenant", "initech"), 403, `"code":403`)
	// Valid key, but its tenant may not call the payment route.
	expectDenied(t, e.call(t, "POST", "/Payment/Capture", "ApiKey", "demo-api-key-0001", "x-tenant", "acme"), 403, "")
	expectUpstream(t, e.call(t, "POST", "/Payment/Capture", "ApiKey", "demo-api-key-0002", "x-tenant", "globex"),
		map[string]string{"x-credgate-tenant": "globex"})
}

// testAPIKeyFailures checks the platform's code -23 on each ApiKey failure it
// documents: missing, malformed, expired, revoked, or a key of another tenant
// (and unknown keys, which are invalid ones).
func testAPIKeyFailures(t *testing.T, e *clusterEnv) {
	expired := e.adminAPIKey(t, `"tenant":"acme","expires_at":"2020-01-01T00:00:00Z"`)
	revoked := e.adminAPIKey(t, `"tenant":"acme"`)
	expectUpstream(t, e.call(t, "GET", "/Supplier/Products/List", "ApiKey", revoked.secret, "x-tenant", "acme"), nil, "apikey")
	if st, b := e.tc.Admin(t, "DELETE", "/admin/v1/api-keys/"+revoked.id, ""); st != 200 {
		t.Fatalf("revoke: %d %s", st, b)
	}
	tests := []struct {
		name    string
		headers []string
	}{
		{"missing", []string{"x-tenant", "acme"}},
		{"missing, another scheme's credentials", []string{"authorization", "Bearer some-token", "x-tenant", "acme"}},
		{"malformed: empty", []string{"ApiKey", "", "x-tenant", "acme"}},
		{"malformed: space", []string{"ApiKey", "demo-api-key 0001", "x-tenant", "acme"}},
		{"malformed: too long", []string{"ApiKey", strings.Repeat("k", 9000), "x-tenant", "acme"}},
		{"unknown", []string{"ApiKey", "no-such-key", "x-tenant", "acme"}},
		{"expired", []string{"ApiKey", expired.secret, "x-tenant", "acme"}},
		{"revoked", []string{"ApiKey", revoked.secret, "x-tenant", "acme"}},
		{"wrong tenant", []string{"ApiKey", "demo-api-key-0001", "x-tenant", "globex"}},
		{"no tenant named", []string{"ApiKey", "demo-api-key-0001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Revocation reaches every VM within the feed's poll interval.
			if tc.name == "revoked" {
				eventuallyDenied(t, e, 401, "GET", "/Supplier/Products/List", tc.headers...)
			}
			res := e.call(t, "GET", "/Supplier/Products/List", tc.headers...)
			expectDenied(t, res, 401, `"code":-23`)
			if msg := jsonField(t, res.LocalResponse.Body, "message"); msg == "" {
				t.Fatalf("no message in %s", res.LocalResponse.Body)
			}
		})
	}
	// Not ApiKey failures: a valid key of a tenant the route does not allow
	// is 403 with its status as code.
	expectDenied(t, e.call(t, "POST", "/Payment/Capture", "ApiKey", "demo-api-key-0001", "x-tenant", "acme"), 403, `"code":403`)
}

// apiKey is a key created at the admin API.
type apiKey struct{ id, secret string }

// adminAPIKey creates an API key with the given JSON fields (besides id).
func (e *clusterEnv) adminAPIKey(t *testing.T, fields string) apiKey {
	t.Helper()
	id := "key-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	st, b := e.tc.Admin(t, "POST", "/admin/v1/api-keys", `{"id":"`+id+`",`+fields+`}`)
	if st != 201 {
		t.Fatalf("create api key: %d %s", st, b)
	}
	return apiKey{id: id, secret: e.remember(jsonField(t, b, "secrets", "secret"))}
}

func testUserKey(t *testing.T, e *clusterEnv) {
	want := map[string]string{"x-credgate-subject": "user-42", "x-credgate-scheme": "user_api_key"}
	expectUpstream(t, e.call(t, "GET", "/v2/contacts", "user-id", "user-42", "user-api-key", "demo-user-api-key", "developer-id", "dev-1001"),
		want, "user-api-key", "user-id")
	res := e.call(t, "GET", "/v2/contacts?"+q("user-id", "user-42", "user-api-key", "demo-user-api-key", "developer-id", "dev-1001", "page", "2"))
	expectUpstream(t, res, want)
	if path, _ := res.UpstreamHeader(":path"); path != "/v2/contacts?page=2" {
		t.Errorf("upstream path %q still carries credentials", path)
	}
	expectUpstream(t, e.call(t, "GET", "/v2/contacts?developer-id=dev-1001", "authorization", basic("user-42:demo-user-api-key")), want, "authorization")
	expectDenied(t, e.call(t, "GET", "/v2/contacts", "user-id", "user-42", "user-api-key", "demo-user-api-key"), 401, "developer")
	expectDenied(t, e.call(t, "GET", "/v2/contacts", "user-id", "user-42", "user-api-key", "wrong", "developer-id", "dev-1001"), 401, "")
	expectDenied(t, e.call(t, "GET", "/v2/contacts?"+q("user_id", "user-42", "user_api_key", "demo-user-api-key", "developer-id", "dev-1001")), 401, "")
}

func testSession(t *testing.T, e *clusterEnv) {
	tok := e.sessionToken(t)
	expectUpstream(t, e.call(t, "GET", "/v2/me", "access-token", tok), map[string]string{"x-credgate-subject": "user-42",
		"x-credgate-scheme": "session_token"}, "access-token")
	res := e.call(t, "GET", "/v2/me?access-token="+tok)
	expectUpstream(t, res, map[string]string{"x-credgate-subject": "user-42"})
	if path, _ := res.UpstreamHeader(":path"); path != "/v2/me" {
		t.Errorf("upstream path %q still carries the token", path)
	}
	expectDenied(t, e.call(t, "GET", "/v2/me", "access-token", "no-such-session"), 401, "")
	if st, b := e.tc.Do(t, "DELETE", "/v2/token/"+tok, "", ""); st != 204 {
		t.Fatalf("DELETE: %d %s", st, b)
	}
	eventuallyDenied(t, e, 401, "GET", "/v2/me", "access-token", tok)
}

func testHMAC(t *testing.T, e *clusterEnv) {
	now := time.Now()
	sig := hmacHeaders("user-42", "demo-user-hmac-key", now)
	expectUpstream(t, e.call(t, "GET", "/v2/accountvaults", sig...), map[string]string{"x-credgate-subject": "user-42",
		"x-credgate-scheme": "hmac"}, "hash-key")
	expectDenied(t, e.call(t, "GET", "/v2/accountvaults", sig...), 401, "") // replayed
	expectDenied(t, e.call(t, "GET", "/v2/accountvaults", hmacHeaders("user-42", "demo-user-hmac-key", now.Add(-16*time.Minute))...), 401, "")
	expectDenied(t, e.call(t, "GET", "/v2/accountvaults", hmacHeaders("user-42", "wrong-key", now.Add(time.Second))...), 401, "")
	expectDenied(t, e.call(t, "GET", "/v2/accountvaults", hmacHeaders("user-42", "demo-user-hmac-key", now.Add(10*time.Minute))...), 401, "")
	// HMAC is accepted only where a route lists it.
	expectDenied(t, e.call(t, "GET", "/v2/contacts", hmacHeaders("user-42", "demo-user-hmac-key", now.Add(2*time.Second))...), 401, "")
}

func testPublicKey(t *testing.T, e *clusterEnv) {
	expectUpstream(t, e.call(t, "GET", "/v0/products", "authorization", "demo-public-key"),
		map[string]string{"x-credgate-scheme": "public_key"}, "authorization")
	expectDenied(t, e.call(t, "GET", "/v0/products"), 401, `"message":"Authorization is missing"`)
	expectDenied(t, e.call(t, "GET", "/v0/orders", "authorization", "demo-public-key"), 401, `"status":false`)
	tok := e.publicKeyToken(t)
	expectUpstream(t, e.call(t, "GET", "/v0/orders", "authorization", "demo-public-key:"+tok),
		map[string]string{"x-credgate-scheme": "public_key_token"}, "authorization")
	expectDenied(t, e.call(t, "GET", "/v0/orders", "authorization", "demo-public-key:forged"), 401, `"type":"Unauthorized"`)
	// The token endpoint lives under /v0/ too: its anonymous route comes
	// first, so a client without a token can get one; the rest of /v0/ still
	// needs one.
	expectUpstream(t, e.call(t, "POST", "/v0/tokens", "content-type", "application/json"), nil)
	expectUpstream(t, e.call(t, "POST", "/tokens", "content-type", "application/json"), nil)
	expectDenied(t, e.call(t, "POST", "/v0/tokens/x"), 401, `"message":"Authorization is missing"`)
	expectDenied(t, e.call(t, "POST", "/v0/carts"), 401, `"message":"Authorization is missing"`)
}

func testDomainKey(t *testing.T, e *clusterEnv) {
	const msg = "Domain name and key are either incorrect or missing from the request Authorization header."
	expectUpstream(t, e.call(t, "GET", "/products/12", "authorization", basic("shop.acme.test|demo-domain-key")),
		map[string]string{"x-credgate-scheme": "domain_key"}, "authorization")
	expectDenied(t, e.call(t, "GET", "/products/12", "authorization", basic("shop.acme.test|wrong")), 403, msg)
	// Repeated on both VMs (round robin): a refusal cached on one VM, or
	// anything the shared layer holds, must never turn into an allow.
	for i := 0; i < 6; i++ {
		expectDenied(t, e.call(t, "GET", "/products/12", "authorization", basic("shop.acme.test|wrong-again")), 403, msg)
	}
	expectDenied(t, e.call(t, "GET", "/products/12", "authorization", basic("shop.acme.test|")), 403, msg)
	expectDenied(t, e.call(t, "GET", "/products/12"), 403, `"HasError":true`)
	// validate_auth_header false (Znode's ValidateAuthHeader=false): no
	// check, and the Authorization header goes upstream as sent.
	expectUpstream(t, e.call(t, "GET", "/paymentgateways"), map[string]string{"x-credgate-scheme": "domain_key_unchecked"}, "x-credgate-subject")
	wrong := basic("shop.acme.test|wrong")
	expectUpstream(t, e.call(t, "GET", "/paymentgateways", "authorization", wrong, "x-credgate-subject", "spoofed"),
		map[string]string{"authorization": wrong, "x-credgate-scheme": "domain_key_unchecked"}, "x-credgate-subject", "x-credgate-tenant")
}

func testSSO(t *testing.T, e *clusterEnv) {
	tok := e.ssoToken(t)
	res := e.call(t, "GET", "/v2/contactsso?sso-token="+tok)
	expectUpstream(t, res, map[string]string{"x-credgate-subject": "user-42", "x-credgate-scheme": "sso"})
	if path, _ := res.UpstreamHeader(":path"); path != "/v2/contactsso" {
		t.Errorf("upstream path %q still carries the token", path)
	}
	expectDenied(t, e.call(t, "GET", "/v2/contactsso?sso-token="+tok), 401, "")
}

// eventuallyDenied retries until a request is refused, at most one second
// after a revocation (the plugin polls the feed every 200 ms here).
func eventuallyDenied(t *testing.T, e *clusterEnv, status int, method, path string, headers ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		res := e.call(t, method, path, headers...)
		if res.LocalResponse != nil && res.LocalResponse.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not refused with %d one second after revocation", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
