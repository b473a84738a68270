// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
)

const jwksClusterConfig = `{
  "token_cluster": {"cluster": "token_cluster", "authority": "tokencluster", "timeout_ms": 2000, "revocation_poll_ms": 0,
                    "verify_token": "test-verify-token-0123456789abcdef"},
  "jwt": {"issuer": "credgate-tokencluster", "leeway_seconds": 5,
          "remote_jwks": {"cluster": "token_cluster", "path": "/v1/jwks", "include_secrets": true, "refetch_interval_seconds": 1},
          "claim_to_headers": [{"claim": "kind", "header": "x-jwt-kind"}, {"claim": "scope", "header": "x-jwt-scope"}]},
  "routes": [{"name": "storefront", "match": {"prefix": "/storefront/"}, "schemes": ["jwt"]}]
}`

// TestJWTKeysFromTokenClusterFollowRotation: the plugin verifies the token
// cluster's tokens with the keys the cluster publishes, and follows a
// rotation to RS256, ES256 and EdDSA keys without a configuration change.
func TestJWTKeysFromTokenClusterFollowRotation(t *testing.T) {
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			tc := testcluster.Start(t, seedFile)
			// Key sets are fetched from the proxy's ticks (never from a
			// stream): the host ticks as Envoy does.
			e := &clusterEnv{tc: tc, host: newWasmHost(t, p, hostcalls.NewConfig().WithPluginConfig([]byte(jwksClusterConfig)).
				WithCluster("token_cluster", tc.URL).WithAutoTick(true))}
			login := func() string {
				st, b := tc.Do(t, "POST", "/v1/partners/token", "application/json", `{"partner_id":"partner-7","partner_secret":"demo-partner-secret"}`)
				if st != 200 {
					t.Fatalf("partner token: %d %s", st, b)
				}
				return e.remember(jsonField(t, b, "token"))
			}
			want := map[string]string{"x-credgate-subject": "partner-7", "x-credgate-scheme": "jwt", "x-jwt-kind": "partner",
				"x-jwt-scope": "partner:orders"}
			// The first token waits for the first fetch (HS256 key, from /v1/jwks).
			res := e.call(t, "GET", "/storefront/a", "authorization", "Bearer "+login(), "x-jwt-kind", "spoofed", "X_JWT_Scope", "spoofed")
			expectUpstream(t, res, want, "authorization", "x_jwt_scope")
			for i, alg := range []string{"RS256", "ES256", "EdDSA"} {
				time.Sleep(1100 * time.Millisecond) // the seed's keys are created at the same second; order by time
				st, b := tc.Admin(t, "POST", "/admin/v1/signing-keys", `{"id":"rotated-`+alg+`","alg":"`+alg+`"}`)
				if st != 201 {
					t.Fatalf("create %s key: %d %s", alg, st, b)
				}
				tok := login()
				if h := jwtHeader(t, tok); h["alg"] != alg || h["kid"] != "rotated-"+alg {
					t.Fatalf("after rotation %d the cluster signs with %v", i, h)
				}
				expectUpstream(t, e.call(t, "GET", "/storefront/b", "authorization", "Bearer "+tok), want, "authorization")
			}
			// A token signed by a key the cluster never published is refused,
			// and its kid makes at most one fetch per refetch interval.
			fetches := countCallouts(e)
			for i := 0; i < 5; i++ {
				forged := signWith(t, jwt.SigningMethodHS256, []byte("some-other-secret-0123456789abcdef"), "unknown-kid", "partner-7")
				expectDenied(t, e.call(t, "GET", "/storefront/c", "authorization", "Bearer "+forged), 401, "")
			}
			if got := countCallouts(e) - fetches; got > 1 {
				t.Errorf("5 unknown kids made %d key-set fetches within the refetch interval", got)
			}
			noSecretLogged(t, e)
		})
	}
}

func jwtHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func signWith(t testing.TB, m jwt.SigningMethod, key any, kid, sub string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims{"sub": sub, "iss": "credgate-tokencluster", "exp": time.Now().Add(time.Hour).Unix()})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countCallouts counts the http calls the module made (with this test's
// configuration, only key-set fetches).
func countCallouts(e *clusterEnv) int { return int(e.host.Calls()["proxy_http_call"]) }

// keyServer is an identity provider's JWKS endpoint whose answers a test
// controls.
type keyServer struct {
	mu     sync.Mutex
	status int
	body   []byte
	hits   atomic.Int64
	url    string
}

func startKeyServer(t *testing.T) *keyServer {
	t.Helper()
	ks := &keyServer{status: 500}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.hits.Add(1)
		ks.mu.Lock()
		status, body := ks.status, ks.body
		ks.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	ks.url = "http://" + ln.Addr().String()
	return ks
}

func (ks *keyServer) answer(status int, body []byte) {
	ks.mu.Lock()
	ks.status, ks.body = status, body
	ks.mu.Unlock()
}

type idpKeys struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	ed  ed25519.PrivateKey
}

func newIdPKeys(t *testing.T) idpKeys {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return idpKeys{rsa: r, ec: ec, ed: ed}
}

func (k idpKeys) jwks() []byte {
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "n": enc(k.rsa.N.Bytes()), "e": enc(big.NewInt(int64(k.rsa.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": enc(k.ec.X.FillBytes(make([]byte, 32))), "y": enc(k.ec.Y.FillBytes(make([]byte, 32)))},
		{"kty": "OKP", "kid": "d1", "crv": "Ed25519", "x": enc(k.ed.Public().(ed25519.PublicKey))},
	}})
	return b
}

// TestRemoteJWKSNeverOpensTheDoor: with an identity provider's key set
// fetched through an Envoy cluster, a failing, malformed or oversized answer
// never lets a token through; once a good set arrives, RS256, ES256 and EdDSA
// tokens verify while algorithm confusion and unsigned tokens are refused;
// providers are chosen by issuer.
func TestRemoteJWKSNeverOpensTheDoor(t *testing.T) {
	keys := newIdPKeys(t)
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			ks := startKeyServer(t)
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			cfg := `{"jwt": {"providers": [
			    {"name": "idp", "issuer": "https://idp.example", "audiences": ["shop"],
			     "remote_jwks": {"cluster": "idp_jwks", "path": "/keys", "cache_duration_seconds": 60, "max_stale_seconds": 60, "refetch_interval_seconds": 5}},
			    {"name": "local", "issuer": "local", "keys": [{"kid": "l1", "secret_env": "LOCAL_JWT_SECRET"}]}]},
			  "routes": [{"name": "shop", "match": {"prefix": "/"}, "schemes": ["jwt"]}]}`
			host := newWasmHost(t, p, hostcalls.NewConfig().WithPluginConfig([]byte(cfg)).WithCluster("idp_jwks", ks.url).
				WithClock(clock).WithAutoTick(true).WithEnv("LOCAL_JWT_SECRET", "local-secret-from-the-environment-0123"))
			sign := func(m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
				base := jwt.MapClaims{"sub": "u1", "iss": "https://idp.example", "aud": "shop", "exp": clock().Add(time.Hour).Unix()}
				for k, v := range claims {
					base[k] = v
				}
				tok := jwt.NewWithClaims(m, base)
				tok.Header["kid"] = kid
				s, err := tok.SignedString(key)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			call := func(tok string) *hostcalls.Result {
				t.Helper()
				e := &clusterEnv{host: host}
				return e.call(t, "GET", "/x", "authorization", "Bearer "+tok)
			}
			rsTok := sign(jwt.SigningMethodRS256, keys.rsa, "r1", nil)
			for _, bad := range []struct {
				status int
				body   []byte
			}{{500, []byte(`{"keys":[]}`)}, {200, []byte(`{"keys":[`)}, {200, []byte(`{"keys":[]}`)},
				{200, append([]byte(`{"keys":[],"pad":"`), append([]byte(strings.Repeat("a", 70000)), '"', '}')...)}} {
				ks.answer(bad.status, bad.body)
				advance(6 * time.Second) // past the refetch interval
				expectDenied(t, call(rsTok), 503, "")
			}
			ks.answer(200, keys.jwks())
			advance(6 * time.Second)
			for _, tok := range []string{rsTok, sign(jwt.SigningMethodES256, keys.ec, "e1", nil), sign(jwt.SigningMethodEdDSA, keys.ed, "d1", nil)} {
				expectUpstream(t, call(tok), map[string]string{"x-credgate-subject": "u1"}, "authorization")
			}
			// Algorithm confusion: HS256 "signed" with the RSA public key.
			pubAsSecret := []byte(base64.RawURLEncoding.EncodeToString(keys.rsa.N.Bytes()))
			for _, forged := range []string{
				sign(jwt.SigningMethodHS256, pubAsSecret, "r1", nil),
				sign(jwt.SigningMethodHS256, keys.jwks(), "r1", nil),
				sign(jwt.SigningMethodRS256, keys.rsa, "e1", nil), // RS256 under the EC key's kid
				sign(jwt.SigningMethodRS256, keys.rsa, "r1", jwt.MapClaims{"aud": "other"}),
				sign(jwt.SigningMethodRS256, keys.rsa, "r1", jwt.MapClaims{"iss": "https://evil.example"}),
			} {
				expectDenied(t, call(forged), 401, "")
			}
			none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u1", "iss": "https://idp.example", "aud": "shop",
				"exp": clock().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			expectDenied(t, call(none), 401, "")
			// A client that goes away while a fetch is pending takes nothing
			// with it: fetches belong to the proxy's ticks, not to streams.
			// The identity provider adds a key (d2); the first client to use
			// it gives up at once; the next one is still served.
			var set map[string][]map[string]string
			_ = json.Unmarshal(keys.jwks(), &set)
			d2 := map[string]string{}
			for k, v := range set["keys"][2] {
				d2[k] = v
			}
			d2["kid"] = "d2"
			set["keys"] = append(set["keys"], d2)
			doc, _ := json.Marshal(set)
			ks.answer(200, doc)
			advance(6 * time.Second)
			d2Tok := sign(jwt.SigningMethodEdDSA, keys.ed, "d2", nil)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
			_, _ = host.Do(ctx, hostcalls.Request{Method: "GET", Path: "/x", Authority: "api.example",
				Headers: [][2]string{{"authorization", "Bearer " + d2Tok}}})
			cancel()
			advance(6 * time.Second)
			expectUpstream(t, call(d2Tok), map[string]string{"x-credgate-subject": "u1"})
			// The local provider, selected by its issuer, with its secret from the VM environment.
			local := signWith(t, jwt.SigningMethodHS256, []byte("local-secret-from-the-environment-0123"), "l1", "u2")
			local = resign(t, local, "local", []byte("local-secret-from-the-environment-0123"))
			expectUpstream(t, call(local), map[string]string{"x-credgate-subject": "u2"})

			// The key server fails from now on: the last good set serves for
			// cache_duration + max_stale, then tokens are refused.
			ks.answer(500, nil)
			before := ks.hits.Load()
			advance(90 * time.Second)
			for deadline := time.Now().Add(10 * time.Second); ks.hits.Load() == before; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no background refresh after cache_duration")
				}
			}
			expectUpstream(t, call(rsTok), map[string]string{"x-credgate-subject": "u1"})
			advance(40 * time.Second)
			expectDenied(t, call(rsTok), 503, "")
		})
	}
}

// resign re-signs a token's claims with iss replaced.
func resign(t *testing.T, tok, iss string, secret []byte) string {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	claims["iss"] = iss
	return signWith2(t, claims, secret)
}

func signWith2(t *testing.T, claims jwt.MapClaims, secret []byte) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = "l1"
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
