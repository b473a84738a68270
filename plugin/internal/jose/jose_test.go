// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

var now = time.Unix(1_800_000_000, 0)

type testKeys struct {
	hmac []byte
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
}

func newTestKeys(t testing.TB) testKeys {
	t.Helper()
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{hmac: []byte("0123456789abcdef0123456789abcdef-hs"), rsa: r, ec: e, ed: ed}
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwks renders the public keys (and, with secrets, the HMAC key) as a set.
func (k testKeys) jwks(secrets bool) []byte {
	keys := []map[string]any{
		{"kty": "RSA", "kid": "rsa", "n": enc(k.rsa.N.Bytes()), "e": enc(big.NewInt(int64(k.rsa.E)).Bytes()), "use": "sig"},
		{"kty": "EC", "kid": "ec", "crv": "P-256", "x": enc(k.ec.X.FillBytes(make([]byte, 32))), "y": enc(k.ec.Y.FillBytes(make([]byte, 32)))},
		{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": enc(k.ed.Public().(ed25519.PublicKey)), "alg": "EdDSA"},
	}
	if secrets {
		keys = append(keys, map[string]any{"kty": "oct", "kid": "hs", "k": enc(k.hmac)})
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func (k testKeys) sign(t testing.TB, alg, kid string, claims jwt.MapClaims) string {
	t.Helper()
	var m jwt.SigningMethod
	var key any
	switch alg {
	case HS256:
		m, key = jwt.SigningMethodHS256, k.hmac
	case RS256:
		m, key = jwt.SigningMethodRS256, k.rsa
	case ES256:
		m, key = jwt.SigningMethodES256, k.ec
	case EdDSA:
		m, key = jwt.SigningMethodEdDSA, k.ed
	}
	base := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	for c, v := range claims {
		base[c] = v
	}
	tok := jwt.NewWithClaims(m, base)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSet(t testing.TB, doc []byte, secrets bool) *Set {
	t.Helper()
	s, _, err := ParseSet(doc, secrets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verify(set *Set, raw string) error {
	tok, err := Parse(raw)
	if err != nil {
		return err
	}
	k, ok := set.Lookup(tok.Kid, tok.HasKid)
	if !ok {
		return errors.New("no key")
	}
	if err := tok.Verify(k); err != nil {
		return err
	}
	_, err = Validate(tok.Claims, Expectations{}, now)
	return err
}

func TestVerifyEveryAlgorithm(t *testing.T) {
	k := newTestKeys(t)
	set := mustSet(t, k.jwks(true), true)
	for _, c := range []struct{ alg, kid string }{{HS256, "hs"}, {RS256, "rsa"}, {ES256, "ec"}, {EdDSA, "ed"}} {
		t.Run(c.alg, func(t *testing.T) {
			good := k.sign(t, c.alg, c.kid, nil)
			if err := verify(set, good); err != nil {
				t.Fatalf("valid %s token refused: %v", c.alg, err)
			}
			// Any change to the signed part or the signature is refused.
			h, p, s := split(good)
			other := enc([]byte(`{"sub":"mallory","exp":` + big.NewInt(now.Add(time.Hour).Unix()).String() + `}`))
			sig, _ := base64.RawURLEncoding.DecodeString(s)
			sig[len(sig)/2] ^= 1
			for name, bad := range map[string]string{
				"payload swapped": h + "." + other + "." + s,
				"signature bit":   h + "." + p + "." + enc(sig),
				"signature empty": h + "." + p + ".",
				"signature cut":   h + "." + p + "." + s[:len(s)-4],
			} {
				if err := verify(set, bad); err == nil {
					t.Errorf("%s: accepted", name)
				}
			}
		})
	}
}

func split(tok string) (string, string, string) {
	p := strings.Split(tok, ".")
	return p[0], p[1], p[2]
}

// TestAlgorithmPinnedPerKey: a token is checked only with a key of its own
// algorithm; "none" and the HS256-with-an-RSA-public-key confusion fail.
func TestAlgorithmPinnedPerKey(t *testing.T) {
	k := newTestKeys(t)
	set := mustSet(t, k.jwks(true), true)
	rsaKey, _ := set.Lookup("rsa", true)

	// HS256 signed with the RSA public key's JWK text and its DER-like bytes as the secret.
	for _, secret := range [][]byte{k.rsa.N.Bytes(), k.jwks(false)} {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "exp": now.Add(time.Hour).Unix()})
		tok.Header["kid"] = "rsa"
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := parsed.Verify(rsaKey); !errors.Is(err, ErrSignature) {
			t.Errorf("HS256 token verified with an RSA key: %v", err)
		}
	}
	// A token HMAC-signed with the HS256 key but naming another alg: the
	// key's own algorithm decides, so it is refused.
	hsKey, _ := set.Lookup("hs", true)
	for _, alg := range []string{RS256, ES256, EdDSA} {
		h := enc([]byte(`{"alg":"` + alg + `","kid":"hs"}`))
		p := enc([]byte(`{"sub":"x","exp":` + itoa(now.Add(time.Hour).Unix()) + `}`))
		mac := hmac.New(sha256.New, k.hmac)
		mac.Write([]byte(h + "." + p))
		parsed, err := Parse(h + "." + p + "." + enc(mac.Sum(nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := parsed.Verify(hsKey); !errors.Is(err, ErrSignature) {
			t.Errorf("HMAC-signed token claiming %s verified with the HS256 key: %v", alg, err)
		}
	}
	// RS256 token presented with kid of the EC key.
	if err := verify(set, k.sign(t, RS256, "ec", nil)); !errors.Is(err, ErrSignature) {
		t.Errorf("RS256 token under the EC key's kid: %v", err)
	}
	// alg none, missing alg, unknown alg, crit: refused at parse.
	body := enc([]byte(`{"sub":"x","exp":9999999999}`))
	for _, h := range []string{`{"alg":"none"}`, `{"alg":"None"}`, `{}`, `{"alg":"HS512"}`, `{"alg":"PS256"}`,
		`{"alg":"HS256","crit":["exp"]}`, `{"alg":1}`, `{"alg":"HS256","kid":7}`, `{"alg":"HS256","alg":"none"}`} {
		if _, err := Parse(enc([]byte(h)) + "." + body + ".AAAA"); err == nil {
			t.Errorf("header %s accepted", h)
		}
	}
	if _, err := Parse(enc([]byte(`{"alg":"none"}`)) + "." + body + "."); err == nil {
		t.Error("unsigned token accepted")
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	h := enc([]byte(`{"alg":"HS256"}`))
	p := enc([]byte(`{"sub":"x"}`))
	for _, raw := range []string{"", "a.b", "a.b.c.d", h + "." + p, h + ".." + "AA", h + "." + p + ".AA=",
		h + "=." + p + ".AA", enc([]byte(`[1]`)) + "." + p + ".AA", h + "." + enc([]byte(`"x"`)) + ".AA",
		h + "." + enc([]byte(`{"sub":"a","sub":"b"}`)) + ".AA", h + "." + enc([]byte(`{"sub":"a"} x`)) + ".AA",
		h + "." + p + ".A+/A", strings.Repeat("a", MaxTokenBytes+1)} {
		if _, err := Parse(raw); err == nil {
			t.Errorf("Parse(%.40q) accepted", raw)
		}
	}
}

func TestValidateClaims(t *testing.T) {
	e := Expectations{Issuer: "iss-a", Audiences: []string{"api", "web"}, Leeway: 10 * time.Second}
	n := now.Unix()
	for _, c := range []struct {
		claims string
		want   error
	}{
		{`{"iss":"iss-a","aud":"api","exp":` + itoa(n+60) + `}`, nil},
		{`{"iss":"iss-a","aud":["x","web"],"exp":` + itoa(n+60) + `}`, nil},
		{`{"iss":"iss-a","aud":"api","exp":` + itoa(n-5) + `}`, nil}, // within leeway
		{`{"iss":"iss-a","aud":"api","exp":` + itoa(n-11) + `}`, ErrExpired},
		{`{"iss":"iss-a","aud":"api"}`, ErrClaims},
		{`{"iss":"iss-a","aud":"api","exp":"` + itoa(n+60) + `"}`, ErrClaims},
		{`{"iss":"iss-b","aud":"api","exp":` + itoa(n+60) + `}`, ErrClaims},
		{`{"iss":"iss-a","aud":"other","exp":` + itoa(n+60) + `}`, ErrClaims},
		{`{"iss":"iss-a","exp":` + itoa(n+60) + `}`, ErrClaims},
		{`{"iss":"iss-a","aud":"api","exp":` + itoa(n+60) + `,"nbf":` + itoa(n+30) + `}`, ErrNotYetValid},
		{`{"iss":"iss-a","aud":"api","exp":` + itoa(n+60) + `,"iat":` + itoa(n+30) + `}`, ErrNotYetValid},
		{`{"iss":"iss-a","aud":"api","exp":1e300}`, ErrClaims},
	} {
		_, err := Validate([]byte(c.claims), e, now)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: got %v, want %v", c.claims, err, c.want)
		}
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

func TestParseSet(t *testing.T) {
	k := newTestKeys(t)
	// A secret in a set read as public is skipped, never usable.
	if s, skipped, err := ParseSet(k.jwks(true), false); err != nil || skipped != 1 {
		t.Errorf("secret in a public set: %v, %d skipped", err, skipped)
	} else if _, ok := s.Lookup("hs", true); ok {
		t.Error("secret from a public set is usable")
	}
	if _, _, err := ParseSet([]byte(`{"keys":[{"kty":"oct","k":"`+enc(k.hmac)+`"}]}`), false); err == nil {
		t.Error("a public set of secrets only is accepted")
	}
	set, skipped, err := ParseSet([]byte(`{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},{"kty":"OKP","crv":"Ed25519","kid":"a","x":"`+
		enc(k.ed.Public().(ed25519.PublicKey))+`"}]}`), false)
	if err != nil || skipped != 1 || set.Len() != 1 {
		t.Errorf("unsupported curve not skipped: %v %d", err, skipped)
	}
	x := enc(k.ec.X.FillBytes(make([]byte, 32)))
	for name, doc := range map[string]string{
		"not json":       `{"keys":[`,
		"no keys":        `{"keys":[]}`,
		"duplicate kid":  `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + enc(k.ed.Public().(ed25519.PublicKey)) + `"},{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + enc(k.ed.Public().(ed25519.PublicKey)) + `"}]}`,
		"point off":      `{"keys":[{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + x + `"}]}`,
		"alg mismatch":   `{"keys":[{"kty":"RSA","alg":"HS256","n":"` + enc(k.rsa.N.Bytes()) + `","e":"AQAB"}]}`,
		"small rsa":      `{"keys":[{"kty":"RSA","n":"` + enc(k.rsa.N.Bytes()[:64]) + `","e":"AQAB"}]}`,
		"even exponent":  `{"keys":[{"kty":"RSA","n":"` + enc(k.rsa.N.Bytes()) + `","e":"AAI"}]}`,
		"enc key":        `{"keys":[{"kty":"RSA","use":"enc","n":"` + enc(k.rsa.N.Bytes()) + `","e":"AQAB"}]}`,
		"padded base64":  `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + base64.URLEncoding.EncodeToString(k.ed.Public().(ed25519.PublicKey)) + `"}]}`,
		"short hs in ok": `{"keys":[{"kty":"oct","k":"c2hvcnQ"}]}`,
	} {
		if _, _, err := ParseSet([]byte(doc), true); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestP256AgainstStandardLibrary checks the P-256 verifier against
// crypto/ecdsa on valid, altered and random signatures.
func TestP256AgainstStandardLibrary(t *testing.T) {
	k := newTestKeys(t)
	set := mustSet(t, k.jwks(false), false)
	key, _ := set.Lookup("ec", true)
	for i := 0; i < 200; i++ {
		msg := make([]byte, 32)
		_, _ = rand.Read(msg)
		d := sha256.Sum256(msg)
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, d[:])
		if err != nil {
			t.Fatal(err)
		}
		rb, sb := r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))
		switch i % 4 {
		case 1:
			rb[i%32] ^= 1 << (i % 8)
		case 2:
			d[i%32] ^= 1
		case 3:
			_, _ = rand.Read(sb)
		}
		want := ecdsa.Verify(&k.ec.PublicKey, d[:], new(big.Int).SetBytes(rb), new(big.Int).SetBytes(sb))
		if got := verifyP256(key.ec, d[:], rb, sb); got != want {
			t.Fatalf("case %d: verifyP256 = %v, crypto/ecdsa = %v", i, got, want)
		}
	}
	// r or s of zero or at least the group order are refused.
	d := sha256.Sum256([]byte("x"))
	N := elliptic.P256().Params().N
	n := N.FillBytes(make([]byte, 32))
	for _, rs := range [][2][]byte{{make([]byte, 32), n}, {n, n}, {make([]byte, 32), make([]byte, 32)}} {
		if verifyP256(key.ec, d[:], rs[0], rs[1]) {
			t.Error("degenerate signature accepted")
		}
	}
	// Digests at or above the order are reduced modulo it, as crypto/ecdsa
	// reduces them; n - s verifies as s does; r + n and s + n (when they
	// still fit in 32 bytes) are refused.
	fill := func(v *big.Int) []byte { return v.FillBytes(make([]byte, 32)) }
	ones := make([]byte, 32)
	for i := range ones {
		ones[i] = 0xff
	}
	for _, digest := range [][]byte{n, fill(new(big.Int).Add(N, big.NewInt(1))), ones, make([]byte, 32), d[:]} {
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, digest)
		if err != nil {
			t.Fatal(err)
		}
		variants := [][2]*big.Int{{r, s}, {r, new(big.Int).Sub(N, s)}, {new(big.Int).Add(r, N), s}, {r, new(big.Int).Add(s, N)},
			{r, new(big.Int).Sub(N, big.NewInt(1))}, {new(big.Int).Sub(N, big.NewInt(1)), s}}
		for j, v := range variants {
			if v[0].BitLen() > 256 || v[1].BitLen() > 256 {
				continue
			}
			want := ecdsa.Verify(&k.ec.PublicKey, digest, v[0], v[1])
			if got := verifyP256(key.ec, digest, fill(v[0]), fill(v[1])); got != want {
				t.Fatalf("digest %x, variant %d: verifyP256 = %v, crypto/ecdsa = %v", digest, j, got, want)
			}
			if j < 2 && !want {
				t.Fatalf("digest %x, variant %d: a valid signature did not verify", digest, j)
			}
		}
	}
}

// FuzzVerify: whatever the bytes, Parse and Verify never panic, and a token
// this package accepts is one golang-jwt accepts with the same key (this
// package is the stricter of the two).
func FuzzVerify(f *testing.F) {
	k := newTestKeys(f)
	set := mustSet(f, k.jwks(true), true)
	for _, c := range []struct{ alg, kid string }{{HS256, "hs"}, {RS256, "rsa"}, {ES256, "ec"}, {EdDSA, "ed"}} {
		f.Add(k.sign(f, c.alg, c.kid, nil))
		f.Add(k.sign(f, c.alg, c.kid, jwt.MapClaims{"aud": []string{"a"}, "nbf": now.Unix()}))
	}
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw)
		if err != nil {
			return
		}
		key, ok := set.Lookup(tok.Kid, tok.HasKid)
		if !ok || tok.Verify(key) != nil {
			return
		}
		if _, err := Validate(tok.Claims, Expectations{}, now); err != nil {
			return
		}
		var pub any
		switch {
		case key.secret != nil:
			pub = k.hmac
		case key.rsa != nil:
			pub = &k.rsa.PublicKey
		case key.ec != nil:
			pub = &k.ec.PublicKey
		default:
			pub = k.ed.Public()
		}
		_, err = jwt.NewParser(jwt.WithValidMethods([]string{tok.Alg}), jwt.WithTimeFunc(func() time.Time { return now }),
			jwt.WithExpirationRequired()).Parse(raw, func(*jwt.Token) (any, error) { return pub, nil })
		if err != nil {
			t.Fatalf("accepted here, refused by golang-jwt: %v (%q)", err, raw)
		}
		if !gjson.ValidBytes(tok.Claims) {
			t.Fatal("claims not JSON")
		}
	})
}

// TestMemberBounds: a header or claims object with too many members is
// refused before any key is chosen, and the repeat check stays linear (a
// repeat far down a large object is found).
func TestMemberBounds(t *testing.T) {
	h := enc([]byte(`{"alg":"HS256"}`))
	claims := func(n int, repeat bool) string {
		var b strings.Builder
		b.WriteString(`{"exp":9999999999`)
		for i := 0; i < n; i++ {
			b.WriteString(`,"m` + itoa(int64(i)) + `":0`)
		}
		if repeat {
			b.WriteString(`,"m3":1`)
		}
		b.WriteString(`}`)
		return enc([]byte(b.String()))
	}
	if _, err := Parse(h + "." + claims(maxClaimMembers-1, false) + ".AAAA"); err != nil {
		t.Errorf("%d members refused: %v", maxClaimMembers, err)
	}
	if _, err := Parse(h + "." + claims(maxClaimMembers, false) + ".AAAA"); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d members accepted: %v", maxClaimMembers+1, err)
	}
	if _, err := Parse(h + "." + claims(200, true) + ".AAAA"); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Errorf("repeat after 200 members: %v", err)
	}
	big := enc([]byte(`{"alg":"HS256","x":"` + strings.Repeat("a", maxHeaderBytes) + `"}`))
	if _, err := Parse(big + "." + claims(1, false) + ".AAAA"); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized header accepted: %v", err)
	}
}

// TestUnusableKeysSkipped: an encryption key, another algorithm, a small
// modulus or a shared kid is skipped; the other keys still verify.
func TestUnusableKeysSkipped(t *testing.T) {
	k := newTestKeys(t)
	good := `{"kty":"OKP","crv":"Ed25519","kid":"d1","x":"` + enc(k.ed.Public().(ed25519.PublicKey)) + `"}`
	n := enc(k.rsa.N.Bytes())
	for name, extra := range map[string]string{
		"encryption key": `{"kty":"RSA","use":"enc","alg":"RSA-OAEP","kid":"e","n":"` + n + `","e":"AQAB"}`,
		"PS256 key":      `{"kty":"RSA","alg":"PS256","kid":"p","n":"` + n + `","e":"AQAB"}`,
		"small modulus":  `{"kty":"RSA","kid":"s","n":"` + enc(k.rsa.N.Bytes()[:64]) + `","e":"AQAB"}`,
		"short secret":   `{"kty":"oct","kid":"o","k":"c2hvcnQ"}`,
		"shared kid":     `{"kty":"RSA","kid":"x","n":"` + n + `","e":"AQAB"},{"kty":"RSA","kid":"x","n":"` + n + `","e":"AQAB"}`,
	} {
		set, skipped, err := ParseSet([]byte(`{"keys":[`+extra+`,`+good+`]}`), true)
		if err != nil || skipped == 0 || set.Len() != 1 {
			t.Errorf("%s: set %v, %d skipped, %v", name, set.Len(), skipped, err)
			continue
		}
		if _, ok := set.Lookup("d1", true); !ok {
			t.Errorf("%s: the good key is gone", name)
		}
	}
}
