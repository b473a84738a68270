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
	case token == "" || strings.ContainsAny(token, " \t"):
		return "", true, authn.Deny(authn.ErrMalformed, "bearer_malformed", "The Authorization header is malformed.")
	}
	return token, true, nil
}

// looksLikeJWS reports whether a token has the shape of a compact JWS: three
// non-empty base64url segments separated by dots.
func looksLikeJWS(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts[:2] {
		if p == "" || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}
