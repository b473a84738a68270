// SPDX-License-Identifier: Apache-2.0

// Package secret holds the token cluster's secret handling: SHA-256
// digests, password hashing, random tokens and the one constant-time compare.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// ErrPassword reports a password that does not match its hash.
var ErrPassword = errors.New("secret: password mismatch")

// Digest returns lowercase hex SHA-256 of raw; secrets are stored only in this form.
func Digest(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// AppendDigest appends Digest(raw) to b.
func AppendDigest(b []byte, raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return hex.AppendEncode(b, sum[:])
}

// Equal compares two secrets or digests in constant time. It is the only
// place the token cluster compares secret material.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// DigestEqual reports whether raw hashes to digest, in constant time.
func DigestEqual(raw, digest string) bool {
	return Equal(Digest(raw), digest)
}

// NewToken returns a random URL-safe token carrying n random bytes.
func NewToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Errorf("secret: random source failed: %w", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hasher hashes and checks passwords with bcrypt at a fixed cost.
type Hasher struct {
	cost  int
	dummy []byte
}

// NewHasher returns a Hasher; cost 0 means bcrypt.DefaultCost. Tests use bcrypt.MinCost.
func NewHasher(cost int) *Hasher {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("credgate-dummy-password"), cost)
	if err != nil {
		panic(fmt.Errorf("secret: bcrypt: %w", err))
	}
	return &Hasher{cost: cost, dummy: dummy}
}

// Hash returns the bcrypt hash of password.
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > 72 {
		return "", fmt.Errorf("secret: password longer than 72 bytes: %w", bcrypt.ErrPasswordTooLong)
	}
	out, err := bcrypt.GenerateFromPassword([]byte(password), h.cost)
	if err != nil {
		return "", fmt.Errorf("secret: hash password: %w", err)
	}
	return string(out), nil
}

// Check returns nil when password matches hash, ErrPassword otherwise. An
// empty hash (unknown account) still costs one bcrypt comparison, so the
// answer time does not reveal whether the account exists.
func (h *Hasher) Check(hash, password string) error {
	target := []byte(hash)
	if hash == "" {
		target = h.dummy
	}
	if err := bcrypt.CompareHashAndPassword(target, []byte(password)); err != nil || hash == "" {
		return ErrPassword
	}
	return nil
}

// Fingerprint returns the first 8 hex characters of the digest of raw, the
// only form of credential material the token cluster writes to logs.
func Fingerprint(raw string) string {
	return Digest(raw)[:8]
}
