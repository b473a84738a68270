// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

func natOf(md *modulus, x []uint32) *big.Int { return new(big.Int).SetBytes(md.bytes(x)) }

// TestModulusAgainstMathBig checks multiplication and exponentiation modulo
// odd moduli of many sizes against math/big.
func TestModulusAgainstMathBig(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range 300 {
		size := 1 + rng.IntN(80)
		mb := randBytes(size)
		mb[0] |= 0x80 >> (i % 8) // varied bit lengths, no leading zero byte
		if mb[0] == 0 {
			mb[0] = 1
		}
		mb[size-1] |= 1
		if i%5 == 0 { // all-ones limbs stress the carries
			for j := range mb {
				mb[j] = 0xff
			}
		}
		md := newModulus(mb)
		m := new(big.Int).SetBytes(mb)
		below := func() ([]uint32, *big.Int) {
			v, err := rand.Int(rand.Reader, m)
			if err != nil {
				t.Fatal(err)
			}
			x, ok := md.fromBytes(v.Bytes())
			if !ok {
				t.Fatalf("fromBytes refused %v < %v", v, m)
			}
			return x, v
		}
		a, av := below()
		b, bv := below()
		if got, want := natOf(md, md.mulMod(a, b)), new(big.Int).Mod(new(big.Int).Mul(av, bv), m); got.Cmp(want) != 0 {
			t.Fatalf("modulus %x: %v·%v = %v, want %v", mb, av, bv, got, want)
		}
		e := randBytes(1 + rng.IntN(8))
		if got, want := natOf(md, md.exp(a, e)), new(big.Int).Exp(av, new(big.Int).SetBytes(e), m); got.Cmp(want) != 0 {
			t.Fatalf("modulus %x: %v^%x = %v, want %v", mb, av, e, got, want)
		}
		if _, ok := md.fromBytes(mb); ok {
			t.Fatal("fromBytes accepted the modulus itself")
		}
	}
	if newModulus([]byte{0x10}) != nil || newModulus(nil) != nil || newModulus([]byte{0, 3}) != nil {
		t.Fatal("an even, empty or non-minimal modulus was accepted")
	}
}

// TestRS256AgainstCryptoRSA: verifyRS256 agrees with crypto/rsa on valid,
// altered and random signatures.
func TestRS256AgainstCryptoRSA(t *testing.T) {
	for _, bits := range []int{2048, 3072} {
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		key := &rsaKey{n: newModulus(priv.N.Bytes()), e: big.NewInt(int64(priv.E)).Bytes()}
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
	key := &rsaKey{n: newModulus(priv.N.Bytes()), e: big.NewInt(int64(priv.E)).Bytes()}
	k := key.n.size
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
		key := &rsaKey{n: newModulus(priv.N.Bytes()), e: big.NewInt(int64(priv.E)).Bytes()}
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
