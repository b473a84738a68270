// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// edCase is one (public key, message, signature) triple, checked against
// crypto/ed25519.Verify.
type edCase struct {
	name     string
	pub, sig []byte
	msg      []byte
}

func edCases(t testing.TB) []edCase {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0")
	sig := ed25519.Sign(priv, msg)
	flip := func(b []byte, i int, x byte) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= x
		return c
	}
	// S + l: the same point equation, but S is not canonical (RFC 8032
	// §5.1.7 refuses it: malleability).
	l, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	sPlusL := append([]byte(nil), sig...)
	var carry uint16
	for i := 0; i < 32; i++ {
		v := uint16(sPlusL[32+i]) + uint16(l[i]) + carry
		sPlusL[32+i], carry = byte(v), v>>8
	}
	// RFC 8032 §7.1, test 1 (empty message).
	rfcPub, _ := hex.DecodeString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	rfcSig, _ := hex.DecodeString("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
	notPoint := make([]byte, 32)
	notPoint[0] = 2 // y = 2 has no x on the curve
	return []edCase{
		{"valid", pub, sig, msg},
		{"RFC 8032 test 1", rfcPub, rfcSig, nil},
		{"RFC 8032 test 1, other message", rfcPub, rfcSig, []byte("x")},
		{"other message", pub, sig, []byte("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIyIn0")},
		{"R changed", pub, flip(sig, 0, 1), msg},
		{"S changed", pub, flip(sig, 40, 1), msg},
		{"S high bits", pub, flip(sig, 63, 0x80), msg},
		{"S plus the group order", pub, sPlusL, msg},
		{"other key", rfcPub, sig, msg},
		{"key not a point", notPoint, sig, msg},
		{"short signature", pub, sig[:63], msg},
		{"long signature", pub, append(append([]byte(nil), sig...), 0), msg},
		{"zero signature", pub, make([]byte, 64), msg},
		{"identity key", append([]byte{1}, make([]byte, 31)...), make([]byte, 64), msg},
	}
}

func TestEd25519MatchesStdlib(t *testing.T) {
	for _, c := range edCases(t) {
		t.Run(c.name, func(t *testing.T) {
			want := ed25519.Verify(ed25519.PublicKey(c.pub), c.msg, c.sig)
			if got := verifyEd25519(newEdKey(c.pub), c.msg, c.sig); got != want {
				t.Fatalf("verifyEd25519 = %v, crypto/ed25519 = %v", got, want)
			}
		})
	}
	// The cases that must verify do (the table is not all refusals).
	c := edCases(t)
	if !verifyEd25519(newEdKey(c[0].pub), c[0].msg, c[0].sig) || !verifyEd25519(newEdKey(c[1].pub), c[1].msg, c[1].sig) {
		t.Fatal("a valid signature was refused")
	}
}

// FuzzEd25519 checks the verifier against crypto/ed25519 on attacker-chosen
// keys, messages and signatures, seeded with valid ones.
func FuzzEd25519(f *testing.F) {
	for _, c := range edCases(f) {
		f.Add(c.pub, c.msg, c.sig)
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519PublicKeySize {
			return
		}
		want := ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
		if got := verifyEd25519(newEdKey(pub), msg, sig); got != want {
			t.Fatalf("verifyEd25519(%x, %x, %x) = %v, crypto/ed25519 = %v", pub, msg, sig, got, want)
		}
	})
}
