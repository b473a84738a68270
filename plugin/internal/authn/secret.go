// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// SecretEqual compares two secrets in constant time. Both are hashed first,
// so the comparison takes the same time whatever their lengths.
func SecretEqual(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// Fingerprint is the only form in which credential material may be logged:
// the first 8 hex digits of its SHA-256.
type Fingerprint string

// FingerprintOf returns the fingerprint of a credential.
func FingerprintOf(credential string) Fingerprint {
	sum := sha256.Sum256([]byte(credential))
	return Fingerprint(hex.EncodeToString(sum[:4]))
}
