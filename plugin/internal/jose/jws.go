// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"

	"filippo.io/bigmod"
	"filippo.io/nistec"
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/textf"
)

// MaxTokenBytes bounds a compact token.
const MaxTokenBytes = 16 << 10

// Errors of Parse and Verify, tested with errors.Is.
var (
	// ErrMalformed: the token is not a compact JWS with JSON header and claims.
	ErrMalformed = errors.New("malformed token")
	// ErrHeader: a header parameter is refused (crit, alg none, ...).
	ErrHeader = errors.New("header refused")
	// ErrSignature: the signature does not verify with the selected key, or
	// the token's alg is not the key's.
	ErrSignature = errors.New("signature invalid")
)

// Token is a parsed, not yet verified, compact JWS.
type Token struct {
	// Raw is the compact serialization.
	Raw string
	// Alg, Kid and Typ are the header parameters ("" when absent).
	Alg, Kid, Typ string
	// HasKid and HasTyp report whether the header carries them.
	HasKid, HasTyp bool
	// Claims is the decoded payload, a JSON object.
	Claims []byte

	signingInput string
	signature    []byte
}

// Parse splits and decodes a compact JWS. It refuses, before any key is
// chosen: anything but three base64url segments without padding, a header or
// payload that is not a JSON object (or repeats a member), "alg" none or
// missing, a "crit" header (no extension is understood), and header
// parameters of the wrong type.
func Parse(raw string) (*Token, error) {
	if len(raw) > MaxTokenBytes {
		return nil, textf.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenBytes)
	}
	h, rest, ok1 := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 || h == "" || p == "" {
		return nil, textf.Errorf("%w: not three segments", ErrMalformed)
	}
	header, err := b64.DecodeString(h)
	if err != nil {
		return nil, textf.Errorf("%w: header is not base64url", ErrMalformed)
	}
	claims, err := b64.DecodeString(p)
	if err != nil {
		return nil, textf.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, textf.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	if len(header) > maxHeaderBytes {
		return nil, textf.Errorf("%w: header is longer than %d bytes", ErrMalformed, maxHeaderBytes)
	}
	if err := object(header, maxHeaderMembers); err != nil {
		return nil, textf.Errorf("%w: header %v", ErrMalformed, err)
	}
	if err := object(claims, maxClaimMembers); err != nil {
		return nil, textf.Errorf("%w: payload %v", ErrMalformed, err)
	}
	t := &Token{Raw: raw, Claims: claims, signingInput: raw[:len(h)+1+len(p)], signature: sig}
	var herr error
	gjson.ParseBytes(header).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "alg":
			t.Alg, herr = stringParam("alg", v)
		case "kid":
			t.Kid, herr = stringParam("kid", v)
			t.HasKid = true
		case "typ":
			t.Typ, herr = stringParam("typ", v)
			t.HasTyp = true
		case "crit":
			// RFC 7515 §4.1.11: refuse extensions not understood; none are.
			herr = textf.Errorf("%w: crit is not supported", ErrHeader)
		}
		return herr == nil
	})
	if herr != nil {
		return nil, herr
	}
	switch t.Alg {
	case "":
		return nil, textf.Errorf("%w: alg is required", ErrHeader)
	case HS256, RS256, ES256, EdDSA:
	default:
		// "none" included: an unsigned token is never accepted.
		return nil, textf.Errorf("%w: alg %q is not accepted", ErrHeader, truncate(t.Alg))
	}
	if len(sig) == 0 {
		return nil, textf.Errorf("%w: no signature", ErrMalformed)
	}
	return t, nil
}

func stringParam(name string, v gjson.Result) (string, error) {
	if v.Type != gjson.String {
		return "", textf.Errorf("%w: %s is not a string", ErrHeader, name)
	}
	return v.Str, nil
}

// Bounds on a token's JSON: a header has a handful of parameters, claims a
// few dozen.
const (
	maxHeaderBytes   = 1 << 10
	maxHeaderMembers = 16
	maxClaimMembers  = 256
)

// object checks that doc is one JSON object of at most max members whose
// names are not repeated: parsers that keep the first and those that keep
// the last occurrence would read a repeated claim differently. The check is
// linear: names are compared through a map once there are more than a few.
func object(doc []byte, max int) error {
	if !gjson.ValidBytes(doc) {
		return errors.New("is not valid JSON")
	}
	r := gjson.ParseBytes(doc)
	if !r.IsObject() {
		return errors.New("is not a JSON object")
	}
	var few [8]string
	var seen map[string]struct{}
	n := 0
	var err error
	r.ForEach(func(k, _ gjson.Result) bool {
		if n == max {
			err = textf.Errorf("has more than %d members", max)
			return false
		}
		if n < len(few) {
			for _, s := range few[:n] {
				if s == k.Str {
					err = errors.New("repeats a member")
					return false
				}
			}
			few[n] = k.Str
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*len(few))
				for _, s := range few {
					seen[s] = struct{}{}
				}
			}
			if _, dup := seen[k.Str]; dup {
				err = errors.New("repeats a member")
				return false
			}
			seen[k.Str] = struct{}{}
		}
		n++
		return true
	})
	return err
}

// Verify checks the signature with key k. The token's alg must be the key's
// own algorithm: the routine follows the key, never the token.
func (t *Token) Verify(k *Key) error {
	if k == nil || t.Alg != k.Alg {
		return textf.Errorf("%w: alg %s does not match the key (%s)", ErrSignature, truncate(t.Alg), algOf(k))
	}
	var ok bool
	switch {
	case k.secret != nil && k.Alg == HS256:
		mac := hmac.New(sha256.New, k.secret)
		mac.Write([]byte(t.signingInput))
		ok = hmac.Equal(mac.Sum(nil), t.signature)
	case k.rsa != nil && k.Alg == RS256:
		d := sha256.Sum256([]byte(t.signingInput))
		ok = verifyRS256(k.rsa, d[:], t.signature)
	case k.ec != nil && k.Alg == ES256:
		// RFC 7518 §3.4: R || S, each 32 bytes, not ASN.1.
		if len(t.signature) == 64 {
			d := sha256.Sum256([]byte(t.signingInput))
			ok = verifyP256(k.ec, d[:], t.signature[:32], t.signature[32:])
		}
	case k.ed != nil && k.Alg == EdDSA:
		ok = verifyEd25519(k.ed, []byte(t.signingInput), t.signature)
	}
	if !ok {
		return ErrSignature
	}
	return nil
}

func algOf(k *Key) string {
	if k == nil {
		return "no key"
	}
	return k.Alg
}

// sha256DigestInfo is the DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2).
const sha256DigestInfo = "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"

// verifyRS256 is RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2) of a
// SHA-256 digest, as crypto/rsa.VerifyPKCS1v15 does it, on the same
// arithmetic (filippo.io/bigmod is the standard library's own): the
// signature is exactly the modulus's length and below it, and s^e mod n must
// equal the one encoding of the digest, compared whole (no parsing of the
// padding).
func verifyRS256(k *rsaKey, digest, sig []byte) bool {
	n := k.n
	size := n.Size()
	if len(sig) != size || size < len(sha256DigestInfo)+len(digest)+11 {
		return false
	}
	s, err := bigmod.NewNat().SetBytes(sig, n) // refuses s >= n
	if err != nil {
		return false
	}
	em := bigmod.NewNat().ExpShortVarTime(s, k.e, n).Bytes(n)
	want := make([]byte, 0, size)
	want = append(want, 0, 1)
	for range size - 3 - len(sha256DigestInfo) - len(digest) {
		want = append(want, 0xff)
	}
	want = append(want, 0)
	want = append(want, sha256DigestInfo...)
	want = append(want, digest...)
	return string(em) == string(want)
}

// p256Order is n, the order of the P-256 group, and p256OrderMinus2 is
// n-2, the exponent that inverts modulo the prime n (Fermat), as
// crypto/ecdsa inverts for curves without a dedicated inversion.
var (
	p256Order = mustModulus([]byte{
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51})
	p256OrderMinus2 = []byte{
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x4f}
)

func mustModulus(b []byte) *bigmod.Modulus {
	m, err := bigmod.NewModulus(b)
	if err != nil {
		panic(err)
	}
	return m
}

// verifyP256 is ECDSA verification (FIPS 186-5 §6.4.2) over P-256 for a
// SHA-256 digest, step for step as crypto/ecdsa's verifyGeneric: nistec's
// P-256 for the points (crypto/ecdsa would link every NIST curve) and
// filippo.io/bigmod, the standard library's own, for the scalars modulo the
// group order. Tests check it against crypto/ecdsa.
func verifyP256(pub *nistec.P256Point, digest, rb, sb []byte) bool {
	n := p256Order
	r, err := bigmod.NewNat().SetBytes(rb, n)
	if err != nil || r.IsZero() == 1 {
		return false
	}
	s, err := bigmod.NewNat().SetBytes(sb, n)
	if err != nil || s.IsZero() == 1 {
		return false
	}
	// A 256-bit digest needs no truncation for a 256-bit order; it is
	// reduced modulo n, as is the x coordinate below.
	e, err := bigmod.NewNat().SetOverflowingBytes(digest, n)
	if err != nil {
		return false
	}
	w := bigmod.NewNat().Exp(s, p256OrderMinus2, n) // s⁻¹
	u1 := e.Mul(w, n)
	u2 := w.Mul(r, n)
	// [u1]G with ScalarMult, not ScalarBaseMult: the module is built
	// without the base-point table ScalarBaseMult reads (88 KB,
	// scripts/build-wasm.sh).
	p1, err := nistec.NewP256Point().ScalarMult(nistec.NewP256Point().SetGenerator(), u1.Bytes(n))
	if err != nil {
		return false
	}
	p2, err := nistec.NewP256Point().ScalarMult(pub, u2.Bytes(n))
	if err != nil {
		return false
	}
	x, err := p1.Add(p1, p2).BytesX() // fails at infinity
	if err != nil {
		return false
	}
	v, err := bigmod.NewNat().SetOverflowingBytes(x, n)
	return err == nil && v.Equal(r) == 1
}
