// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// Demo credentials of tokencluster/testdata/credentials.json.
const (
	clientBasic   = "demo-client:demo-client-secret"
	userKey       = "demo-user-api-key"
	hmacKey       = "demo-user-hmac-key"
	domainKey     = "shop.acme.test|demo-domain-key"
	znodeMessage  = "Domain name and key are either incorrect or missing from the request Authorization header."
	formType      = "application/x-www-form-urlencoded"
	sessionLogin  = `{"username":"pea","password":"demo-password","domain":"demo.acme.test"}`
	partnerLogin  = `{"partner_id":"partner-7","partner_secret":"demo-partner-secret"}`
	customerLogin = `{"email":"customer@acme.test","password":"demo-customer-password"}`
	ssoRequest    = `{"user_id":"user-42","user_api_key":"demo-user-api-key","redirect_url":"https://app.example/v2/contactsso"}`
)

// spoof is sent with successful requests: the upstream must see the
// plugin's identity, never the client's.
var spoof = []string{"x-credgate-subject", "spoofed", "x-credgate-spoofed", "1"}

// demoJWT signs a customer token with envoy.yaml's demo key and extra
// header parameters; without them it would be accepted on /storefront/.
func demoJWT(header map[string]any) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "customer-9", "tenant": "acme", "scope": "profile", "iss": "credgate-tokencluster",
		"iat": time.Now().Add(-time.Minute).Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "demo-2026-01"
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString([]byte("demo-jwt-signing-secret-0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	return s
}

// wantAlg checks the JWS algorithm of the token saved as name.
func wantAlg(name, alg string) func(context.Context, *Env, State) error {
	return func(_ context.Context, _ *Env, s State) error {
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(s[name], ".")[0])
		if err != nil {
			return fmt.Errorf("token %s: %v", name, err)
		}
		if got := gjson.GetBytes(raw, "alg").String(); got != alg {
			return fmt.Errorf("token %s is signed with %q, want %s", name, got, alg)
		}
		return nil
	}
}

// manyHeaders returns n distinct header name/value pairs.
func manyHeaders(n int) []string {
	var out []string
	for i := range n {
		out = append(out, "x-h"+strconv.Itoa(i), "v")
	}
	return out
}

func with(h ...[]string) []string {
	var out []string
	for _, x := range h {
		out = append(out, x...)
	}
	return out
}

// Cases is the end-to-end table, on the seed APIs' own paths as routed by
// envoy/envoy.yaml. Cases run in order; the last one stops the token cluster.
var Cases = []Case{
	// Zakeke: OAuth2 client credentials, C2S on /v1/designs, S2S on /v2/order.
	{Name: "zakeke/c2s-token-then-designs", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials", "authorization", basic(clientBasic)),
			Want: Want{Status: 200, Body: `"token_type":"Bearer"`}, Save: map[string]string{"tok": "access_token"}},
		{Req: get("/v1/designs/7", with([]string{"authorization", "Bearer {tok}"}, spoof)...),
			Want: ok(identity("oauth2_bearer", "demo-client", "acme"), "authorization")},
	}},
	{Name: "zakeke/unknown-bearer", Steps: []Step{{Req: get("/v1/designs/7", "authorization", "Bearer not-a-real-token"),
		Want: denied(401, "invalid_token")}}},
	{Name: "zakeke/no-credentials", Steps: []Step{{Req: get("/v1/designs/7"), Want: denied(401, "oauth2_bearer")}}},
	{Name: "zakeke/s2s-token-then-order", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials&access_type=S2S&visitorcode=v-1", "authorization", basic(clientBasic)),
			Want: Want{Status: 200}, Save: map[string]string{"tok": "access_token"}},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}"),
			Want: ok(map[string]string{"x-credgate-visitor": "v-1", "x-credgate-subject": "demo-client"}, "authorization")},
		// A request may not claim another visitor than its token is bound to.
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}", "visitorcode", "v-other"),
			Want: denied(401, "visitorcode")},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}", "visitorcode", "v-1"),
			Want: ok(map[string]string{"x-credgate-visitor": "v-1"})},
	}},
	// Order checkout: "one or both" of visitorcode and customercode must be
	// passed, so the token must carry at least one (require_one_of_codes).
	{Name: "zakeke/s2s-customercode-then-order", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials&access_type=S2S&customercode=c-1", "authorization", basic(clientBasic)),
			Want: Want{Status: 200}, Save: map[string]string{"tok": "access_token"}},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}", "customercode", "c-1"),
			Want: ok(map[string]string{"x-credgate-customer": "c-1", "x-credgate-scheme": "oauth2_bearer"}, "authorization", "customercode")},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}", "customercode", "c-other"),
			Want: denied(401, "customercode")},
	}},
	{Name: "zakeke/s2s-both-codes-then-order", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials&access_type=S2S&visitorcode=v-1&customercode=c-1",
			"authorization", basic(clientBasic)), Want: Want{Status: 200}, Save: map[string]string{"tok": "access_token"}},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}"),
			Want: ok(map[string]string{"x-credgate-customer": "c-1", "x-credgate-visitor": "v-1"}, "authorization")},
	}},
	{Name: "zakeke/s2s-token-without-codes-on-order", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials&access_type=S2S", "authorization", basic(clientBasic)),
			Want: Want{Status: 200}, Save: map[string]string{"tok": "access_token"}},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}", "visitorcode", "v-1"),
			Want: denied(403, `"error":"access_denied"`)},
		// Not the order route: designs take any valid token.
		{Req: get("/v1/designs/7", "authorization", "Bearer {tok}"), Want: ok(identity("oauth2_bearer", "demo-client", "acme"))},
	}},
	{Name: "zakeke/c2s-token-on-s2s-route", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials", "authorization", basic(clientBasic)),
			Want: Want{Status: 200}, Save: map[string]string{"tok": "access_token"}},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}"), Want: denied(403, "")},
	}},
	{Name: "token/wrong-client-secret", Steps: []Step{{Req: post("/token", formType, "grant_type=client_credentials",
		"authorization", basic("demo-client:wrong")), Want: denied(401, "invalid_client")}}},

	// Zeamster: user API keys with developer-id, HMAC, session tokens, SSO.
	{Name: "zeamster/user-api-key-headers", Steps: []Step{{Req: get("/v2/contacts",
		with([]string{"user-id", "user-42", "user-api-key", userKey, "developer-id", "dev-1001"}, spoof)...),
		Want: ok(identity("user_api_key", "user-42", "acme"), "user-api-key")}}},
	{Name: "zeamster/user-api-key-query-stripped", Steps: []Step{{
		Req:  get("/v2/contacts?user-id=user-42&user-api-key=" + userKey + "&developer-id=dev-1001&page=2"),
		Want: Want{Status: 200, Seen: identity("user_api_key", "user-42", ""), Path: "/v2/contacts?page=2"}}}},
	{Name: "zeamster/user-api-key-basic", Steps: []Step{{Req: get("/v2/contacts?developer-id=dev-1001", "authorization", basic("user-42:"+userKey)),
		Want: ok(identity("user_api_key", "user-42", ""), "authorization")}}},
	{Name: "zeamster/missing-developer-id", Steps: []Step{{Req: get("/v2/contacts", "user-id", "user-42", "user-api-key", userKey),
		Want: denied(401, "developer")}}},
	{Name: "zeamster/wrong-user-api-key", Steps: []Step{{Req: get("/v2/contacts", "user-id", "user-42", "user-api-key", "wrong",
		"developer-id", "dev-1001"), Want: denied(401, "")}}},
	// Zeamster OAuth, "available on most endpoints": a bearer token of a
	// client registered under the developer, with the developer-id the
	// routes still require.
	{Name: "zeamster/oauth2-bearer-contacts", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials", "authorization", basic(clientBasic)),
			Want: Want{Status: 200}, Save: map[string]string{"tok": "access_token"}},
		{Req: get("/v2/contacts", with([]string{"authorization", "Bearer {tok}", "developer-id", "dev-1001"}, spoof)...),
			Want: ok(identity("oauth2_bearer", "demo-client", "acme"), "authorization", "developer-id")},
		{Req: get("/v2/contacts?developer-id=dev-1001&page=2", "authorization", "Bearer {tok}"),
			Want: Want{Status: 200, Seen: identity("oauth2_bearer", "demo-client", "acme"), Path: "/v2/contacts?page=2"}},
		{Req: get("/v2/transactions", "authorization", "Bearer {tok}", "developer-id", "dev-1001"),
			Want: ok(identity("oauth2_bearer", "demo-client", "acme"), "authorization")},
		{Req: get("/v2/contacts", "authorization", "Bearer {tok}"), Want: denied(401, "developer-id is missing")},
		{Req: get("/v2/contacts", "authorization", "Bearer {tok}", "developer-id", "dev-9999"), Want: denied(401, "invalid_token")},
	}},
	{Name: "zeamster/oauth2-bearer-unknown-token", Steps: []Step{{Req: get("/v2/contacts", "authorization", "Bearer not-a-real-token",
		"developer-id", "dev-1001"), Want: denied(401, "invalid_token")}}},
	{Name: "zeamster/no-credentials-names-oauth2", Steps: []Step{{Req: get("/v2/contacts"), Want: denied(401, "oauth2_bearer")}}},
	{Name: "zeamster/hmac-then-replay", Steps: []Step{
		{Prepare: signHMAC("user-42", hmacKey, 0), Req: get("/v2/accountvaults", with([]string{"user-id", "user-42",
			"timestamp", "{ts}", "hash-key", "{sig}"}, spoof)...), Want: ok(identity("hmac", "user-42", "acme"), "hash-key")},
		{Req: get("/v2/accountvaults", "user-id", "user-42", "timestamp", "{ts}", "hash-key", "{sig}"), Want: denied(401, "")},
	}},
	{Name: "zeamster/hmac-stale-timestamp", Steps: []Step{{Prepare: signHMAC("user-42", hmacKey, -16*time.Minute),
		Req: get("/v2/transactions", "user-id", "user-42", "timestamp", "{ts}", "hash-key", "{sig}"), Want: denied(401, "")}}},
	{Name: "zeamster/hmac-wrong-key", Steps: []Step{{Prepare: signHMAC("user-42", "wrong-key", time.Second),
		Req: get("/v2/accountvaults", "user-id", "user-42", "timestamp", "{ts}", "hash-key", "{sig}"), Want: denied(401, "")}}},
	{Name: "zeamster/hmac-not-accepted-on-contacts", Steps: []Step{{Prepare: signHMAC("user-42", hmacKey, 2*time.Second),
		Req: get("/v2/contacts", "user-id", "user-42", "timestamp", "{ts}", "hash-key", "{sig}"), Want: denied(401, "")}}},
	{Name: "zeamster/session-login-use-delete-refused", Steps: []Step{
		{Req: postJSON("/v2/token", sessionLogin), Want: Want{Status: 200, Body: `"username":"pea"`}, Save: map[string]string{"tok": "token.token"}},
		{Req: get("/v2/contacts", with([]string{"access-token", "{tok}"}, spoof)...),
			Want: ok(identity("session_token", "user-42", "acme"), "access-token")},
		{Req: Req{Method: "DELETE", Path: "/v2/token/{tok}"}, Want: Want{Status: 204}},
		{Req: get("/v2/contacts", "access-token", "{tok}"), Want: denied(401, ""), Within: 1500 * time.Millisecond},
		{Req: Req{Method: "POST", Path: "/introspect", ContentType: formType, Body: "token={tok}", ToCluster: true},
			Want: Want{Status: 200, Body: `"active":false`}},
	}},
	{Name: "zeamster/session-wrong-password", Steps: []Step{{Req: postJSON("/v2/token",
		`{"username":"pea","password":"wrong","domain":"demo.acme.test"}`), Want: denied(401, "")}}},
	{Name: "zeamster/sso-link-used-twice", Steps: []Step{
		{Req: postJSON("/v1/sso", ssoRequest), Want: Want{Status: 200, Body: "sso-token="}, Save: map[string]string{"tok": "sso_token"}},
		{Req: get("/v2/contactsso?sso-token={tok}"), Want: Want{Status: 200, Seen: identity("sso", "user-42", "acme"), Path: "/v2/contactsso"}},
		{Req: get("/v2/contactsso?sso-token={tok}"), Want: denied(401, "")},
		{Req: Req{Method: "POST", Path: "/v1/verify", ContentType: "application/json", Body: `{"kind":"sso","credential":"{tok}"}`,
			ToCluster: true}, Want: Want{Status: 200, Body: `"reason":"consumed"`}},
	}},

	// Marketcloud: public key for reads, public-key:token from POST /v0/tokens
	// (the documented path; /tokens is an alias).
	{Name: "marketcloud/public-key-read", Steps: []Step{{Req: get("/v0/products", with([]string{"authorization", "demo-public-key"}, spoof)...),
		Want: ok(identity("public_key", "", "acme"), "authorization")}}},
	{Name: "marketcloud/missing-key", Steps: []Step{{Req: get("/v0/products"), Want: denied(401, `"message":"Authorization is missing"`)}}},
	{Name: "marketcloud/public-key-alone-on-orders", Steps: []Step{{Req: get("/v0/orders", "authorization", "demo-public-key"),
		Want: denied(401, `"status":false`)}}},
	{Name: "marketcloud/tokens-then-orders", Steps: []Step{
		{Prepare: marketcloudProof("demo-secret-key"), Req: postJSON("/v0/tokens", `{"publicKey":"demo-public-key","secretKey":"{proof}","timestamp":{ts}}`),
			Want: Want{Status: 200, Body: `"status":true`}, Save: map[string]string{"tok": "token"}},
		{Req: get("/v0/orders", "authorization", "demo-public-key:{tok}"), Want: ok(identity("public_key_token", "", "acme"), "authorization")},
	}},
	{Name: "marketcloud/tokens-alias-then-orders", Steps: []Step{
		{Prepare: marketcloudProof("demo-secret-key"), Req: postJSON("/tokens", `{"publicKey":"demo-public-key","secretKey":"{proof}","timestamp":{ts}}`),
			Want: Want{Status: 200, Body: `"status":true`}, Save: map[string]string{"tok": "token"}},
		{Req: get("/v0/orders", "authorization", "demo-public-key:{tok}"), Want: ok(identity("public_key_token", "", "acme"), "authorization")},
	}},
	// The token endpoint answers in Marketcloud's envelope, from the token
	// cluster (not the plugin's 401 of the /v0/ route).
	{Name: "marketcloud/v0-tokens-wrong-secret", Steps: []Step{
		{Prepare: marketcloudProof("wrong-secret"), Req: postJSON("/v0/tokens", `{"publicKey":"demo-public-key","secretKey":"{proof}","timestamp":{ts}}`),
			Want: denied(401, `"status":false`)},
	}},
	{Name: "marketcloud/forged-token", Steps: []Step{{Req: get("/v0/orders", "authorization", "demo-public-key:forged"),
		Want: denied(401, `"type":"Unauthorized"`)}}},

	// The JWT/ApiKey platform.
	{Name: "platform/partner-token-then-order", Steps: []Step{
		{Req: postJSON("/v1/partners/token", partnerLogin), Want: Want{Status: 200}, Save: map[string]string{"tok": "token"}},
		{Req: post("/Orders/Create", "application/json", `{}`, with([]string{"authorization", "Bearer {tok}"}, spoof)...),
			Want: ok(identity("jwt", "partner-7", "acme"), "authorization")},
	}},
	{Name: "jwt/rs256-from-the-token-cluster-key-set", Steps: []Step{
		{Req: postJSON("/v1/partners/token", partnerLogin), Want: Want{Status: 200}, Save: map[string]string{"tok": "token"}},
		{Action: wantAlg("tok", "RS256")},
		{Req: post("/Orders/Create", "application/json", `{}`, "authorization", "Bearer {tok}", "x-credgate-jwt-kind", "spoofed"),
			Want: ok(map[string]string{"x-credgate-subject": "partner-7", "x-credgate-scheme": "jwt", "x-credgate-jwt-kind": "partner"}, "authorization")},
	}},
	// A key created at the token cluster signs the next tokens; the plugin
	// fetches the key set when it meets the new kid, without a restart or a
	// configuration change. The keys are revoked afterwards.
	{Name: "jwt/key-rotation-without-restart", Steps: []Step{
		{Prepare: func(s State) { s["run"] = strconv.FormatInt(time.Now().UnixNano(), 36) },
			Req: admin("POST", "/admin/v1/signing-keys", `{"id":"e2e-es256-{run}","alg":"ES256"}`), Want: Want{Status: 201}},
		{Req: postJSON("/v1/partners/token", partnerLogin), Want: Want{Status: 200}, Save: map[string]string{"tok": "token"}},
		{Action: wantAlg("tok", "ES256")},
		// Within the key sets' refetch interval (5 s): a VM that fetched
		// its set a moment ago waits that long before fetching again.
		{Req: post("/Orders/Create", "application/json", `{}`, "authorization", "Bearer {tok}"),
			Want: ok(identity("jwt", "partner-7", "acme"), "authorization"), Within: 15 * time.Second},
		{Req: admin("DELETE", "/admin/v1/signing-keys/e2e-es256-{run}", ""), Want: Want{Status: 200}},
	}},
	{Name: "platform/customer-jwt-lacks-partner-scope", Steps: []Step{
		{Req: postJSON("/v1/customers/login", customerLogin), Want: Want{Status: 200}, Save: map[string]string{"tok": "token"}},
		{Req: post("/Orders/Create", "application/json", `{}`, "authorization", "Bearer {tok}"), Want: denied(403, "")},
	}},
	{Name: "platform/customer-login-then-storefront", Steps: []Step{
		{Req: postJSON("/v1/customers/login", customerLogin), Want: Want{Status: 200}, Save: map[string]string{"tok": "token"}},
		{Req: get("/storefront/profile", with([]string{"authorization", "Bearer {tok}"}, spoof)...),
			Want: ok(identity("jwt", "customer-9", "acme"), "authorization")},
	}},
	{Name: "platform/storefront-forged-jwt", Steps: []Step{{Req: get("/storefront/profile", "authorization",
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA"), Want: denied(401, "")}}},
	{Name: "platform/apikey-supplier", Steps: []Step{{Req: get("/Supplier/Products/List", with([]string{"ApiKey", "demo-api-key-0001",
		"x-tenant", "acme"}, spoof)...), Want: ok(identity("api_key", "", "acme"), "apikey")}}},
	{Name: "platform/apikey-other-tenant", Steps: []Step{{Req: get("/Supplier/Products/List", "ApiKey", "demo-api-key-0001",
		"x-tenant", "globex"), Want: denied(401, `"code":-23`)}}},
	// Code -23: the ApiKey header is missing, malformed, expired, revoked,
	// or the key does not belong to the requested tenant.
	{Name: "platform/apikey-unknown", Steps: []Step{{Req: get("/Supplier/Products/List", "ApiKey", "no-such-key", "x-tenant", "acme"),
		Want: denied(401, `"code":-23`)}}},
	{Name: "platform/apikey-missing", Steps: []Step{{Req: get("/Supplier/Products/List", "x-tenant", "acme"),
		Want: denied(401, `"code":-23`)}}},
	{Name: "platform/apikey-malformed", Steps: []Step{{Req: get("/Supplier/Products/List", "ApiKey", "demo-api-key 0001", "x-tenant", "acme"),
		Want: denied(401, `"code":-23`)}}},
	{Name: "platform/apikey-expired", Steps: []Step{
		{Prepare: uniqueID("e2e-expired-"), Req: admin("POST", "/admin/v1/api-keys",
			`{"id":"{id}","tenant":"acme","expires_at":"2020-01-01T00:00:00Z"}`),
			Want: Want{Status: 201}, Save: map[string]string{"key": "secrets.secret"}},
		{Req: get("/Supplier/Products/List", "ApiKey", "{key}", "x-tenant", "acme"), Want: denied(401, `"code":-23`)},
	}},
	{Name: "platform/apikey-revoked", Steps: []Step{
		{Prepare: uniqueID("e2e-revoked-"), Req: admin("POST", "/admin/v1/api-keys", `{"id":"{id}","tenant":"acme"}`),
			Want: Want{Status: 201}, Save: map[string]string{"key": "secrets.secret"}},
		{Req: get("/Supplier/Products/List", "ApiKey", "{key}", "x-tenant", "acme"), Want: ok(identity("api_key", "{id}", "acme"), "apikey")},
		{Req: admin("DELETE", "/admin/v1/api-keys/{id}", ""), Want: Want{Status: 200}},
		{Req: get("/Supplier/Products/List", "ApiKey", "{key}", "x-tenant", "acme"), Want: denied(401, `"code":-23`), Within: 1500 * time.Millisecond},
	}},
	// A valid key of a tenant the Supplier route does not admit: 403.
	{Name: "platform/apikey-supplier-tenant-not-allowed", Steps: []Step{{Req: get("/Supplier/Products/List",
		"ApiKey", "demo-api-key-0003", "x-tenant", "initech"), Want: denied(403, `"code":403`)}}},
	{Name: "platform/apikey-supplier-second-tenant", Steps: []Step{{Req: get("/Supplier/Products/List",
		"ApiKey", "demo-api-key-0002", "x-tenant", "globex"), Want: ok(identity("api_key", "globex-key", "globex"), "apikey")}}},
	{Name: "platform/apikey-payment", Steps: []Step{{Req: post("/Payment/Capture", "application/json", `{}`, "ApiKey", "demo-api-key-0001",
		"x-tenant", "acme"), Want: ok(identity("api_key", "", "acme"), "apikey")}}},
	{Name: "platform/apikey-payment-tenant-not-allowed", Steps: []Step{{Req: post("/Payment/Capture", "application/json", `{}`,
		"ApiKey", "demo-api-key-0002", "x-tenant", "globex"), Want: denied(403, "")}}},

	// Znode: Basic base64(domain|key).
	{Name: "znode/domain-key-product", Steps: []Step{{Req: get("/products/12", with([]string{"authorization", basic(domainKey)}, spoof)...),
		Want: ok(identity("domain_key", "", "acme"), "authorization")}}},
	{Name: "znode/domain-key-paymentgateways", Steps: []Step{{Req: get("/paymentgateways", "authorization", basic(domainKey)),
		Want: ok(identity("domain_key", "", "acme"), "authorization")}}},
	{Name: "znode/wrong-key", Steps: []Step{{Req: get("/products/12", "authorization", basic("shop.acme.test|wrong")),
		Want: denied(403, znodeMessage)}}},
	{Name: "znode/missing", Steps: []Step{{Req: get("/paymentgateways"), Want: denied(403, `"HasError":true`)}}},
	// ValidateAuthHeader=false (validate_auth_header: false) on /categories:
	// no domain key is needed, and the Authorization header, whatever it
	// holds, goes upstream as sent (the upstream checks it, as Znode does).
	{Name: "znode/validate-auth-header-off", Steps: []Step{
		{Req: get("/categories/3", spoof...), Want: ok(map[string]string{"x-credgate-scheme": "domain_key_unchecked"}, "x-credgate-subject")},
		{Req: get("/categories", "authorization", basic("shop.acme.test|wrong")),
			Want: Want{Status: 200, Seen: map[string]string{"authorization": basic("shop.acme.test|wrong")}}},
		// The switch is per route: the products route still checks.
		{Req: get("/products/12"), Want: denied(403, znodeMessage)},
	}},

	// Trust gaps: one canonical path, one value per credential, nothing
	// unverified upstream.
	{Name: "trust/encoded-unreserved-path-refused", Steps: []Step{{Req: post("/v2/%6frder", "application/json", `{}`,
		"user-id", "user-42", "user-api-key", userKey, "developer-id", "dev-1001"), Want: refused(400, 401, 403)}}},
	{Name: "trust/path-parameter-refused", Steps: []Step{{Req: get("/v0/products/..;/orders", "authorization", "demo-public-key"),
		Want: refused(400, 403, 404)}}},
	{Name: "trust/visitorcode-given-twice", Steps: []Step{
		{Req: post("/token", formType, "grant_type=client_credentials&access_type=S2S&visitorcode=v-1", "authorization", basic(clientBasic)),
			Want: Want{Status: 200}, Save: map[string]string{"tok": "access_token"}},
		{Req: post("/v2/order?visitorcode=v-2", "application/json", `{}`, "authorization", "Bearer {tok}", "visitorcode", "v-1"),
			Want: denied(400, "more than once")},
		{Req: post("/v2/order", "application/json", `{}`, "authorization", "Bearer {tok}", "visitorcode", "v-1", "visitorcode", "v-2"),
			Want: denied(400, "more than once")},
		{Req: post("/v2/order?visitorcode=v-1&visitorcode=v-2", "application/json", `{}`, "authorization", "Bearer {tok}"),
			Want: denied(400, "more than once")},
	}},
	{Name: "trust/hmac-with-another-users-keys", Steps: []Step{
		{Prepare: signHMAC("user-42", hmacKey, 3*time.Second), Req: get("/v2/payform?user-id=victim&user-api-key=forged",
			"user-id", "user-42", "timestamp", "{ts}", "hash-key", "{sig}"), Want: denied(400, "more than once")},
		{Prepare: signHMAC("user-42", hmacKey, 4*time.Second), Req: get("/v2/payform?user-api-key=forged&page=1",
			"user-id", "user-42", "timestamp", "{ts}", "hash-key", "{sig}"),
			Want: Want{Status: 200, Seen: identity("hmac", "user-42", "acme"), NotSeen: []string{"hash-key"}, Path: "/v2/payform?page=1"}},
	}},
	{Name: "trust/user-keys-with-forged-access-token", Steps: []Step{{Req: get("/v2/contacts",
		"user-id", "user-42", "user-api-key", userKey, "developer-id", "dev-1001", "access-token", "forged"),
		Want: ok(identity("user_api_key", "user-42", "acme"), "access-token", "user-api-key")}}},
	{Name: "trust/api-key-with-foreign-bearer", Steps: []Step{{Req: get("/Supplier/Products/List",
		"ApiKey", "demo-api-key-0001", "x-tenant", "acme", "authorization", "Bearer other"),
		Want: ok(identity("api_key", "", "acme"), "authorization", "apikey")}}},
	{Name: "trust/semicolon-in-query-refused", Steps: []Step{{Req: get("/v2/contacts?x=1;user-id=admin",
		"user-id", "user-42", "user-api-key", userKey, "developer-id", "dev-1001"), Want: denied(400, "more than once")}}},
	{Name: "trust/query-credential-in-two-cases", Steps: []Step{{Req: get("/v2/contacts?user-id=user-42&user-api-key=" + userKey +
		"&developer-id=dev-1001&USER-ID=victim"), Want: denied(400, "more than once")}}},
	{Name: "trust/method-override-refused", Steps: []Step{
		{Req: get("/v0/products", "authorization", "demo-public-key", "X-HTTP-Method-Override", "DELETE"), Want: refused(400)},
		{Req: get("/v0/products?_method=DELETE", "authorization", "demo-public-key"), Want: refused(400)},
	}},
	{Name: "trust/verify-api-needs-the-credential", Steps: []Step{{Req: Req{Method: "POST", Path: "/v1/verify",
		ContentType: "application/json", Body: `{"kind":"hmac_key","user_id":"user-42"}`, ToCluster: true, NoCredential: true},
		Want: denied(401, "verify")}}},
	{Name: "trust/jwt-with-crit-refused", Steps: []Step{
		{Req: get("/storefront/profile", "authorization", "Bearer "+demoJWT(nil)), Want: ok(identity("jwt", "customer-9", "acme"))},
		{Req: get("/storefront/profile", "authorization", "Bearer "+demoJWT(map[string]any{"crit": []any{"exp"}})), Want: denied(401, "")},
	}},
	{Name: "trust/jwt-with-foreign-typ-refused", Steps: []Step{{Req: get("/storefront/profile",
		"authorization", "Bearer "+demoJWT(map[string]any{"typ": "secevent+jwt"})), Want: denied(401, "")}}},
	// storefront's policy is bound to envoy.yaml's route of that name, which
	// matches without case: Envoy's route table selects the policy.
	{Name: "envoy/route-bound-policy", Steps: []Step{
		{Req: get("/Storefront/profile", "authorization", "Bearer "+demoJWT(nil)), Want: ok(identity("jwt", "customer-9", "acme"))},
		{Req: get("/STOREFRONT/profile"), Want: denied(401, "")},
	}},
	// envoy.yaml's RBAC filter decides on the identity the plugin publishes
	// as filter state: a verified but blocked subject or suspended tenant
	// is refused after the plugin.
	{Name: "envoy/rbac-on-published-identity", Steps: []Step{
		{Req: get("/storefront/profile", "authorization", "Bearer "+demoJWTFor("customer-blocked", "acme")), Want: denied(403, "RBAC: access denied")},
		{Req: get("/storefront/profile", "authorization", "Bearer "+demoJWTFor("customer-10", "suspended")), Want: denied(403, "RBAC: access denied")},
		{Req: get("/storefront/profile", "authorization", "Bearer "+demoJWTFor("customer-10", "globex")), Want: ok(identity("jwt", "customer-10", "globex"))},
	}},
	{Name: "trust/login-brute-force-throttled", Steps: []Step{
		{Req: postJSON("/v2/token", `{"username":"throttle-probe","password":"wrong","domain":"demo.acme.test"}`), Want: denied(401, "")},
		{Req: postJSON("/v2/token", `{"username":"throttle-probe","password":"wrong","domain":"demo.acme.test"}`), Want: denied(401, "")},
		{Req: postJSON("/v2/token", `{"username":"throttle-probe","password":"wrong","domain":"demo.acme.test"}`), Want: denied(401, "")},
		{Req: postJSON("/v2/token", `{"username":"throttle-probe","password":"wrong","domain":"demo.acme.test"}`), Want: denied(401, "")},
		{Req: postJSON("/v2/token", `{"username":"throttle-probe","password":"wrong","domain":"demo.acme.test"}`), Want: denied(401, "")},
		{Req: postJSON("/v2/token", `{"username":"throttle-probe","password":"wrong","domain":"demo.acme.test"}`), Want: denied(429, "too_many_attempts")},
	}},
	{Name: "trust/sso-redirect-to-an-unregistered-host", Steps: []Step{{Req: postJSON("/v1/sso",
		`{"user_id":"user-42","user_api_key":"demo-user-api-key","redirect_url":"https://evil.example/v2/contactsso"}`),
		Want: denied(400, "redirect_url")}}},
	{Name: "trust/tenant-given-twice", Steps: []Step{{Req: get("/Supplier/Products/List",
		"ApiKey", "demo-api-key-0001", "x-tenant", "globex", "x-tenant", "acme"), Want: refused(400)}}},

	// Envoy's limits before any filter: at most 100 headers, 60 KiB of them.
	{Name: "edge/too-many-headers", Steps: []Step{{Req: get("/healthz", manyHeaders(101)...), Want: refused(431)}}},
	{Name: "edge/headers-too-large", Steps: []Step{{Req: get("/healthz", "x-big", strings.Repeat("b", 61<<10)), Want: refused(431)}}},

	// A header name with an underscore reads as a dash to CGI, WSGI, PHP and
	// Rack upstreams: envoy.yaml refuses such requests at the edge.
	{Name: "identity/underscore-spoof-refused", Steps: []Step{
		{Req: get("/healthz", "x_credgate_subject", "admin"), Want: denied(400, "")},
		{Req: get("/v0/products", "authorization", "demo-public-key", "X_Credgate_Tenant", "evil"), Want: denied(400, "")},
	}},

	// Anonymous routes still drop spoofed identity headers.
	{Name: "anonymous/spoofed-identity-dropped", Steps: []Step{{Req: get("/healthz", spoof...),
		Want: ok(nil, "x-credgate-subject")}}},

	// Concurrent clients share the VMs, caches and token cluster.
	{Name: "concurrency/parallel-requests", Steps: []Step{
		{Req: get("/Supplier/Products/List", "ApiKey", "demo-api-key-0001", "x-tenant", "acme"), Parallel: 32,
			Want: ok(identity("api_key", "demo-key", "acme"), "apikey")},
		{Req: get("/v2/contacts", "user-id", "user-42", "user-api-key", userKey, "developer-id", "dev-1001"), Parallel: 32,
			Want: ok(identity("user_api_key", "user-42", "acme"), "user-api-key")},
	}},

	// Revocation: a key created and used, revoked at the admin API, is
	// refused within about a second (the plugin polls the feed every
	// 500 ms; the bound leaves room for a loaded machine).
	{Name: "admin/revoked-key-refused", Steps: []Step{
		{Prepare: uniqueID("e2e-"), Req: admin("POST", "/admin/v1/api-keys", `{"id":"{id}","tenant":"acme","scopes":["catalog:read"]}`),
			Want: Want{Status: 201}, Save: map[string]string{"key": "secrets.secret"}},
		{Req: get("/Supplier/Products/List", "ApiKey", "{key}", "x-tenant", "acme"), Want: ok(identity("api_key", "{id}", "acme"), "apikey")},
		// Used for a while on every VM, so that each follows the revocation
		// feed and answers the key from its cache when it is revoked.
		{Req: get("/Supplier/Products/List", "ApiKey", "{key}", "x-tenant", "acme"), Want: Want{Status: 200}, For: 1200 * time.Millisecond},
		{Req: admin("DELETE", "/admin/v1/api-keys/{id}", ""), Want: Want{Status: 200}},
		{Req: get("/Supplier/Products/List", "ApiKey", "{key}", "x-tenant", "acme"), Want: denied(401, ""), Within: 1500 * time.Millisecond},
		{Req: admin("GET", "/admin/v1/api-keys/{id}", ""), Want: Want{Status: 200, Body: `"revoked":true`}},
	}},

	// The token cluster down: lookups fail closed, issuance gets the router's 503.
	{Name: "tokencluster/stopped-503", NeedsOwnCluster: true, Steps: []Step{
		{Action: func(ctx context.Context, e *Env, s State) error { return e.StopTokenCluster() }},
		{Req: get("/Supplier/Products/List", "ApiKey", "never-cached-key", "x-tenant", "acme"), Want: denied(503, "")},
		{Req: post("/token", formType, "grant_type=client_credentials", "authorization", basic(clientBasic)), Want: denied(503, "")},
	}},
}
