// SPDX-License-Identifier: Apache-2.0

package server

import (
	"encoding/json"
	"strconv"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// The verification API is the hot path of the service (one call per cache
// miss of every plugin VM), so its request and answer skip reflection:
// decodeVerifyFast takes the bodies the plugin sends (a flat object of plain
// ASCII strings with the exact field names) and leaves everything else to
// unmarshalStrict, whose answers (and error messages) stay the reference;
// appendVerifyResponse writes byte for byte what json.Encoder writes.

// decodeVerifyFast fills req from b when b is a JSON object whose members
// are all VerifyRequest fields, spelled exactly, with string values of
// printable ASCII without escapes, and nothing but white space around it.
// It reports false, leaving the decision to unmarshalStrict, for anything
// else (such a body may still be valid: escapes, other letter case, null).
func decodeVerifyFast(b []byte, req *tokenapi.VerifyRequest) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		val, j, ok := plainString(b, skipSpace(b, i+1))
		if !ok {
			return false
		}
		var dst *string
		switch string(key) { // no allocation: the compiler compares in place
		case "kind":
			dst = &req.Kind
		case "credential":
			dst = &req.Credential
		case "user_id":
			dst = &req.UserID
		case "developer_id":
			dst = &req.DeveloperID
		case "public_key":
			dst = &req.PublicKey
		case "domain":
			dst = &req.Domain
		default:
			return false
		}
		if dst == &req.Kind {
			*dst = kindName(val)
		} else {
			*dst = string(val) // a repeated member keeps the last value, as encoding/json does
		}
		i = skipSpace(b, j)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// kindName returns the constant of a known kind without allocating, else a copy of b.
func kindName(b []byte) string {
	for _, k := range knownKinds {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

var knownKinds = []string{tokenapi.KindAPIKey, tokenapi.KindUserAPIKey, tokenapi.KindPublicKey, tokenapi.KindPublicKeyToken,
	tokenapi.KindDomainKey, tokenapi.KindSSO, tokenapi.KindHMACKey}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the string starting at b[i] (a quote) when it holds
// only bytes 0x20-0x7f other than quote and backslash: its content and the
// index after the closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c >= 0x80 || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// appendVerifyResponse appends the JSON of resp and a newline, exactly as
// json.NewEncoder(w).Encode(resp) writes it (field order, omitempty, HTML
// escaping).
func appendVerifyResponse(b []byte, resp *tokenapi.VerifyResponse) []byte {
	b = append(b, `{"active":`...)
	b = strconv.AppendBool(b, resp.Active)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, resp.Kind)
	b = appendOptString(b, `,"reason":`, resp.Reason)
	b = appendOptString(b, `,"subject":`, resp.Subject)
	b = appendOptString(b, `,"tenant":`, resp.Tenant)
	if len(resp.Scopes) > 0 {
		b = append(b, `,"scopes":[`...)
		for i, sc := range resp.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, sc)
		}
		b = append(b, ']')
	}
	if resp.ExpiresAt != 0 {
		b = append(b, `,"expires_at":`...)
		b = strconv.AppendInt(b, resp.ExpiresAt, 10)
	}
	b = append(b, `,"cache_ttl":`...)
	b = strconv.AppendInt(b, resp.CacheTTL, 10)
	if resp.Revoked {
		b = append(b, `,"revoked":true`...)
	}
	b = appendOptString(b, `,"digest":`, resp.Digest)
	b = appendOptString(b, `,"developer_id":`, resp.DeveloperID)
	b = appendOptString(b, `,"app_id":`, resp.AppID)
	b = appendOptString(b, `,"hmac_key":`, resp.HMACKey)
	return append(b, "}\n"...)
}

func appendOptString(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, name...), s)
}

// appendJSONString appends s as a JSON string: plain printable ASCII as it
// is, anything that encoding/json would escape through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
