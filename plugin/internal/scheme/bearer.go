// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// bearerToken extracts the token of an `Authorization: Bearer <token>` header.
// The scheme name is matched case-insensitively (RFC 7235 §2.1) and must be
// followed by exactly one space and a non-empty token without spaces.
// ok is false when the header is absent or uses another scheme.
func bearerToken(r authn.Request) (token string, ok bool, err *authn.DenyError) {
	h, present := r.Header("authorization")
	if !present {
		return "", false, nil
	}
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false, nil
	}
	token = h[len(prefix):]
	switch {
	case len(h) > authn.MaxHeaderValue:
		return "", true, authn.Deny(authn.ErrMalformed, "bearer_too_long", "The access token is too long.")
	case token == "" || strings.IndexByte(token, ' ') >= 0 || strings.IndexByte(token, '\t') >= 0:
		return "", true, authn.Deny(authn.ErrMalformed, "bearer_malformed", "The Authorization header is malformed.")
	}
	return token, true, nil
}

// looksLikeJWS reports whether a token has the shape of a compact JWS: three
// non-empty base64url segments separated by dots.
func looksLikeJWS(token string) bool {
	dots, seg := 0, 0 // seg: length of the current segment
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '.':
			if seg == 0 || dots == 2 {
				return false
			}
			dots, seg = dots+1, 0
		case dots < 2 && !base64URLByte[c]:
			return false
		default:
			seg++
		}
	}
	return dots == 2
}

// base64URL reports whether c is in the base64url alphabet (RFC 4648 §5).
func base64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// base64URLByte is base64URL as a table: looksLikeJWS reads every byte of
// a token on each request, and a lookup is one load where the comparisons
// are up to eight branches in the module.
var base64URLByte = func() (t [256]bool) {
	for c := range t {
		t[c] = base64URL(byte(c))
	}
	return t
}()
