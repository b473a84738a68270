// SPDX-License-Identifier: Apache-2.0

// Package jose verifies compact JWS tokens (RFC 7515) signed with HS256,
// RS256, ES256 or EdDSA (Ed25519), and reads keys from JSON Web Key sets
// (RFC 7517). It is built on the standard library's hashes, HMAC and Ed25519,
// nistec's P-256, filippo.io/bigmod (the standard library's modular
// arithmetic, which crypto/rsa and crypto/ecdsa use) for RSA and the ECDSA
// scalars, and gjson: no X.509, no crypto/rsa or math/big, no network code,
// no reflection-based JSON, so the Wasm module stays small.
//
// Every key is pinned to one algorithm, derived from its key type when the JWK
// names none; a token is checked only with a key whose algorithm equals the
// token's "alg". "none" is never accepted, and a public key can never be used
// as an HMAC secret (algorithm confusion), because the verification routine
// is chosen by the key, not by the token.
package jose

import (
	"encoding/base64"
	"errors"
	"math/bits"

	"filippo.io/bigmod"
	"filippo.io/nistec"
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/textf"
)

// Algorithms accepted, by their JWS "alg" names.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Limits on what a key set may hold.
const (
	// MaxKeys bounds the keys read from one set.
	MaxKeys = 64
	// MaxSetBytes bounds the size of a JSON Web Key Set document.
	MaxSetBytes = 64 << 10
	// MinHMACKey is the shortest HS256 secret accepted (RFC 7518 §3.2).
	MinHMACKey = 32
	// MinRSABits is the smallest RSA modulus accepted.
	MinRSABits = 2048
	// MaxRSABits bounds the RSA modulus, so a hostile key set cannot make
	// every verification expensive.
	MaxRSABits = 8192
)

// Key is one verification key pinned to one algorithm.
type Key struct {
	// ID is the key's "kid" (may be empty).
	ID string
	// Alg is the one algorithm this key verifies.
	Alg string

	secret []byte
	rsa    *rsaKey
	ec     *nistec.P256Point
	ecRaw  []byte // uncompressed point, for comparison
	ed     *edKey
}

// rsaKey is an RSA public key: the modulus, ready for verification, and the
// exponent (odd, at least 3, below 2³¹).
type rsaKey struct {
	n   *bigmod.Modulus
	e   uint
	raw string // the modulus's bytes, for comparison
}

// newRSAKey returns the key of modulus n (big-endian, no leading zero byte)
// and exponent e, or an error if n is even (no RSA modulus is, and bigmod's
// exponentiation needs an odd one).
func newRSAKey(n []byte, e uint) (*rsaKey, error) {
	if len(n) == 0 || n[0] == 0 || n[len(n)-1]&1 == 0 {
		return nil, errors.New("the RSA modulus is even")
	}
	mod, err := bigmod.NewModulus(n)
	if err != nil {
		return nil, errors.New("the RSA modulus is not usable")
	}
	return &rsaKey{n: mod, e: e, raw: string(n)}, nil
}

// bitLen is the length in bits of big-endian b, whose first byte is not 0.
func bitLen(b []byte) int { return 8*len(b) - bits.LeadingZeros8(b[0]) }

// Symmetric reports whether the key is an HMAC secret.
func (k *Key) Symmetric() bool { return k.secret != nil }

// NewHMACKey returns an HS256 key.
func NewHMACKey(id string, secret []byte) (*Key, error) {
	if len(secret) < MinHMACKey {
		return nil, textf.Errorf("an HS256 secret must be at least %d bytes", MinHMACKey)
	}
	return &Key{ID: id, Alg: HS256, secret: append([]byte(nil), secret...)}, nil
}

// ErrSecretKey marks a symmetric key found in a set that may only hold
// public keys.
var ErrSecretKey = errors.New("symmetric keys are not accepted from this key set")

var b64 = base64.RawURLEncoding.Strict()

// ParseJWK reads one JSON Web Key. allowSecret admits "oct" keys.
func ParseJWK(jwk gjson.Result, allowSecret bool) (*Key, error) {
	if !jwk.IsObject() {
		return nil, errors.New("a key is a JSON object")
	}
	str := func(name string) (string, error) {
		v := jwk.Get(name)
		if !v.Exists() {
			return "", nil
		}
		if v.Type != gjson.String {
			return "", textf.Errorf("%s must be a string", name)
		}
		return v.Str, nil
	}
	bin := func(name string) ([]byte, error) {
		s, err := str(name)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, textf.Errorf("%s is required", name)
		}
		out, err := b64.DecodeString(s)
		if err != nil {
			return nil, textf.Errorf("%s is not base64url without padding", name)
		}
		return out, nil
	}
	kty, err := str("kty")
	if err != nil {
		return nil, err
	}
	kid, err := str("kid")
	if err != nil {
		return nil, err
	}
	alg, err := str("alg")
	if err != nil {
		return nil, err
	}
	if use, err := str("use"); err != nil {
		return nil, err
	} else if use != "" && use != "sig" {
		return nil, textf.Errorf("use %q is not sig", truncate(use))
	}
	if ops := jwk.Get("key_ops"); ops.Exists() {
		verify := false
		for _, op := range ops.Array() {
			verify = verify || op.Str == "verify"
		}
		if !ops.IsArray() || !verify {
			return nil, errors.New("key_ops does not include verify")
		}
	}
	k := &Key{ID: kid}
	switch kty {
	case "oct":
		if !allowSecret {
			return nil, ErrSecretKey
		}
		k.Alg = HS256
		secret, err := bin("k")
		if err != nil {
			return nil, err
		}
		if len(secret) < MinHMACKey {
			return nil, textf.Errorf("an HS256 secret must be at least %d bytes", MinHMACKey)
		}
		k.secret = secret
	case "RSA":
		k.Alg = RS256
		n, err := bin("n")
		if err != nil {
			return nil, err
		}
		e, err := bin("e")
		if err != nil {
			return nil, err
		}
		if n[0] == 0 || len(e) > 4 || len(e) == 0 || e[0] == 0 {
			return nil, errors.New("n or e is not a minimal big-endian integer")
		}
		exp := 0
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
			return nil, errors.New("e is not an odd exponent of at least 3")
		}
		if bits := bitLen(n); bits < MinRSABits || bits > MaxRSABits {
			return nil, textf.Errorf("an RSA modulus of %d bits is outside %d-%d", bits, MinRSABits, MaxRSABits)
		}
		if k.rsa, err = newRSAKey(n, uint(exp)); err != nil {
			return nil, err
		}
	case "EC":
		k.Alg = ES256
		if crv, err := str("crv"); err != nil {
			return nil, err
		} else if crv != "P-256" {
			return nil, textf.Errorf("curve %q is not supported (P-256 only)", truncate(crv))
		}
		x, err := bin("x")
		if err != nil {
			return nil, err
		}
		y, err := bin("y")
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("x and y must be 32 bytes for P-256")
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := nistec.NewP256Point().SetBytes(point)
		if err != nil {
			return nil, errors.New("the point is not on P-256")
		}
		k.ec, k.ecRaw = pub, point
	case "OKP":
		k.Alg = EdDSA
		if crv, err := str("crv"); err != nil {
			return nil, err
		} else if crv != "Ed25519" {
			return nil, textf.Errorf("curve %q is not supported (Ed25519 only)", truncate(crv))
		}
		x, err := bin("x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519PublicKeySize {
			return nil, errors.New("x must be 32 bytes for Ed25519")
		}
		k.ed = newEdKey(x)
	case "":
		return nil, errors.New("kty is required")
	default:
		return nil, textf.Errorf("kty %q is not supported", truncate(kty))
	}
	if alg != "" && alg != k.Alg {
		return nil, textf.Errorf("alg %q does not fit a %s key (%s)", truncate(alg), kty, k.Alg)
	}
	return k, nil
}

// Set is an immutable collection of keys, selected by "kid".
type Set struct {
	keys []*Key
}

// NewSet returns a set of the given keys; kids must be unique.
func NewSet(keys []*Key) (*Set, error) {
	if len(keys) > MaxKeys {
		return nil, textf.Errorf("at most %d keys", MaxKeys)
	}
	for i, k := range keys {
		for _, o := range keys[:i] {
			if o.ID == k.ID {
				return nil, textf.Errorf("duplicate kid %q", truncate(k.ID))
			}
		}
	}
	return &Set{keys: keys}, nil
}

// ParseSet reads a JSON Web Key Set ({"keys": [...]}). A key this package
// cannot verify with (another type or curve, an encryption key, a size out
// of range, a malformed member, a secret in a set read as public) is skipped
// and counted, as RFC 7517 §5 allows: one unusable key never takes the
// others down. Keys sharing a kid are all skipped (which one would a token
// mean?). The set fails only when it is not a JSON key set or holds no
// usable key; the error then names the first key's problem. allowSecret
// admits "oct" keys.
func ParseSet(doc []byte, allowSecret bool) (*Set, int, error) {
	if len(doc) > MaxSetBytes {
		return nil, 0, textf.Errorf("the key set is larger than %d bytes", MaxSetBytes)
	}
	if !gjson.ValidBytes(doc) {
		return nil, 0, errors.New("the key set is not valid JSON")
	}
	root := gjson.ParseBytes(doc)
	list := root.Get("keys")
	if !root.IsObject() || !list.IsArray() {
		return nil, 0, errors.New(`a key set is an object with a "keys" array`)
	}
	var keys []*Key
	skipped, total := 0, 0
	var first error
	list.ForEach(func(i, jwk gjson.Result) bool {
		total++
		if total > 4*MaxKeys {
			return false
		}
		k, err := ParseJWK(jwk, allowSecret)
		if err != nil {
			skipped++
			if first == nil {
				first = textf.Errorf("keys[%d]: %w", i.Int(), err)
			}
			return true
		}
		keys = append(keys, k)
		return true
	})
	if total > 4*MaxKeys {
		return nil, 0, textf.Errorf("the key set has more than %d keys", 4*MaxKeys)
	}
	// Drop every key whose kid is shared.
	var kept []*Key
	for i, k := range keys {
		shared := false
		for j, o := range keys {
			shared = shared || (i != j && o.ID == k.ID)
		}
		if shared {
			skipped++
			if first == nil {
				first = textf.Errorf("kid %q is given to several keys", truncate(k.ID))
			}
			continue
		}
		kept = append(kept, k)
	}
	if len(kept) > MaxKeys {
		return nil, skipped, textf.Errorf("the key set has more than %d usable keys", MaxKeys)
	}
	if len(kept) == 0 {
		if first != nil {
			return nil, skipped, textf.Errorf("the key set has no usable key (%w)", first)
		}
		return nil, skipped, errors.New("the key set has no usable key")
	}
	set, err := NewSet(kept)
	return set, skipped, err
}

// Len is the number of keys.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Lookup finds the key for a token's kid. A token without kid (hasKid false)
// is matched only by a set of exactly one key.
func (s *Set) Lookup(kid string, hasKid bool) (*Key, bool) {
	if s == nil {
		return nil, false
	}
	if !hasKid {
		if len(s.keys) == 1 {
			return s.keys[0], true
		}
		return nil, false
	}
	for _, k := range s.keys {
		if k.ID == kid {
			return k, true
		}
	}
	return nil, false
}

// Has reports whether the set still holds the key k (same kid and material).
func (s *Set) Has(k *Key) bool {
	if s == nil {
		return false
	}
	for _, o := range s.keys {
		if o == k || (o.ID == k.ID && o.Alg == k.Alg && o.equal(k)) {
			return true
		}
	}
	return false
}

func (k *Key) equal(o *Key) bool {
	switch {
	case k.secret != nil:
		return string(k.secret) == string(o.secret)
	case k.rsa != nil:
		return o.rsa != nil && k.rsa.raw == o.rsa.raw && k.rsa.e == o.rsa.e
	case k.ec != nil:
		return o.ec != nil && string(k.ecRaw) == string(o.ecRaw)
	default:
		return o.ed != nil && k.ed != nil && k.ed.raw == o.ed.raw
	}
}

func truncate(s string) string {
	if len(s) <= 32 {
		return s
	}
	return s[:32] + "…"
}
