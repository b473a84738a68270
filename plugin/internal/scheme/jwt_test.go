// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"github.com/credgate/credgate/plugin/internal/jose"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credgate/credgate/plugin/internal/authn"
)

var (
	testNow  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	secretK1 = []byte("k1-0123456789abcdef0123456789abcdef")
	secretK2 = []byte("k2-0123456789abcdef0123456789abcdef")
)

func mint(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	return mintHeader(t, method, key, kid, claims, nil)
}

// mintHeader mints a token with extra header parameters (nil removes one).
func mintHeader(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func claimsAt(now time.Time, extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub":    "customer-42",
		"tenant": "acme",
		"scope":  "orders:read orders:write",
		"iat":    now.Add(-time.Minute).Unix(),
		"exp":    now.Add(10 * time.Minute).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func req(headers ...string) authn.Request {
	var pairs [][2]string
	pairs = append(pairs, [2]string{":method", "GET"}, [2]string{":path", "/Orders/Create"}, [2]string{":authority", "api.example"})
	for i := 0; i+1 < len(headers); i += 2 {
		pairs = append(pairs, [2]string{headers[i], headers[i+1]})
	}
	return authn.NewHeaderRequest(pairs)
}

func TestJWTVerify(t *testing.T) {
	v, err := NewJWT(JWTOptions{Providers: []JWTProvider{{Keys: hmacSet(t, "k1", secretK1, "k2", secretK2), Leeway: 30 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	good := mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil))
	tests := []struct {
		name       string
		auth       string
		wantErr    error
		wantReason string
		wantScopes []string
	}{
		{name: "valid k1", auth: "Bearer " + good, wantScopes: []string{"orders:read", "orders:write"}},
		{name: "valid k2 after rotation", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK2, "k2", claimsAt(testNow, nil)), wantScopes: []string{"orders:read", "orders:write"}},
		{name: "scheme name is case-insensitive", auth: "bearer " + good, wantScopes: []string{"orders:read", "orders:write"}},
		{name: "scopes as array", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, jwt.MapClaims{"scope": []any{"a", "b"}})), wantScopes: []string{"a", "b"}},
		{name: "no prefix", auth: good, wantErr: authn.ErrMissing, wantReason: "jwt_missing"},
		{name: "empty token", auth: "Bearer ", wantErr: authn.ErrMalformed, wantReason: "bearer_malformed"},
		{name: "two spaces", auth: "Bearer  " + good, wantErr: authn.ErrMalformed, wantReason: "bearer_malformed"},
		{name: "bad signature", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123"), "k1", claimsAt(testNow, nil)), wantErr: authn.ErrInvalid, wantReason: "jwt_signature"},
		{name: "unknown kid", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "k9", claimsAt(testNow, nil)), wantErr: authn.ErrInvalid},
		{name: "no kid with several keys", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "", claimsAt(testNow, nil)), wantErr: authn.ErrInvalid},
		{name: "expired", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, jwt.MapClaims{"exp": testNow.Add(-time.Minute).Unix()})), wantErr: authn.ErrExpired, wantReason: "jwt_expired"},
		{name: "expired within leeway", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, jwt.MapClaims{"exp": testNow.Add(-10 * time.Second).Unix()})), wantScopes: []string{"orders:read", "orders:write"}},
		{name: "not yet valid", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, jwt.MapClaims{"nbf": testNow.Add(time.Hour).Unix()})), wantErr: authn.ErrInvalid, wantReason: "jwt_not_yet_valid"},
		{name: "missing exp", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, jwt.MapClaims{"exp": nil})), wantErr: authn.ErrInvalid},
		{name: "missing sub", auth: "Bearer " + mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, jwt.MapClaims{"sub": nil})), wantErr: authn.ErrInvalid, wantReason: "jwt_no_subject"},
		{name: "alg none", auth: "Bearer " + mint(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", claimsAt(testNow, nil)), wantErr: authn.ErrInvalid},
		{name: "alg HS512 refused", auth: "Bearer " + mint(t, jwt.SigningMethodHS512, secretK1, "k1", claimsAt(testNow, nil)), wantErr: authn.ErrInvalid},
		{name: "garbage", auth: "Bearer a.b.c", wantErr: authn.ErrMalformed, wantReason: "jwt_malformed"},
		{name: "crit header refused", auth: "Bearer " + mintHeader(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil), map[string]any{"crit": []any{"exp"}}), wantErr: authn.ErrInvalid, wantReason: "jwt_header"},
		{name: "empty crit refused", auth: "Bearer " + mintHeader(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil), map[string]any{"crit": []any{}}), wantErr: authn.ErrInvalid, wantReason: "jwt_header"},
		{name: "typ other than JWT refused", auth: "Bearer " + mintHeader(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil), map[string]any{"typ": "secevent+jwt"}), wantErr: authn.ErrInvalid, wantReason: "jwt_header"},
		{name: "typ not a string refused", auth: "Bearer " + mintHeader(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil), map[string]any{"typ": 1}), wantErr: authn.ErrInvalid, wantReason: "jwt_header"},
		{name: "typ jwt in lower case", auth: "Bearer " + mintHeader(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil), map[string]any{"typ": "jwt"}), wantScopes: []string{"orders:read", "orders:write"}},
		{name: "no typ", auth: "Bearer " + mintHeader(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil), map[string]any{"typ": nil}), wantScopes: []string{"orders:read", "orders:write"}},
		{name: "too long", auth: "Bearer " + strings.Repeat("a", authn.MaxHeaderValue), wantErr: authn.ErrMalformed, wantReason: "bearer_too_long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, deny := v.Verify(req("authorization", tc.auth), stamp.Of(testNow))
			if tc.wantErr == nil {
				if deny != nil {
					t.Fatalf("denied: %v", deny)
				}
				if id.Subject != "customer-42" || id.Tenant != "acme" || id.Scheme != "jwt" {
					t.Fatalf("identity = %+v", id)
				}
				if strings.Join(id.Scopes, " ") != strings.Join(tc.wantScopes, " ") {
					t.Fatalf("scopes = %v, want %v", id.Scopes, tc.wantScopes)
				}
				return
			}
			if id != nil || deny == nil {
				t.Fatalf("want denial, got identity %+v", id)
			}
			if !errors.Is(deny, tc.wantErr) {
				t.Fatalf("denial %v is not %v", deny, tc.wantErr)
			}
			if tc.wantReason != "" && deny.Reason != tc.wantReason {
				t.Fatalf("reason = %q, want %q", deny.Reason, tc.wantReason)
			}
			if deny.Status != 401 {
				t.Fatalf("status = %d, want 401", deny.Status)
			}
			if strings.Contains(deny.Error(), secretK1String()) {
				t.Fatal("denial leaks the signing secret")
			}
		})
	}
}

func secretK1String() string { return string(secretK1) }

func TestNewJWTRejectsBadOptions(t *testing.T) {
	one := hmacSet(t, "a", secretK1)
	tests := []struct {
		name string
		opts JWTOptions
		want string
	}{
		{name: "no providers", opts: JWTOptions{}, want: "at least one provider"},
		{name: "no keys", opts: JWTOptions{Providers: []JWTProvider{{}}}, want: "exactly one of local keys and a remote key set"},
		{name: "two providers without issuer", opts: JWTOptions{Providers: []JWTProvider{{Keys: one, Issuer: "a"}, {Keys: one}}}, want: "issuer is required"},
		{name: "same issuer twice", opts: JWTOptions{Providers: []JWTProvider{{Keys: one, Issuer: "a"}, {Keys: one, Issuer: "a"}}}, want: "already"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewJWT(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := jose.NewHMACKey("a", []byte("short")); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Errorf("short secret: %v", err)
	}
	k1, _ := jose.NewHMACKey("a", secretK1)
	k2, _ := jose.NewHMACKey("a", secretK2)
	if _, err := jose.NewSet([]*jose.Key{k1, k2}); err == nil || !strings.Contains(err.Error(), "duplicate kid") {
		t.Errorf("duplicate kid: %v", err)
	}
}

// hmacSet builds a local set of HS256 keys from kid, secret pairs.
func hmacSet(t testing.TB, pairs ...any) *jose.Set {
	t.Helper()
	var keys []*jose.Key
	for i := 0; i < len(pairs); i += 2 {
		k, err := jose.NewHMACKey(pairs[i].(string), pairs[i+1].([]byte))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	set, err := jose.NewSet(keys)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestJWTPresent(t *testing.T) {
	v, _ := NewJWT(JWTOptions{Providers: []JWTProvider{{Keys: hmacSet(t, "k1", secretK1)}}})
	tests := []struct {
		name string
		auth string
		want bool
	}{
		{name: "compact JWS", auth: "Bearer aaa.bbb.ccc", want: true},
		{name: "opaque token", auth: "Bearer 0123456789abcdef", want: false},
		{name: "basic", auth: "Basic dXNlcjpwYXNz", want: false},
		{name: "malformed bearer is still ours to refuse", auth: "Bearer ", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := v.Present(req("authorization", tc.auth)); got != tc.want {
				t.Fatalf("Present = %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzJWTVerify(f *testing.F) {
	v, _ := NewJWT(JWTOptions{Providers: []JWTProvider{{Keys: hmacSet(f, "k1", secretK1)}}})
	f.Add("Bearer " + mint(f, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil)))
	f.Add("Bearer " + mint(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", claimsAt(testNow, nil)))
	f.Add("Bearer a..c")
	f.Add("bearer ....")
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Fuzz(func(t *testing.T, auth string) {
		id, deny := v.Verify(req("authorization", auth), stamp.Of(testNow))
		if (id == nil) == (deny == nil) {
			t.Fatalf("exactly one of identity and denial must be set: %v %v", id, deny)
		}
		if id != nil {
			// Only a correctly signed HS256 token may pass: re-verify independently.
			tok := strings.TrimSpace(auth[len("bearer "):])
			_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return secretK1, nil },
				jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return testNow }), jwt.WithLeeway(0))
			if err != nil {
				t.Fatalf("accepted a token the reference parser refuses: %v", err)
			}
		}
	})
}

// TestJWTCacheRechecksTime verifies a token once, then checks that the
// remembered token still expires, is still refused before nbf, and that a
// forged token with the same claims is not served from the cache.
func TestJWTCacheRechecksTime(t *testing.T) {
	v, _ := NewJWT(JWTOptions{Providers: []JWTProvider{{Keys: hmacSet(t, "k1", secretK1)}}})
	tok := mint(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, jwt.MapClaims{"nbf": testNow.Add(-time.Second).Unix()}))
	auth := req("authorization", "Bearer "+tok)
	tests := []struct {
		name    string
		at      time.Time
		allowed bool
	}{
		{name: "first use verifies", at: testNow, allowed: true},
		{name: "repeat is remembered", at: testNow.Add(time.Minute), allowed: true},
		{name: "remembered token still expires", at: testNow.Add(11 * time.Minute)},
		{name: "remembered token still not before nbf", at: testNow.Add(-time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, deny := v.Verify(auth, stamp.Of(tc.at))
			if (deny == nil) != tc.allowed {
				t.Fatalf("allowed = %v, want %v (%v)", deny == nil, tc.allowed, deny)
			}
			if tc.allowed && id.Subject != "customer-42" {
				t.Fatalf("identity %+v", id)
			}
		})
	}
	forged := mint(t, jwt.SigningMethodHS256, []byte("forged-secret-0123456789abcdef0123456"), "k1", claimsAt(testNow, nil))
	if _, deny := v.Verify(req("authorization", "Bearer "+forged), stamp.Of(testNow)); deny == nil {
		t.Fatal("a forged token was accepted")
	}
	id, _ := v.Verify(auth, stamp.Of(testNow))
	id.Scopes[0] = "mutated"
	again, _ := v.Verify(auth, stamp.Of(testNow))
	if again.Scopes[0] == "mutated" {
		t.Fatal("callers can mutate the remembered identity")
	}
}

// Configured typ values replace the default "JWT".
func TestJWTConfiguredTypes(t *testing.T) {
	v, err := NewJWT(JWTOptions{Providers: []JWTProvider{{Keys: hmacSet(t, "k1", secretK1), Types: []string{"at+jwt"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for typ, ok := range map[string]bool{"at+jwt": true, "AT+JWT": true, "JWT": false} {
		tok := mintHeader(t, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil), map[string]any{"typ": typ})
		if _, deny := v.Verify(req("authorization", "Bearer "+tok), stamp.Of(testNow)); (deny == nil) != ok {
			t.Errorf("typ %q: denial %v, want accepted %v", typ, deny, ok)
		}
	}
}

// TestJWTClaimsByExactName: tenant, scope and claim headers read top-level
// claims by their exact names (a URL-namespaced claim is one claim, not a
// path), and an array element holding the separator is not copied.
func TestJWTClaimsByExactName(t *testing.T) {
	v, err := NewJWT(JWTOptions{Providers: []JWTProvider{{Keys: hmacSet(t, "k1", secretK1), TenantClaim: "https://acme.example/tenant",
		ClaimHeaders: []ClaimHeader{{Claim: "https://acme.example/roles", Header: "x-roles"}, {Claim: "groups", Header: "x-groups"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsAt(testNow, map[string]any{"https://acme.example/tenant": "acme", "https": map[string]any{"//acme": "nested"},
		"https://acme.example/roles": []any{"a", "b"}, "groups": []any{"dev,admin"}})
	id, deny := v.Verify(req("authorization", "Bearer "+mint(t, jwt.SigningMethodHS256, secretK1, "k1", claims)), stamp.Of(testNow))
	if deny != nil {
		t.Fatal(deny)
	}
	if id.Tenant != "acme" {
		t.Errorf("tenant = %q", id.Tenant)
	}
	if len(id.Headers) != 1 || id.Headers[0] != [2]string{"x-roles", "a,b"} {
		t.Errorf("claim headers = %v", id.Headers)
	}
}

// looksLikeJWSSplit is the shape check spelt out: three parts split by
// dots, the first two non-empty base64url.
func looksLikeJWSSplit(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts[:2] {
		if p == "" || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}

// FuzzLooksLikeJWS: the scan answers as the spelt-out check does.
func FuzzLooksLikeJWS(f *testing.F) {
	for _, s := range []string{"a.b.c", "a.b.", ".b.c", "a..c", "a.b.c.d", "a+b.c.d", "abc", "", "..", "a.b.c=", "eyJh.eyJ.sig-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := looksLikeJWS(s), looksLikeJWSSplit(s); got != want {
			t.Fatalf("looksLikeJWS(%q) = %v, want %v", s, got, want)
		}
	})
}
