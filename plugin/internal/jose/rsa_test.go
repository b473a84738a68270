// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
)

// testRSAKey is the verification key of n and e, as ParseJWK makes it.
func testRSAKey(t testing.TB, n *big.Int, e int) *rsaKey {
	t.Helper()
	k, err := newRSAKey(n.Bytes(), uint(e))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rsaKeyWithExponent returns a private key of about bits bits whose public
// exponent is e (crypto/rsa only generates 65537), for raw signing.
func rsaKeyWithExponent(t testing.TB, bits, e int) *rsa.PrivateKey {
	t.Helper()
	E := big.NewInt(int64(e))
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			t.Fatal(err)
		}
		q, err := rand.Prime(rand.Reader, bits-bits/2)
		if err != nil {
			t.Fatal(err)
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(E, phi)
		if p.Cmp(q) == 0 || d == nil {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			continue
		}
		return &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: e}, D: d, Primes: []*big.Int{p, q}}
	}
}

// signRaw is PKCS #1 v1.5 signing by hand (em^d mod n), for keys crypto/rsa
// would not generate.
func signRaw(priv *rsa.PrivateKey, digest []byte) []byte {
	k := (priv.N.BitLen() + 7) / 8
	em := []byte{0, 1}
	for range k - 3 - len(sha256DigestInfo) - len(digest) {
		em = append(em, 0xff)
	}
	em = append(append(append(em, 0), sha256DigestInfo...), digest...)
	return new(big.Int).Exp(new(big.Int).SetBytes(em), priv.D, priv.N).FillBytes(make([]byte, k))
}

// TestRS256ExponentsAndSizesAgainstCryptoRSA: the exponents a key set may
// carry (3, 65537, 2³¹-1) and moduli whose length is not a whole number of
// bytes or limbs verify as crypto/rsa verifies them.
func TestRS256ExponentsAndSizesAgainstCryptoRSA(t *testing.T) {
	for _, c := range []struct{ bits, e int }{{2048, 3}, {2050, 65537}, {2055, 1<<31 - 1}, {2088, 17}} {
		priv := rsaKeyWithExponent(t, c.bits, c.e)
		key := testRSAKey(t, priv.N, priv.E)
		for i := range 8 {
			d := sha256.Sum256([]byte{byte(i), byte(c.e)})
			sig := signRaw(priv, d[:])
			switch i % 4 {
			case 1:
				sig[i%len(sig)] ^= 1 << (i % 8)
			case 2:
				d[i%32] ^= 1
			case 3:
				sig = new(big.Int).Sub(priv.N, big.NewInt(1)).FillBytes(make([]byte, len(sig))) // n-1: (n-1)^e = n-1
			}
			want := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d[:], sig) == nil
			if got := verifyRS256(key, d[:], sig); got != want {
				t.Fatalf("%d bits, e %d, case %d: verifyRS256 = %v, crypto/rsa = %v", c.bits, c.e, i, got, want)
			}
			if i%4 == 0 && !want {
				t.Fatalf("%d bits, e %d: a valid signature did not verify", c.bits, c.e)
			}
		}
		// Zero and one are below n and their own powers: never an encoding.
		for _, v := range []int64{0, 1} {
			d := sha256.Sum256([]byte("x"))
			if verifyRS256(key, d[:], big.NewInt(v).FillBytes(make([]byte, key.n.Size()))) {
				t.Fatalf("signature %d verified", v)
			}
		}
	}
}

// TestRSAModulusRefused: an even modulus is refused when the key is read
// (bigmod exponentiates modulo odd moduli only), and an odd one is kept.
func TestRSAModulusRefused(t *testing.T) {
	n := make([]byte, 256)
	n[0] = 0xc5
	n[255] = 0x10
	if _, err := newRSAKey(n, 65537); err == nil {
		t.Fatal("an even modulus was accepted")
	}
	if _, err := newRSAKey(append([]byte{0}, n...), 65537); err == nil {
		t.Fatal("a modulus with a leading zero byte was accepted")
	}
	if _, err := newRSAKey(nil, 65537); err == nil {
		t.Fatal("an empty modulus was accepted")
	}
	n[255] = 0x11
	if _, err := newRSAKey(n, 65537); err != nil {
		t.Fatalf("an odd modulus was refused: %v", err)
	}
	doc := `{"keys":[{"kty":"RSA","n":"` + enc(append(n[:255:255], 0x10)) + `","e":"AQAB"}]}`
	if _, _, err := ParseSet([]byte(doc), false); err == nil {
		t.Fatal("a key set whose RSA modulus is even was accepted")
	}
}

// TestRS256AgainstCryptoRSA: verifyRS256 agrees with crypto/rsa on valid,
// altered and random signatures.
func TestRS256AgainstCryptoRSA(t *testing.T) {
	for _, bits := range []int{2048, 3072, 4096} {
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		key := testRSAKey(t, priv.N, priv.E)
		for i := range 24 {
			d := sha256.Sum256([]byte{byte(i), byte(bits)})
			sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
			if err != nil {
				t.Fatal(err)
			}
			switch i % 6 {
			case 1:
				sig[i%len(sig)] ^= 1 << (i % 8)
			case 2:
				d[i%32] ^= 1
			case 3:
				_, _ = rand.Read(sig)
			case 4:
				sig = sig[1:]
			case 5:
				sig = priv.N.Bytes() // s = n: not below the modulus
			}
			want := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d[:], sig) == nil
			if got := verifyRS256(key, d[:], sig); got != want {
				t.Fatalf("%d bits, case %d: verifyRS256 = %v, crypto/rsa = %v", bits, i, got, want)
			}
			if i%6 == 0 && !want {
				t.Fatal("a valid signature did not verify")
			}
		}
	}
}

// TestRS256RefusesOtherEncodings: a signature whose s^e mod n ends in the
// right digest but is not the one PKCS #1 v1.5 encoding of it (another
// DigestInfo, a bad padding byte, another block type, a shorter padding) is
// refused, as crypto/rsa refuses it.
func TestRS256RefusesOtherEncodings(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key := testRSAKey(t, priv.N, priv.E)
	k := key.n.Size()
	d := sha256.Sum256([]byte("message"))
	encode := func(blockType byte, pad byte, padLen int, prefix string) []byte {
		em := []byte{0, blockType}
		for range padLen {
			em = append(em, pad)
		}
		em = append(em, 0)
		em = append(em, prefix...)
		em = append(em, d[:]...)
		for len(em) < k { // keep the length: shift the digest right
			em = append([]byte{0}, em...)
		}
		return em
	}
	sign := func(em []byte) []byte { // raw RSA: em^d mod n
		return new(big.Int).Exp(new(big.Int).SetBytes(em), priv.D, priv.N).FillBytes(make([]byte, k))
	}
	full := k - 3 - len(sha256DigestInfo) - len(d)
	sha1Info := "\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14" // SHA-1's, with a 32-byte digest after it
	cases := []struct {
		name string
		em   []byte
		ok   bool
	}{
		{"the encoding", encode(1, 0xff, full, sha256DigestInfo), true},
		{"another DigestInfo", encode(1, 0xff, full+len(sha256DigestInfo)-len(sha1Info), sha1Info), false},
		{"no DigestInfo", encode(1, 0xff, full+len(sha256DigestInfo), ""), false},
		{"padding byte 0xfe", encode(1, 0xfe, full, sha256DigestInfo), false},
		{"block type 2", encode(2, 0xff, full, sha256DigestInfo), false},
		{"short padding", encode(1, 0xff, full-1, sha256DigestInfo), false},
	}
	for _, c := range cases {
		sig := sign(c.em)
		want := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d[:], sig) == nil
		if got := verifyRS256(key, d[:], sig); got != c.ok || want != c.ok {
			t.Errorf("%s: verifyRS256 = %v, crypto/rsa = %v, want %v", c.name, got, want, c.ok)
		}
	}
}

// TestRS256RefusesSignatureAboveModulus: s + n (same length, same s^e mod n)
// is refused, as crypto/rsa refuses it: one token, one signature.
func TestRS256RefusesSignatureAboveModulus(t *testing.T) {
	limit := new(big.Int).Lsh(big.NewInt(1), 2048)
	for range 4 {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		key := testRSAKey(t, priv.N, priv.E)
		for i := range 64 {
			d := sha256.Sum256([]byte{byte(i)})
			sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
			if err != nil {
				t.Fatal(err)
			}
			above := new(big.Int).Add(new(big.Int).SetBytes(sig), priv.N)
			if above.Cmp(limit) >= 0 {
				continue
			}
			if !verifyRS256(key, d[:], sig) {
				t.Fatal("a valid signature did not verify")
			}
			if verifyRS256(key, d[:], above.FillBytes(make([]byte, 256))) {
				t.Fatal("s + n verified")
			}
			return
		}
	}
	t.Skip("no signature below 2^2048 - n in 256 tries")
}
