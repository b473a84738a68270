// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/tokenapi"
)

func basic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

func TestUserKeyPresent(t *testing.T) {
	v, _ := NewUserKey(UserKeyOptions{})
	tests := []struct {
		name string
		req  authn.Request
		want bool
	}{
		{name: "headers", req: reqTo("/", "h", "user-id", "u1", "user-api-key", "k"), want: true},
		{name: "query", req: reqTo("/?user-id=u1&user-api-key=k", "h"), want: true},
		{name: "key header only", req: reqTo("/", "h", "user-api-key", "k"), want: true},
		{name: "underscore query is not ours", req: reqTo("/?user_id=u1&user_api_key=k", "h")},
		{name: "hmac request is not ours", req: reqTo("/", "h", "user-id", "u1", "timestamp", "1", "hash-key", "ab")},
		{name: "basic user:key", req: reqTo("/", "h", "authorization", basic("u1:k")), want: true},
		{name: "basic garbage", req: reqTo("/", "h", "authorization", "Basic !!!"), want: true},
		{name: "basic domain|key is not ours", req: reqTo("/", "h", "authorization", basic("shop.example|k"))},
		{name: "bearer", req: reqTo("/", "h", "authorization", "Bearer x")},
		{name: "nothing", req: reqTo("/", "h")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := v.Present(tc.req); got != tc.want {
				t.Fatalf("Present = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUserKeyPrepare(t *testing.T) {
	tests := []struct {
		name    string
		opts    UserKeyOptions
		req     authn.Request
		wantReq tokenapi.VerifyRequest
		kind    error
		reason  string
	}{
		{name: "headers", req: reqTo("/", "h", "user-id", "u1", "user-api-key", "k:1"), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k:1"}},
		{name: "query", req: reqTo("/?user-id=u%201x&user-api-key=k%2B1", "h"), wantReq: tokenapi.VerifyRequest{UserID: "u 1x", Credential: "k+1"}, kind: authn.ErrMalformed},
		{name: "query plain", req: reqTo("/?user-id=u1&user-api-key=k%2B1", "h"), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k+1"}},
		{name: "headers win over query", req: reqTo("/?user-id=q&user-api-key=qk", "h", "user-id", "u1", "user-api-key", "k"), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k"}},
		{name: "basic with colon in key", req: reqTo("/", "h", "authorization", basic("u1:k:2")), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k:2"}},
		{name: "basic lower-case scheme", req: reqTo("/", "h", "authorization", "basic "+base64.StdEncoding.EncodeToString([]byte("u1:k"))), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k"}},
		{name: "developer id from query", opts: UserKeyOptions{RequireDeveloperID: true}, req: reqTo("/?developer-id=d7", "h", "user-id", "u1", "user-api-key", "k"), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k", DeveloperID: "d7"}},
		{name: "developer id from header", opts: UserKeyOptions{RequireDeveloperID: true}, req: reqTo("/?user-id=u1&user-api-key=k", "h", "developer-id", "d7"), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k", DeveloperID: "d7"}},
		{name: "developer id missing", opts: UserKeyOptions{RequireDeveloperID: true}, req: reqTo("/", "h", "user-id", "u1", "user-api-key", "k"), kind: authn.ErrMissing, reason: "user_api_key_developer_missing"},
		{name: "developer id empty", opts: UserKeyOptions{RequireDeveloperID: true}, req: reqTo("/?developer-id=", "h", "user-id", "u1", "user-api-key", "k"), kind: authn.ErrMissing, reason: "user_api_key_developer_missing"},
		{name: "developer id not sent when not required", req: reqTo("/?developer-id=d7", "h", "user-id", "u1", "user-api-key", "k"), wantReq: tokenapi.VerifyRequest{UserID: "u1", Credential: "k"}},
		{name: "key missing", req: reqTo("/", "h", "user-id", "u1"), kind: authn.ErrMissing, reason: "user_api_key_missing"},
		{name: "user missing", req: reqTo("/?user-api-key=k", "h"), kind: authn.ErrMissing, reason: "user_api_key_missing"},
		{name: "empty key", req: reqTo("/", "h", "user-id", "u1", "user-api-key", ""), kind: authn.ErrMalformed, reason: "user_api_key_malformed"},
		{name: "basic without colon", req: reqTo("/", "h", "authorization", basic("u1k")), kind: authn.ErrMalformed, reason: "user_api_key_malformed"},
		{name: "basic empty user", req: reqTo("/", "h", "authorization", basic(":k")), kind: authn.ErrMalformed},
		{name: "basic empty key", req: reqTo("/", "h", "authorization", basic("u1:")), kind: authn.ErrMalformed},
		{name: "basic bad base64", req: reqTo("/", "h", "authorization", "Basic %%%"), kind: authn.ErrMalformed},
		{name: "basic too long", req: reqTo("/", "h", "authorization", basic("u1:"+strings.Repeat("k", authn.MaxHeaderValue))), kind: authn.ErrMalformed},
		{name: "nothing", req: reqTo("/", "h"), kind: authn.ErrMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := NewUserKey(tc.opts)
			l, d := v.Prepare(tc.req, testNow)
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, 401)
				return
			}
			if d != nil {
				t.Fatal(d)
			}
			w := tc.wantReq
			w.Kind = tokenapi.KindUserAPIKey
			var got tokenapi.VerifyRequest
			if err := json.Unmarshal(l.Body, &got); err != nil || got != w {
				t.Fatalf("body %s, want %+v (%v)", l.Body, w, err)
			}
			checkLookup(t, l, tokenapi.PathVerify, UserKeyName, w.Credential, w.UserID, w.Credential, w.DeveloperID)
		})
	}
}

func TestUserKeyComplete(t *testing.T) {
	user := func(edit func(a *authn.Answer)) *authn.Answer {
		return active(tokenapi.KindUserAPIKey, func(a *authn.Answer) {
			a.Subject, a.DeveloperID, a.Digest = "u1", "d7", tokenapi.Digest("k")
			if edit != nil {
				edit(a)
			}
		})
	}
	withDev := reqTo("/?developer-id=d7", "h", "user-id", "u1", "user-api-key", "k")
	plain := reqTo("/", "h", "user-id", "u1", "user-api-key", "k")
	tests := []struct {
		name   string
		opts   UserKeyOptions
		req    authn.Request
		answer *authn.Answer
		kind   error
		reason string
	}{
		{name: "active", req: plain, answer: user(nil)},
		{name: "active with developer", opts: UserKeyOptions{RequireDeveloperID: true}, req: withDev, answer: user(nil)},
		{name: "good user, developer missing", opts: UserKeyOptions{RequireDeveloperID: true}, req: plain, answer: user(nil), kind: authn.ErrMissing, reason: "user_api_key_developer_missing"},
		{name: "developer differs", opts: UserKeyOptions{RequireDeveloperID: true}, req: withDev, answer: user(func(a *authn.Answer) { a.DeveloperID = "d8" }), kind: authn.ErrInvalid, reason: "user_api_key_developer_mismatch"},
		{name: "answer for another user", req: plain, answer: user(func(a *authn.Answer) { a.Subject = "u2" }), kind: authn.ErrInvalid},
		{name: "mismatch", req: plain, answer: inactive(tokenapi.ReasonMismatch), kind: authn.ErrInvalid, reason: "user_api_key_invalid"},
		{name: "revoked", req: plain, answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "user_api_key_revoked"},
		{name: "expired", req: plain, answer: inactive(tokenapi.ReasonExpired), kind: authn.ErrExpired, reason: "user_api_key_expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := NewUserKey(tc.opts)
			id, d := v.Complete(tc.req, tc.answer, testNow)
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, 401)
				if id != nil {
					t.Fatal("identity with a denial")
				}
				return
			}
			if d != nil {
				t.Fatal(d)
			}
			if id.Subject != "u1" || id.Scheme != UserKeyName || id.Tenant != "acme" {
				t.Fatalf("identity = %+v", id)
			}
		})
	}
}

func TestUserKeyStrip(t *testing.T) {
	v, _ := NewUserKey(UserKeyOptions{RequireDeveloperID: true})
	loc := v.Strip()
	want := "user-id user-api-key authorization developer-id|user-id user-api-key developer-id"
	if got := strings.Join(loc.Headers, " ") + "|" + strings.Join(loc.Query, " "); got != want {
		t.Fatalf("strip %q, want %q", got, want)
	}
}
