// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"crypto/sha512"
	"crypto/subtle"

	"filippo.io/edwards25519"
)

// Ed25519 (RFC 8032 §5.1.7, pure Ed25519) on filippo.io/edwards25519, the
// maintained standalone copy of the group arithmetic crypto/ed25519 runs
// on, in the same steps as crypto/ed25519.Verify: crypto/ed25519 itself
// links crypto/rand and its DRBG (for key generation), which a verifier
// never uses. Tested against crypto/ed25519 (TestEd25519MatchesStdlib,
// FuzzEd25519).

const (
	ed25519PublicKeySize = 32
	ed25519SignatureSize = 64
)

// edKey is an Ed25519 public key: its encoding and, when the encoding is a
// point, the point negated (-A), ready for verification.
type edKey struct {
	raw    [ed25519PublicKeySize]byte
	minusA *edwards25519.Point // nil: not a point; nothing verifies
}

func newEdKey(x []byte) *edKey {
	k := &edKey{}
	copy(k.raw[:], x)
	if a, err := new(edwards25519.Point).SetBytes(x); err == nil {
		k.minusA = new(edwards25519.Point).Negate(a)
	}
	return k
}

// verifyEd25519 reports whether sig is k's signature of msg: S canonical
// (below the group order), and [S]B = R + [k]A with k = SHA-512(R || A ||
// msg), compared on R's encoding.
func verifyEd25519(k *edKey, msg, sig []byte) bool {
	if k.minusA == nil || len(sig) != ed25519SignatureSize || sig[63]&224 != 0 {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.raw[:])
	h.Write(msg)
	var digest [sha512.Size]byte
	kScalar, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(kScalar, k.minusA, s)
	return subtle.ConstantTimeCompare(sig[:32], r.Bytes()) == 1
}
