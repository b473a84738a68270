// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/server"
)

func pkRequest(publicKey, secretKey string, ts time.Time) tokenapi.PublicKeyTokenRequest {
	ms := ts.UnixMilli()
	return tokenapi.PublicKeyTokenRequest{PublicKey: publicKey, Timestamp: ms,
		SecretKey: secret.Digest(secretKey + fmt.Sprint(ms))}
}

func TestPublicKeyToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Marketcloud documents POST /v0/tokens; /tokens stays as an alias.
	var tok string
	for _, path := range []string{"/v0/tokens", "/tokens"} {
		resp := e.postJSON(path, pkRequest("demo-public-key", "demo-secret-key", t0.Add(-time.Minute)))
		wantStatus(t, resp, http.StatusOK)
		m := resp.json(t)
		wantField(t, m, "status", true)
		tok = m["token"].(string)
	}
	if resp := e.do("GET", "/v0/tokens", "", ""); resp.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v0/tokens: %d, want 405", resp.status)
	}

	v := e.verify(tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "demo-public-key", Credential: tok})
	for k, want := range map[string]any{"active": true, "app_id": "demo-public-key", "tenant": "acme",
		"expires_at": t0.Add(time.Hour).Unix(), "digest": tokenapi.Digest(tok)} {
		wantField(t, v, k, want)
	}
	v = e.verify(tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "other-key", Credential: tok})
	wantField(t, v, "reason", "mismatch")

	tests := []struct {
		name   string
		body   any
		status int
		typ    string
	}{
		{name: "wrong secret", body: pkRequest("demo-public-key", "wrong", t0), status: 401, typ: "Unauthorized"},
		{name: "unknown key", body: pkRequest("nope", "demo-secret-key", t0), status: 401, typ: "Unauthorized"},
		{name: "old timestamp", body: pkRequest("demo-public-key", "demo-secret-key", t0.Add(-6*time.Minute)), status: 401, typ: "Unauthorized"},
		{name: "future timestamp", body: pkRequest("demo-public-key", "demo-secret-key", t0.Add(6*time.Minute)), status: 401, typ: "Unauthorized"},
		{name: "missing timestamp", body: `{"publicKey":"demo-public-key","secretKey":"x"}`, status: 400, typ: "BadRequest"},
		{name: "malformed", body: `{"publicKey":`, status: 400, typ: "BadRequest"},
		{name: "unknown field", body: `{"publicKey":"a","secretKey":"b","timestamp":1,"x":1}`, status: 400, typ: "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.postJSON("/v0/tokens", tc.body)
			wantStatus(t, resp, tc.status)
			m := resp.json(t)
			wantField(t, m, "status", false)
			errs := m["errors"].([]any)
			first := errs[0].(map[string]any)
			wantField(t, first, "code", tc.status)
			wantField(t, first, "type", tc.typ)
			if first["message"] == "" {
				t.Fatal("empty message")
			}
		})
	}
	e.clock.Advance(time.Hour)
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "demo-public-key", Credential: tok}),
		"reason", "unknown")
}

func parseJWT(t *testing.T, e *env, token string, keys map[string]string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	// HS256 keys as given; asymmetric ones from the published key set.
	published, err := keyfunc(e.do(http.MethodGet, "/.well-known/jwks.json", "", "").body)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		kid := tok.Header["kid"].(string)
		if tok.Method.Alg() == "HS256" {
			return []byte(keys[kid]), nil
		}
		return published[kid], nil
	}, jwt.WithValidMethods([]string{"HS256", "RS256", "ES256", "EdDSA"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(e.clock.Now))
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	return claims
}

func TestJWTIssuance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keys := map[string]string{"demo-2026-01": "demo-jwt-signing-secret-0123456789abcdef"}
	resp := e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "partner-7", PartnerSecret: "demo-partner-secret"})
	wantStatus(t, resp, http.StatusOK)
	m := resp.json(t)
	wantField(t, m, "token_type", "Bearer")
	wantField(t, m, "expires_in", 3600)
	claims := parseJWT(t, e, m["token"].(string), keys)
	for k, v := range map[string]any{"sub": "partner-7", "tenant": "acme", "scope": "partner:orders", "kind": "partner",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix(), "iss": "credgate-tokencluster"} {
		if fmt.Sprint(claims[k]) != fmt.Sprint(v) && fmt.Sprintf("%.0f", claims[k]) != fmt.Sprint(v) {
			t.Fatalf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	resp = e.postJSON("/v1/customers/login", tokenapi.CustomerLoginRequest{Email: "Customer@acme.test", Password: "demo-customer-password"})
	wantStatus(t, resp, http.StatusOK)
	claims = parseJWT(t, e, resp.json(t)["token"].(string), keys)
	if claims["sub"] != "customer-9" || claims["kind"] != "customer" || claims["scope"] != "profile" {
		t.Fatalf("customer claims = %v", claims)
	}
	for name, r := range map[string]response{
		"partner wrong secret":  e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "partner-7", PartnerSecret: "x"}),
		"partner unknown":       e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "p-0", PartnerSecret: "x"}),
		"customer bad password": e.postJSON("/v1/customers/login", tokenapi.CustomerLoginRequest{Email: "customer@acme.test", Password: "x"}),
		"customer unknown":      e.postJSON("/v1/customers/login", tokenapi.CustomerLoginRequest{Email: "x@acme.test", Password: "x"}),
	} {
		if r.status != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", name, r.status)
		}
	}
	wantStatus(t, e.postJSON("/v1/partners/token", `{"partner_id":"partner-7"}`), http.StatusBadRequest)
	wantStatus(t, e.postJSON("/v1/customers/login", `{"email":"a","password":"b","otp":"1"}`), http.StatusBadRequest)
}

func TestJWTKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clock.Advance(time.Minute)
	created := e.admin(http.MethodPost, "/signing-keys", `{"id":"demo-2026-03"}`)
	wantStatus(t, created, http.StatusCreated)
	newKey := created.json(t)["secrets"].(map[string]any)["secret"].(string)
	resp := e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "partner-7", PartnerSecret: "demo-partner-secret"})
	wantStatus(t, resp, http.StatusOK)
	tok := resp.json(t)["token"].(string)
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil || parsed.Header["kid"] != "demo-2026-03" {
		t.Fatalf("kid after rotation = %v (%v)", parsed.Header["kid"], err)
	}
	parseJWT(t, e, tok, map[string]string{"demo-2026-03": newKey})
	if strings.Contains(e.admin(http.MethodGet, "/signing-keys", "").json(t)["Items"].([]any)[0].(map[string]any)["id"].(string), newKey) {
		t.Fatal("key listed")
	}
	for _, kid := range []string{"demo-2026-01", "demo-2026-02", "demo-2026-03"} {
		wantStatus(t, e.admin(http.MethodDelete, "/signing-keys/"+kid, ""), http.StatusOK)
	}
	resp = e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "partner-7", PartnerSecret: "demo-partner-secret"})
	wantStatus(t, resp, http.StatusServiceUnavailable)
}

func TestSSO(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.postJSON("/v1/sso", tokenapi.SSORequest{UserID: "user-42", UserAPIKey: "demo-user-api-key",
		RedirectURL: "https://shop.acme.test/login?next=%2Fcart"})
	wantStatus(t, resp, http.StatusOK)
	m := resp.json(t)
	wantField(t, m, "expires_in", 300)
	u, err := url.Parse(m["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("sso-token")
	if tok == "" || tok != m["sso_token"] || u.Query().Get("next") != "/cart" || u.Host != "shop.acme.test" {
		t.Fatalf("login URL = %s", u)
	}
	v := e.verify(tokenapi.VerifyRequest{Kind: "sso", Credential: tok})
	for k, want := range map[string]any{"active": true, "subject": "user-42", "tenant": "acme", "cache_ttl": 0} {
		wantField(t, v, k, want)
	}
	v = e.verify(tokenapi.VerifyRequest{Kind: "sso", Credential: tok})
	wantField(t, v, "active", false)
	wantField(t, v, "reason", "consumed")

	// Only origins registered for the user's developer (redirect_origins).
	for _, bad := range []string{"https://evil.example/login", "https://shop.acme.test.evil.example/",
		"https://shop.acme.test@evil.example/", "http://shop.acme.test/login", "https://shop.acme.test:8443/",
		"javascript:alert(1)", "//shop.acme.test/"} {
		resp := e.postJSON("/v1/sso", tokenapi.SSORequest{UserID: "user-42", UserAPIKey: "demo-user-api-key", RedirectURL: bad})
		wantStatus(t, resp, http.StatusBadRequest)
		wantStatus(t, e.admin(http.MethodPost, "/users/user-42/sso", `{"redirect_url":"`+bad+`"}`), http.StatusBadRequest)
	}
	wantStatus(t, e.postJSON("/v1/sso", tokenapi.SSORequest{UserID: "user-42", UserAPIKey: "demo-user-api-key",
		RedirectURL: "https://SHOP.acme.test:443/x"}), http.StatusOK)
	admin := e.admin(http.MethodPost, "/users/user-42/sso", `{"redirect_url":"https://shop.acme.test/login"}`)
	wantStatus(t, admin, http.StatusOK)
	late := admin.json(t)["sso_token"].(string)
	e.clock.Advance(5 * time.Minute)
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "sso", Credential: late}), "reason", "unknown")

	wantStatus(t, e.postJSON("/v1/sso", tokenapi.SSORequest{UserID: "user-42", UserAPIKey: "x", RedirectURL: "https://a.test/"}),
		http.StatusUnauthorized)
	wantStatus(t, e.postJSON("/v1/sso", tokenapi.SSORequest{UserID: "user-42", UserAPIKey: "demo-user-api-key",
		RedirectURL: "javascript:alert(1)"}), http.StatusBadRequest)
	wantStatus(t, e.postJSON("/v1/sso", `{"user_id":"user-42"}`), http.StatusBadRequest)
}

// TestJWKSFollowsRotation: asymmetric signing keys are generated by the
// cluster, sign the tokens once newest, and are published with their public
// half only; HS256 secrets appear only in /v1/jwks, behind the verify
// credential; a revoked key leaves both sets.
func TestJWKSFollowsRotation(t *testing.T) {
	t.Parallel()
	const testVerifyToken = "jwks-test-verify-token-0123456789"
	e := newEnv(t, func(o *server.Options) { o.VerifyToken, o.OpenVerify = testVerifyToken, false })
	for i, alg := range []string{"RS256", "ES256", "EdDSA"} {
		e.clock.Advance(time.Minute)
		kid := fmt.Sprintf("key-%d", i)
		created := e.admin(http.MethodPost, "/signing-keys", `{"id":"`+kid+`","alg":"`+alg+`"}`)
		wantStatus(t, created, http.StatusCreated)
		if strings.Contains(string(created.body), "PRIVATE") || created.json(t)["secrets"] != nil {
			t.Fatalf("%s: private material answered: %s", alg, created.body)
		}
		pub := e.do(http.MethodGet, "/.well-known/jwks.json", "", "")
		wantStatus(t, pub, http.StatusOK)
		set, err := keyfunc(pub.body)
		if err != nil {
			t.Fatal(err)
		}
		resp := e.postJSON("/v1/partners/token", tokenapi.PartnerTokenRequest{PartnerID: "partner-7", PartnerSecret: "demo-partner-secret"})
		wantStatus(t, resp, http.StatusOK)
		tok := resp.json(t)["token"].(string)
		parsed, err := jwt.Parse(tok, func(tk *jwt.Token) (any, error) { return set[tk.Header["kid"].(string)], nil },
			jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(e.clock.Now))
		if err != nil || parsed.Header["kid"] != kid {
			t.Fatalf("%s token %v does not verify with the published key: %v", alg, parsed.Header, err)
		}
		if strings.Contains(string(pub.body), `"oct"`) || strings.Contains(string(pub.body), `"d"`) {
			t.Fatalf("public set holds secrets: %s", pub.body)
		}
	}
	wantStatus(t, e.do(http.MethodGet, "/v1/jwks", "", ""), http.StatusUnauthorized)
	all := e.do(http.MethodGet, "/v1/jwks", "", "", "Authorization", "Bearer "+testVerifyToken)
	wantStatus(t, all, http.StatusOK)
	if !strings.Contains(string(all.body), `"kid":"demo-2026-01"`) || !strings.Contains(string(all.body), `"oct"`) {
		t.Fatalf("/v1/jwks lacks the HS256 key: %s", all.body)
	}
	wantStatus(t, e.admin(http.MethodDelete, "/signing-keys/key-0", ""), http.StatusOK)
	if strings.Contains(string(e.do(http.MethodGet, "/.well-known/jwks.json", "", "").body), "key-0") {
		t.Fatal("revoked key still published")
	}
	wantStatus(t, e.admin(http.MethodPost, "/signing-keys", `{"alg":"RS384"}`), http.StatusBadRequest)
	wantStatus(t, e.admin(http.MethodPost, "/signing-keys", `{"id":"short","secret":"tooshort"}`), http.StatusBadRequest)
	wantStatus(t, e.admin(http.MethodPost, "/signing-keys", `{"alg":"RS256","secret":"not a key"}`), http.StatusBadRequest)
}

// keyfunc reads a public JWKS into verification keys with go's own parsers.
func keyfunc(doc []byte) (map[string]any, error) {
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, err
	}
	out := map[string]any{}
	dec := base64.RawURLEncoding.DecodeString
	for _, k := range set.Keys {
		switch k["kty"] {
		case "RSA":
			n, _ := dec(k["n"])
			ev, _ := dec(k["e"])
			out[k["kid"]] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ev).Int64())}
		case "EC":
			x, _ := dec(k["x"])
			y, _ := dec(k["y"])
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				return nil, err
			}
			out[k["kid"]] = pub
		case "OKP":
			x, _ := dec(k["x"])
			out[k["kid"]] = ed25519.PublicKey(x)
		default:
			return nil, fmt.Errorf("unexpected key type %q", k["kty"])
		}
	}
	return out, nil
}
