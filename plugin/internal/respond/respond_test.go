// SPDX-License-Identifier: Apache-2.0

package respond

import (
	"encoding/json"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
)

func TestRFC6750(t *testing.T) {
	scoped := authn.Deny(authn.ErrForbidden, "insufficient_scope", "The access token lacks a required scope.")
	scoped.Scopes = []string{"orders:write"}
	tests := []struct {
		name          string
		deny          *authn.DenyError
		wantStatus    int
		wantError     string
		wantChallenge string
	}{
		{name: "missing: no error code", deny: authn.Deny(authn.ErrMissing, "credentials_missing", "Credentials are required."),
			wantStatus: 401, wantError: "unauthorized", wantChallenge: `Bearer realm="api"`},
		{name: "invalid token", deny: authn.Deny(authn.ErrExpired, "jwt_expired", "The access token expired."),
			wantStatus: 401, wantError: "invalid_token", wantChallenge: `Bearer realm="api", error="invalid_token", error_description="The access token expired."`},
		{name: "malformed header", deny: authn.Deny(authn.ErrMalformed, "bearer_malformed", "bad"),
			wantStatus: 401, wantError: "invalid_request", wantChallenge: `Bearer realm="api", error="invalid_request", error_description="bad"`},
		{name: "scope", deny: scoped, wantStatus: 403, wantError: "insufficient_scope",
			wantChallenge: `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope.", scope="orders:write"`},
		{name: "unavailable has no challenge", deny: authn.Deny(authn.ErrUnavailable, "cluster_down", "Try again later."),
			wantStatus: 503, wantError: "temporarily_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Deny(StyleRFC6750, "api", tc.deny)
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %d", r.Status)
			}
			var body map[string]string
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body["error"] != tc.wantError || body["error_description"] != tc.deny.Message {
				t.Fatalf("body = %v", body)
			}
			challenge := ""
			for _, h := range r.Headers {
				if h[0] == "www-authenticate" {
					challenge = h[1]
				}
			}
			if challenge != tc.wantChallenge {
				t.Fatalf("challenge = %q, want %q", challenge, tc.wantChallenge)
			}
		})
	}
}

func TestVendorStyles(t *testing.T) {
	missing := authn.Deny(authn.ErrMissing, "credentials_missing", "Authorization is missing")
	keyOfOtherTenant := authn.Deny(authn.ErrInvalid, "api_key_tenant", "The API key does not belong to this tenant.").WithCode(-23)
	domain := authn.Deny(authn.ErrForbidden, "domain_key", "Domain name and key are either incorrect or missing from the request Authorization header.")
	tests := []struct {
		name  string
		style string
		deny  *authn.DenyError
		want  string
	}{
		{name: "marketcloud", style: StyleMarketcloud, deny: missing,
			want: `{"errors":[{"code":401,"message":"Authorization is missing","type":"Unauthorized"}],"status":false}`},
		{name: "znode", style: StyleZnode, deny: domain,
			want: `{"ErrorCode":403,"ErrorMessage":"Domain name and key are either incorrect or missing from the request Authorization header.","HasError":true}`},
		{name: "platform with code", style: StylePlatform, deny: keyOfOtherTenant,
			want: `{"code":-23,"message":"The API key does not belong to this tenant."}`},
		{name: "platform without code", style: StylePlatform, deny: missing,
			want: `{"code":401,"message":"Authorization is missing"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Deny(tc.style, "api", tc.deny)
			if string(r.Body) != tc.want {
				t.Fatalf("body = %s\nwant   %s", r.Body, tc.want)
			}
			if r.Status != tc.deny.Status {
				t.Fatalf("status = %d", r.Status)
			}
		})
	}
}

func TestRFC6750ForbiddenWithoutScope(t *testing.T) {
	r := Deny(StyleRFC6750, "api", authn.Deny(authn.ErrForbidden, "no_route", "No route is configured for this request."))
	if string(r.Body) != `{"error":"access_denied","error_description":"No route is configured for this request."}` {
		t.Fatalf("body = %s", r.Body)
	}
	for _, h := range r.Headers {
		if h[0] == "www-authenticate" {
			t.Fatalf("a 403 unrelated to the token carries a challenge: %s", h[1])
		}
	}
}
