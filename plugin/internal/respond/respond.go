// SPDX-License-Identifier: Apache-2.0

// Package respond turns a denial into the HTTP answer the client receives, in
// the error style configured for the route.
package respond

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// Error styles.
const (
	// StyleRFC6750 answers with a JSON body {"error", "error_description"} and
	// a WWW-Authenticate challenge (RFC 6750 §3). It is the default.
	StyleRFC6750 = "rfc6750"
	// StyleMarketcloud answers with the Marketcloud envelope
	// {"status":false,"errors":[{"code","type","message"}]}.
	StyleMarketcloud = "marketcloud"
	// StyleZnode answers with the Znode base response
	// {"HasError":true,"ErrorCode","ErrorMessage"}.
	StyleZnode = "znode"
	// StylePlatform answers with {"code","message"}, where code is the
	// scheme's numeric code (for example -23 for a key of another tenant) or
	// the HTTP status when the scheme has none.
	StylePlatform = "platform"
)

// Styles lists the valid error styles.
func Styles() []string {
	return []string{StyleRFC6750, StyleMarketcloud, StyleZnode, StylePlatform}
}

// Response is a local reply to send instead of forwarding the request.
type Response struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// Deny renders d in the given style. realm is used in challenges.
func Deny(style, realm string, d *authn.DenyError) Response {
	switch style {
	case StyleMarketcloud:
		return jsonReply(d.Status, map[string]any{"status": false, "errors": []map[string]any{
			{"code": d.Status, "type": statusType(d.Status), "message": d.Message}}})
	case StyleZnode:
		return jsonReply(d.Status, map[string]any{"HasError": true, "ErrorCode": d.Status, "ErrorMessage": d.Message})
	case StylePlatform:
		code := d.Code
		if code == 0 {
			code = d.Status
		}
		return jsonReply(d.Status, map[string]any{"code": code, "message": d.Message})
	default:
		return rfc6750(realm, d)
	}
}

func jsonReply(status int, body any) Response {
	return Response{Status: status, Body: mustJSON(body),
		Headers: [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}}
}

// statusType is the reason phrase the Marketcloud envelope carries as "type".
func statusType(status int) string {
	switch status {
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 503:
		return "Service Unavailable"
	default:
		return "Error"
	}
}

// rfc6750 renders the OAuth 2.0 Bearer Token Usage error response.
func rfc6750(realm string, d *authn.DenyError) Response {
	code := oauthError(d)
	challenge := `Bearer realm=` + strconv.Quote(realm)
	if code != "" && d.Status != 503 {
		challenge += `, error="` + code + `", error_description=` + strconv.Quote(d.Message)
		if code == "insufficient_scope" && len(d.Scopes) > 0 {
			challenge += `, scope=` + strconv.Quote(strings.Join(d.Scopes, " "))
		}
	}
	body := map[string]string{"error": code, "error_description": d.Message}
	if code == "" {
		body["error"] = "unauthorized"
	}
	headers := [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}
	if d.Status == 401 || code == "insufficient_scope" {
		headers = append(headers, [2]string{"www-authenticate", challenge})
	}
	return Response{Status: d.Status, Headers: headers, Body: mustJSON(body)}
}

// oauthError maps a denial to the RFC 6750 error code. A request without
// credentials gets no code (RFC 6750 §3.1).
func oauthError(d *authn.DenyError) string {
	switch {
	case d.Status == 503:
		return "temporarily_unavailable"
	case d.Status == 400:
		return "invalid_request"
	case d.Status == 403 && d.Reason == "insufficient_scope":
		return "insufficient_scope"
	case d.Status == 403:
		return "access_denied"
	case d.Reason == "credentials_missing":
		return ""
	case isMalformed(d):
		return "invalid_request"
	default:
		return "invalid_token"
	}
}

func isMalformed(d *authn.DenyError) bool {
	return d.Unwrap() == authn.ErrMalformed && strings.HasPrefix(d.Reason, "bearer_")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings are rendered; this cannot fail.
		panic(err)
	}
	return b
}
