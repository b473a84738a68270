// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"slices"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

const jwsShaped = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"

func TestOAuth2Present(t *testing.T) {
	tests := []struct {
		name     string
		auth     string
		deferJWS bool
		want     bool
	}{
		{name: "opaque", auth: "Bearer opaque-1", want: true},
		{name: "jws alone", auth: "Bearer " + jwsShaped, want: true},
		{name: "jws left to jwt", auth: "Bearer " + jwsShaped, deferJWS: true, want: false},
		{name: "opaque beside jwt", auth: "Bearer opaque-1", deferJWS: true, want: true},
		{name: "malformed beside jwt", auth: "Bearer a b", deferJWS: true, want: true},
		{name: "basic", auth: "Basic dTpr", want: false},
		{name: "none", auth: "", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewOAuth2(OAuth2Options{DeferJWS: tc.deferJWS})
			if err != nil {
				t.Fatal(err)
			}
			var r authn.Request = reqTo("/", "h")
			if tc.auth != "" {
				r = reqTo("/", "h", "authorization", tc.auth)
			}
			if got := v.Present(r); got != tc.want {
				t.Fatalf("Present = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOAuth2Prepare(t *testing.T) {
	v, _ := NewOAuth2(OAuth2Options{})
	l, d := v.Prepare(reqTo("/", "h", "authorization", "Bearer tok+/=1"), stamp.Of(testNow))
	if d != nil {
		t.Fatal(d)
	}
	checkLookup(t, l, tokenapi.PathIntrospect, OAuth2Name, "tok+/=1", "tok+/=1")
	form := formOf(t, l)
	if form.Get("token") != "tok+/=1" || form.Get("token_type_hint") != "access_token" || len(form) != 2 {
		t.Fatalf("form = %v", form)
	}
	if l.Refresh != 0 {
		t.Fatal("oauth2 lookups are not refreshed")
	}
	_, d = v.Prepare(reqTo("/", "h", "authorization", "Bearer "), stamp.Of(testNow))
	wantDeny(t, d, authn.ErrMalformed, "bearer_malformed", 401)
	_, d = v.Prepare(reqTo("/", "h"), stamp.Of(testNow))
	wantDeny(t, d, authn.ErrMissing, "oauth2_missing", 401)

	// Zeamster routes: the developer-id is required before any lookup.
	dev, _ := NewOAuth2(OAuth2Options{RequireDeveloperID: true})
	tests := []struct {
		name   string
		req    authn.Request
		kind   error
		reason string
	}{
		{name: "header", req: reqTo("/", "h", "authorization", "Bearer t", "developer-id", "dev-1")},
		{name: "query", req: reqTo("/?developer-id=dev-1", "h", "authorization", "Bearer t")},
		{name: "missing", req: reqTo("/", "h", "authorization", "Bearer t"), kind: authn.ErrMissing, reason: "oauth2_developer_missing"},
		{name: "empty", req: reqTo("/?developer-id=", "h", "authorization", "Bearer t"), kind: authn.ErrMissing, reason: "oauth2_developer_missing"},
		{name: "malformed", req: reqTo("/", "h", "authorization", "Bearer t", "developer-id", "dev 1"), kind: authn.ErrMalformed, reason: "oauth2_bearer_malformed"},
	}
	for _, tc := range tests {
		t.Run("developer-id "+tc.name, func(t *testing.T) {
			l, d := dev.Prepare(tc.req, stamp.Of(testNow))
			if tc.kind == nil {
				if d != nil || l == nil {
					t.Fatalf("refused: %v", d)
				}
				return
			}
			wantDeny(t, d, tc.kind, tc.reason, 401)
			if l != nil {
				t.Fatal("a lookup with a denial")
			}
		})
	}
}

func TestOAuth2Complete(t *testing.T) {
	oauth := func(edit func(a *authn.Answer)) *authn.Answer {
		return active(tokenapi.KindOAuth2, func(a *authn.Answer) {
			a.Subject, a.ClientID, a.AccessType, a.TokenType = "", "client-7", AccessS2S, "Bearer"
			if edit != nil {
				edit(a)
			}
		})
	}
	bound := oauth(func(a *authn.Answer) { a.Visitor, a.Customer = "v-1", "c-1" })
	tests := []struct {
		name    string
		opts    OAuth2Options
		req     authn.Request
		answer  *authn.Answer
		kind    error
		reason  string
		status  int
		wantTyp string
	}{
		{name: "active", answer: oauth(nil), wantTyp: AccessS2S},
		{name: "token type when no access type", answer: oauth(func(a *authn.Answer) { a.AccessType = "" }), wantTyp: "Bearer"},
		{name: "access type required", opts: OAuth2Options{AccessType: AccessS2S}, answer: oauth(nil), wantTyp: AccessS2S},
		{name: "wrong access type", opts: OAuth2Options{AccessType: AccessS2S}, answer: oauth(func(a *authn.Answer) { a.AccessType = AccessC2S }), kind: authn.ErrForbidden, reason: "oauth2_access_type", status: 403},
		{name: "visitor bound, none sent", opts: OAuth2Options{RequireVisitorCode: true}, answer: bound, wantTyp: AccessS2S},
		{name: "visitor bound, header matches", opts: OAuth2Options{RequireVisitorCode: true}, req: reqTo("/", "h", "visitorcode", "v-1"), answer: bound, wantTyp: AccessS2S},
		{name: "visitor bound, query differs", opts: OAuth2Options{RequireVisitorCode: true}, req: reqTo("/?visitorcode=v-2", "h"), answer: bound, kind: authn.ErrInvalid, reason: "oauth2_visitorcode_mismatch", status: 401},
		{name: "visitor not bound", opts: OAuth2Options{RequireVisitorCode: true}, answer: oauth(nil), kind: authn.ErrForbidden, reason: "oauth2_visitorcode_unbound", status: 403},
		{name: "customer bound, query matches", opts: OAuth2Options{RequireCustomerCode: true}, req: reqTo("/?customercode=c-1", "h"), answer: bound, wantTyp: AccessS2S},
		{name: "customer bound, header differs", opts: OAuth2Options{RequireCustomerCode: true}, req: reqTo("/", "h", "customercode", "c-9"), answer: bound, kind: authn.ErrInvalid, reason: "oauth2_customercode_mismatch"},
		{name: "customer not bound", opts: OAuth2Options{RequireCustomerCode: true}, answer: oauth(nil), kind: authn.ErrForbidden, reason: "oauth2_customercode_unbound"},
		// Zakeke's order checkout: one or both of visitorcode and customercode.
		{name: "one of codes, visitor only", opts: OAuth2Options{RequireOneOfCodes: bothCodes}, answer: oauth(func(a *authn.Answer) { a.Visitor = "v-1" }), wantTyp: AccessS2S},
		{name: "one of codes, customer only", opts: OAuth2Options{RequireOneOfCodes: bothCodes}, answer: oauth(func(a *authn.Answer) { a.Customer = "c-1" }), wantTyp: AccessS2S},
		{name: "one of codes, both", opts: OAuth2Options{RequireOneOfCodes: bothCodes}, answer: bound, wantTyp: AccessS2S},
		{name: "one of codes, neither", opts: OAuth2Options{RequireOneOfCodes: bothCodes}, answer: oauth(nil), kind: authn.ErrForbidden, reason: "oauth2_codes_unbound", status: 403},
		{name: "one of codes, neither, codes sent", opts: OAuth2Options{RequireOneOfCodes: bothCodes}, req: reqTo("/?visitorcode=v-1", "h", "customercode", "c-1"), answer: oauth(nil), kind: authn.ErrForbidden, reason: "oauth2_codes_unbound", status: 403},
		{name: "one of codes, visitor bound, another sent", opts: OAuth2Options{RequireOneOfCodes: bothCodes}, req: reqTo("/", "h", "visitorcode", "v-2"), answer: bound, kind: authn.ErrInvalid, reason: "oauth2_visitorcode_mismatch", status: 401},
		{name: "one of customer only, visitor bound", opts: OAuth2Options{RequireOneOfCodes: []string{CustomerCodeParam}}, answer: oauth(func(a *authn.Answer) { a.Visitor = "v-1" }), kind: authn.ErrForbidden, reason: "oauth2_codes_unbound", status: 403},
		// Zeamster: the developer-id must be the one the client is registered under.
		{name: "developer-id matches", opts: OAuth2Options{RequireDeveloperID: true}, req: reqTo("/", "h", "developer-id", "dev-1"), answer: oauth(func(a *authn.Answer) { a.DeveloperID = "dev-1" }), wantTyp: AccessS2S},
		{name: "developer-id in the query matches", opts: OAuth2Options{RequireDeveloperID: true}, req: reqTo("/?developer-id=dev-1", "h"), answer: oauth(func(a *authn.Answer) { a.DeveloperID = "dev-1" }), wantTyp: AccessS2S},
		{name: "developer-id differs", opts: OAuth2Options{RequireDeveloperID: true}, req: reqTo("/", "h", "developer-id", "dev-2"), answer: oauth(func(a *authn.Answer) { a.DeveloperID = "dev-1" }), kind: authn.ErrInvalid, reason: "oauth2_developer_mismatch", status: 401},
		{name: "developer-id, client has none", opts: OAuth2Options{RequireDeveloperID: true}, req: reqTo("/", "h", "developer-id", "dev-1"), answer: oauth(nil), kind: authn.ErrInvalid, reason: "oauth2_developer_mismatch", status: 401},
		{name: "developer-id missing", opts: OAuth2Options{RequireDeveloperID: true}, answer: oauth(func(a *authn.Answer) { a.DeveloperID = "dev-1" }), kind: authn.ErrMissing, reason: "oauth2_developer_missing", status: 401},
		{name: "developer-id not required", req: reqTo("/", "h", "developer-id", "other"), answer: oauth(func(a *authn.Answer) { a.DeveloperID = "dev-1" }), wantTyp: AccessS2S},
		{name: "session token refused", answer: active(tokenapi.KindSession, nil), kind: authn.ErrInvalid, reason: "oauth2_bearer_wrong_kind"},
		{name: "unknown", answer: inactive(tokenapi.ReasonUnknown), kind: authn.ErrInvalid, reason: "oauth2_bearer_invalid", status: 401},
		{name: "expired", answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "oauth2_bearer_expired", status: 401},
		{name: "revoked", answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "oauth2_bearer_revoked", status: 401},
		{name: "no subject", answer: oauth(func(a *authn.Answer) { a.ClientID = "" }), kind: authn.ErrInvalid, reason: "oauth2_no_subject"},
		{name: "no answer", answer: nil, kind: authn.ErrUnavailable, status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewOAuth2(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			r := tc.req
			if r == nil {
				r = reqTo("/", "h")
			}
			id, d := v.Complete(r, tc.answer, stamp.Of(testNow))
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, tc.status)
				if id != nil {
					t.Fatal("identity returned with a denial")
				}
				return
			}
			if d != nil {
				t.Fatalf("denied: %v", d)
			}
			if id.Subject != "client-7" || id.Tenant != "acme" || id.Scheme != OAuth2Name || id.TokenType != tc.wantTyp {
				t.Fatalf("identity = %+v", id)
			}
			if tc.answer == bound && (id.Visitor != "v-1" || id.Customer != "c-1") {
				t.Fatalf("bound codes not in identity: %+v", id)
			}
		})
	}
}

var bothCodes = []string{VisitorCodeParam, CustomerCodeParam}

func TestOAuth2OptionsAndStrip(t *testing.T) {
	if _, err := NewOAuth2(OAuth2Options{AccessType: "s2s"}); err == nil {
		t.Fatal("lower-case access type accepted")
	}
	for _, bad := range [][]string{{"visitor"}, {VisitorCodeParam, VisitorCodeParam}, {""}} {
		if _, err := NewOAuth2(OAuth2Options{RequireOneOfCodes: bad}); err == nil {
			t.Errorf("require one of %q accepted", bad)
		}
	}
	dev, _ := NewOAuth2(OAuth2Options{RequireDeveloperID: true})
	if loc := dev.Strip(); !slices.Equal(loc.Headers, []string{"authorization", "developer-id"}) || !slices.Equal(loc.Query, []string{"developer-id"}) {
		t.Fatalf("strip with developer-id = %+v", loc)
	}
	one, _ := NewOAuth2(OAuth2Options{RequireOneOfCodes: bothCodes})
	if loc := one.Strip(); !slices.Equal(loc.Headers, []string{"authorization", "visitorcode", "customercode"}) ||
		!slices.Equal(loc.Query, []string{"visitorcode", "customercode"}) {
		t.Fatalf("strip with one of codes = %+v", loc)
	}
	v, _ := NewOAuth2(OAuth2Options{RequireVisitorCode: true})
	loc := v.Strip()
	if len(loc.Headers) != 2 || loc.Headers[0] != "authorization" || len(loc.Query) != 1 || loc.Query[0] != "visitorcode" {
		t.Fatalf("strip = %+v", loc)
	}
	if _, d := v.Verify(reqTo("/", "h"), stamp.Of(testNow)); d == nil {
		t.Fatal("Verify allowed without the token cluster")
	}
}

// TestOAuth2BoundCodeWithoutRequirement: a route that does not require a
// code still refuses a request claiming another code than the token's.
func TestOAuth2BoundCodeWithoutRequirement(t *testing.T) {
	v, err := NewOAuth2(OAuth2Options{})
	if err != nil {
		t.Fatal(err)
	}
	bound := &authn.Answer{Active: true, Kind: "oauth2", ClientID: "c1", Visitor: "v-1"}
	unbound := &authn.Answer{Active: true, Kind: "oauth2", ClientID: "c1"}
	tests := []struct {
		name    string
		answer  *authn.Answer
		headers []string
		allowed bool
	}{
		{name: "bound, no code sent", answer: bound, allowed: true},
		{name: "bound, same code sent", answer: bound, headers: []string{"visitorcode", "v-1"}, allowed: true},
		{name: "bound, other code sent", answer: bound, headers: []string{"visitorcode", "v-2"}},
		{name: "unbound token, code sent", answer: unbound, headers: []string{"visitorcode", "v-2"}, allowed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, deny := v.Complete(req(append([]string{"authorization", "Bearer opaque"}, tc.headers...)...), tc.answer, stamp.Of(testNow))
			if (deny == nil) != tc.allowed {
				t.Fatalf("allowed = %v, want %v (%v)", deny == nil, tc.allowed, deny)
			}
		})
	}
}
