// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"filippo.io/nistec"
	"github.com/tidwall/gjson"
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
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenBytes)
	}
	h, rest, ok1 := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 || h == "" || p == "" {
		return nil, fmt.Errorf("%w: not three segments", ErrMalformed)
	}
	header, err := b64.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	claims, err := b64.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	if len(header) > maxHeaderBytes {
		return nil, fmt.Errorf("%w: header is longer than %d bytes", ErrMalformed, maxHeaderBytes)
	}
	if err := object(header, maxHeaderMembers); err != nil {
		return nil, fmt.Errorf("%w: header %v", ErrMalformed, err)
	}
	if err := object(claims, maxClaimMembers); err != nil {
		return nil, fmt.Errorf("%w: payload %v", ErrMalformed, err)
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
			herr = fmt.Errorf("%w: crit is not supported", ErrHeader)
		}
		return herr == nil
	})
	if herr != nil {
		return nil, herr
	}
	switch t.Alg {
	case "":
		return nil, fmt.Errorf("%w: alg is required", ErrHeader)
	case HS256, RS256, ES256, EdDSA:
	default:
		// "none" included: an unsigned token is never accepted.
		return nil, fmt.Errorf("%w: alg %q is not accepted", ErrHeader, truncate(t.Alg))
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: no signature", ErrMalformed)
	}
	return t, nil
}

func stringParam(name string, v gjson.Result) (string, error) {
	if v.Type != gjson.String {
		return "", fmt.Errorf("%w: %s is not a string", ErrHeader, name)
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
			err = fmt.Errorf("has more than %d members", max)
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
		return fmt.Errorf("%w: alg %s does not match the key (%s)", ErrSignature, truncate(t.Alg), algOf(k))
	}
	var ok bool
	switch {
	case k.secret != nil && k.Alg == HS256:
		mac := hmac.New(sha256.New, k.secret)
		mac.Write([]byte(t.signingInput))
		ok = hmac.Equal(mac.Sum(nil), t.signature)
	case k.rsa != nil && k.Alg == RS256:
		d := sha256.Sum256([]byte(t.signingInput))
		ok = rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, d[:], t.signature) == nil
	case k.ec != nil && k.Alg == ES256:
		// RFC 7518 §3.4: R || S, each 32 bytes, not ASN.1.
		if len(t.signature) == 64 {
			d := sha256.Sum256([]byte(t.signingInput))
			ok = verifyP256(k.ec, d[:], t.signature[:32], t.signature[32:])
		}
	case k.ed != nil && k.Alg == EdDSA:
		ok = len(t.signature) == ed25519.SignatureSize && ed25519.Verify(k.ed, []byte(t.signingInput), t.signature)
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

// p256N is the order of the P-256 group.
var p256N, _ = new(big.Int).SetString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)

// verifyP256 is ECDSA verification (FIPS 186-5 §6.4.2) over P-256 for a
// SHA-256 digest. It is built on nistec's P-256 arithmetic alone, so the
// module does not link every NIST curve as crypto/ecdsa does; only public
// values are involved, so variable-time scalar arithmetic is fine. Tests
// check it against crypto/ecdsa.
func verifyP256(pub *nistec.P256Point, digest, rb, sb []byte) bool {
	r, s := new(big.Int).SetBytes(rb), new(big.Int).SetBytes(sb)
	if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(p256N) >= 0 || s.Cmp(p256N) >= 0 {
		return false
	}
	// A 256-bit digest needs no truncation for a 256-bit order.
	e := new(big.Int).SetBytes(digest)
	w := new(big.Int).ModInverse(s, p256N)
	u1 := e.Mul(e, w)
	u1.Mod(u1, p256N)
	u2 := new(big.Int).Mul(r, w)
	u2.Mod(u2, p256N)
	var b1, b2 [32]byte
	p1, err := nistec.NewP256Point().ScalarBaseMult(u1.FillBytes(b1[:]))
	if err != nil {
		return false
	}
	p2, err := nistec.NewP256Point().ScalarMult(pub, u2.FillBytes(b2[:]))
	if err != nil {
		return false
	}
	x, err := p1.Add(p1, p2).BytesX() // fails at infinity
	if err != nil {
		return false
	}
	v := new(big.Int).SetBytes(x)
	return v.Mod(v, p256N).Cmp(r) == 0
}
