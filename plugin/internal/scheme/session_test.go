// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

func TestSessionPrepare(t *testing.T) {
	v, err := NewSession(SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    authn.Request
		token  string
		kind   error
		reason string
	}{
		{name: "header", req: reqTo("/", "h", "access-token", "s-1"), token: "s-1"},
		{name: "query", req: reqTo("/?access-token=s%2F2", "h"), token: "s/2"},
		{name: "header wins", req: reqTo("/?access-token=q", "h", "access-token", "s-1"), token: "s-1"},
		{name: "underscore query is not read", req: reqTo("/?access_token=s-1", "h"), kind: authn.ErrMissing, reason: "session_token_missing"},
		{name: "empty", req: reqTo("/?access-token=", "h"), kind: authn.ErrMalformed, reason: "session_token_malformed"},
		{name: "control character", req: reqTo("/", "h", "access-token", "s\x01"), kind: authn.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, d := v.Prepare(tc.req, stamp.Of(testNow))
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, 401)
				return
			}
			if d != nil {
				t.Fatal(d)
			}
			checkLookup(t, l, tokenapi.PathIntrospect, SessionName, tc.token, tc.token)
			form := formOf(t, l)
			if form.Get("token") != tc.token || form.Get("token_type_hint") != "session" {
				t.Fatalf("form %v", form)
			}
			if l.Refresh != time.Minute {
				t.Fatalf("refresh %v", l.Refresh)
			}
		})
	}
	if v.Present(reqTo("/", "h", "authorization", "Bearer s")) || !v.Present(reqTo("/?access-token=", "h")) {
		t.Fatal("Present")
	}
}

func TestSessionRefreshOption(t *testing.T) {
	v, err := NewSession(SessionOptions{Refresh: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := v.Prepare(reqTo("/", "h", "access-token", "s"), stamp.Of(testNow)); l.Refresh != 5*time.Second {
		t.Fatalf("refresh %v", l.Refresh)
	}
	for _, bad := range []time.Duration{time.Millisecond, 11 * time.Minute, -time.Second} {
		if _, err := NewSession(SessionOptions{Refresh: bad}); err == nil {
			t.Errorf("accepted refresh %v", bad)
		}
	}
}

func TestSessionComplete(t *testing.T) {
	session := active(tokenapi.KindSession, func(a *authn.Answer) { a.Subject, a.TokenType = "u1", "session" })
	tests := []struct {
		name   string
		answer *authn.Answer
		kind   error
		reason string
	}{
		{name: "active", answer: session},
		{name: "oauth2 token refused", answer: active(tokenapi.KindOAuth2, nil), kind: authn.ErrInvalid, reason: "session_token_wrong_kind"},
		{name: "idle expired", answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "session_token_expired"},
		{name: "cached past expiry", answer: active(tokenapi.KindSession, func(a *authn.Answer) { a.ExpiresAt = stamp.Of(testNow.Add(-time.Second)) }), kind: authn.ErrExpired},
		{name: "unknown", answer: inactive(tokenapi.ReasonUnknown), kind: authn.ErrInvalid, reason: "session_token_invalid"},
		{name: "revoked", answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "session_token_revoked"},
		{name: "no subject", answer: active(tokenapi.KindSession, func(a *authn.Answer) { a.Subject = "" }), kind: authn.ErrInvalid},
	}
	v, _ := NewSession(SessionOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, d := v.Complete(reqTo("/", "h", "access-token", "s"), tc.answer, stamp.Of(testNow))
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, 401)
				return
			}
			if d != nil {
				t.Fatal(d)
			}
			if id.Subject != "u1" || id.Scheme != SessionName || id.TokenType != "session" {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}
