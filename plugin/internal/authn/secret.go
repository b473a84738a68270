// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// SecretEqual compares two secrets in constant time: it reads every byte of
// the longer one whatever the contents, so its time depends on the longer
// length only, never on where they differ (the first difference, or a
// length mismatch, ends nothing early). It runs on cache hits, where hashing
// both first cost two SHA-256 blocks per comparison and hid no more: a hash
// takes time by the block, so it too told the lengths.
func SecretEqual(a, b string) bool {
	n := max(len(a), len(b))
	var diff byte
	for i := 0; i < n; i++ {
		var x, y byte
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		diff |= x ^ y
	}
	return subtle.ConstantTimeByteEq(diff, 0)&subtle.ConstantTimeEq(int32(len(a)), int32(len(b))) == 1
}

// Fingerprint is the only form in which credential material may be logged:
// the first 8 hex digits of its SHA-256.
type Fingerprint string

// FingerprintOf returns the fingerprint of a credential.
func FingerprintOf(credential string) Fingerprint {
	sum := sha256.Sum256([]byte(credential))
	return Fingerprint(hex.EncodeToString(sum[:4]))
}
