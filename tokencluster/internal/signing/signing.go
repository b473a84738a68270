// SPDX-License-Identifier: Apache-2.0

// Package signing holds the token cluster's JWT signing keys: it generates
// and reads their private material, signs tokens with the newest key, and
// publishes the keys as JSON Web Key Sets (RFC 7517) so the plugin follows a
// rotation without a configuration change.
package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms a signing key may have; HS256 is the default.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Algs lists the accepted algorithms.
var Algs = []string{HS256, RS256, ES256, EdDSA}

// Valid reports whether alg is accepted ("" means HS256).
func Valid(alg string) bool {
	for _, a := range Algs {
		if a == alg {
			return true
		}
	}
	return alg == ""
}

// Generate returns new private material for an asymmetric algorithm, as
// stored in a signing key record: base64 of the PKCS #8 DER.
func Generate(alg string) (string, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return "", fmt.Errorf("no key to generate for %q", alg)
	}
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// Normalize checks supplied private material for alg (a PEM "PRIVATE KEY"
// block or base64 PKCS #8 DER) and returns it as stored.
func Normalize(alg, material string) (string, error) {
	if _, err := privateKey(alg, material); err != nil {
		return "", err
	}
	if block, _ := pem.Decode([]byte(material)); block != nil {
		return base64.StdEncoding.EncodeToString(block.Bytes), nil
	}
	return strings.TrimSpace(material), nil
}

func privateKey(alg, material string) (crypto.Signer, error) {
	der := []byte(nil)
	if block, _ := pem.Decode([]byte(material)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(material))
		if err != nil {
			return nil, errors.New("a PEM PRIVATE KEY block or base64 PKCS #8 is required")
		}
		der = b
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("not a PKCS #8 private key")
	}
	switch key := k.(type) {
	case *rsa.PrivateKey:
		if alg == RS256 && key.N.BitLen() >= 2048 {
			return key, nil
		}
	case *ecdsa.PrivateKey:
		if alg == ES256 && key.Curve == elliptic.P256() {
			return key, nil
		}
	case ed25519.PrivateKey:
		if alg == EdDSA {
			return key, nil
		}
	}
	return nil, fmt.Errorf("the private key does not fit %s (RSA of 2048 bits or more, P-256, Ed25519)", alg)
}

// Key is one signing key as stored.
type Key struct {
	ID     string
	Alg    string // "" is HS256
	Secret string // HS256 secret, or base64 PKCS #8 private key
}

func (k Key) alg() string {
	if k.Alg == "" {
		return HS256
	}
	return k.Alg
}

// Sign signs claims with k, naming it in the "kid" header.
func Sign(k Key, claims jwt.Claims) (string, error) {
	var m jwt.SigningMethod
	var key any
	switch k.alg() {
	case HS256:
		m, key = jwt.SigningMethodHS256, []byte(k.Secret)
	case RS256, ES256, EdDSA:
		priv, err := privateKey(k.alg(), k.Secret)
		if err != nil {
			return "", fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		m, key = jwt.GetSigningMethod(k.alg()), priv
	default:
		return "", fmt.Errorf("signing key %s: unknown alg %q", k.ID, k.Alg)
	}
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"] = k.ID
	return tok.SignedString(key)
}

// JWK is one JSON Web Key.
type JWK map[string]string

// PublicJWK returns the public JWK of an asymmetric key; ok is false for
// HS256 keys and unreadable material.
func PublicJWK(k Key) (JWK, bool) {
	if k.alg() == HS256 {
		return nil, false
	}
	priv, err := privateKey(k.alg(), k.Secret)
	if err != nil {
		return nil, false
	}
	enc := base64.RawURLEncoding.EncodeToString
	j := JWK{"kid": k.ID, "alg": k.alg(), "use": "sig"}
	switch pub := priv.Public().(type) {
	case *rsa.PublicKey:
		j["kty"], j["n"], j["e"] = "RSA", enc(pub.N.Bytes()), enc(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // uncompressed: 0x04 || X || Y
		if err != nil {
			return nil, false
		}
		j["kty"], j["crv"], j["x"], j["y"] = "EC", "P-256", enc(raw[1:33]), enc(raw[33:])
	case ed25519.PublicKey:
		j["kty"], j["crv"], j["x"] = "OKP", "Ed25519", enc(pub)
	}
	return j, true
}

// SecretJWK returns the "oct" JWK of an HS256 key.
func SecretJWK(k Key) (JWK, bool) {
	if k.alg() != HS256 || k.Secret == "" {
		return nil, false
	}
	return JWK{"kty": "oct", "kid": k.ID, "alg": HS256, "use": "sig",
		"k": base64.RawURLEncoding.EncodeToString([]byte(k.Secret))}, true
}
