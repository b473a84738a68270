// SPDX-License-Identifier: Apache-2.0

// Package respond turns a denial into the HTTP answer the client receives, in
// the error style configured for the route.
package respond

import (
	"strconv"
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/jsonw"
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
	// Members in sorted order, as the bodies have always been rendered.
	case StyleMarketcloud:
		item := jsonw.New(nil).Int("code", int64(d.Status)).String("message", d.Message).String("type", statusType(d.Status)).Bytes()
		return jsonReply(d.Status, jsonw.New(nil).Raw("errors", append(append([]byte{'['}, item...), ']')).Bool("status", false).Bytes())
	case StyleZnode:
		return jsonReply(d.Status, jsonw.New(nil).Int("ErrorCode", int64(d.Status)).String("ErrorMessage", d.Message).Bool("HasError", true).Bytes())
	case StylePlatform:
		code := d.Code
		if code == 0 {
			code = d.Status
		}
		return jsonReply(d.Status, jsonw.New(nil).Int("code", int64(code)).String("message", d.Message).Bytes())
	default:
		return rfc6750(realm, d)
	}
}

func jsonReply(status int, body []byte) Response {
	return Response{Status: status, Body: body,
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
	errCode := code
	if code == "" {
		errCode = "unauthorized"
	}
	body := jsonw.New(nil).String("error", errCode).String("error_description", d.Message).Bytes()
	headers := [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}
	if d.Status == 401 || code == "insufficient_scope" {
		headers = append(headers, [2]string{"www-authenticate", challenge})
	}
	return Response{Status: d.Status, Headers: headers, Body: body}
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

// Internal is the reply to a request the plugin could not decide on because
// of its own failure (a panic, a proxy call that failed).
func Internal() Response {
	return Response{Status: 500, Body: []byte(`{"error":"internal_error"}`),
		Headers: [][2]string{{"content-type", "application/json"}}}
}
