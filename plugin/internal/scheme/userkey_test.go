// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
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
			l, d := v.Prepare(tc.req, stamp.Of(testNow))
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
			if err := json.Unmarshal(l.AppendBody(nil), &got); err != nil || got != w {
				t.Fatalf("body %s, want %+v (%v)", l.AppendBody(nil), w, err)
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
			id, d := v.Complete(tc.req, tc.answer, stamp.Of(testNow))
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

// FuzzUserKeyBasic feeds arbitrary Authorization values to the Basic
// user:key path. Invariants: no panic; a parsed pair rebuilds the payload;
// an identity only for the pair the answer was made for.
func FuzzUserKeyBasic(f *testing.F) {
	for _, s := range []string{basic("u1:k1"), basic("u1:k1:x"), basic(":k"), basic("u1:"), basic("u1"), "Basic ",
		"Basic ====", "basic dTE6azE", "Basic " + strings.Repeat("A", 12000), basic("u1\x00:k1"), basic("ü:ß"), "Bearer x"} {
		f.Add(s, "k1")
	}
	f.Fuzz(func(t *testing.T, auth, answerKey string) {
		r := authReq(auth)
		if payload, present, ok := basicValue(r); ok {
			if !present || payload == "" {
				t.Fatal("decoded payload without a Basic header")
			}
			if u, k, ok := parseUserBasic(payload); ok && (u == "" || k == "" || strings.Contains(u, ":") || u+":"+k != payload) {
				t.Fatalf("split %q into %q %q", payload, u, k)
			}
		}
		checkUserKeyDecision(t, r, answerKey)
	})
}

// FuzzUserKeyExtraction feeds arbitrary query strings and headers to the
// user-id / user-api-key / developer-id extraction.
func FuzzUserKeyExtraction(f *testing.F) {
	f.Add("user-id=u1&user-api-key=k1", "", "", "")
	f.Add("user-id=u1&user-id=u2&user-api-key=k1&developer-id=d7", "", "", "d7")
	f.Add("user_id=u1&user_api_key=k1", "u1", "k1", "")
	f.Add("user-id=%zz&user-api-key=k1", "", "", "")
	f.Add("user-id=u1;user-api-key=k1", "u1", "", "")
	f.Add(strings.Repeat("user-id=u1&", 500), "", "k1", "d7")
	f.Fuzz(func(t *testing.T, rawQuery, hUser, hKey, dev string) {
		var h []string
		if hUser != "" {
			h = append(h, "user-id", hUser)
		}
		if hKey != "" {
			h = append(h, "user-api-key", hKey)
		}
		if dev != "" {
			h = append(h, "developer-id", dev)
		}
		r := reqTo("/x?"+rawQuery, "h", h...)
		checkUserKeyDecision(t, r, "k1")
	})
}

// checkUserKeyDecision runs Prepare and Complete with an answer for user u1
// with key answerKey and developer d7, and checks that an identity is only
// granted to exactly that pair.
func checkUserKeyDecision(t *testing.T, r authn.Request, answerKey string) {
	t.Helper()
	for _, opts := range []UserKeyOptions{{}, {RequireDeveloperID: true}} {
		v, _ := NewUserKey(opts)
		l, d := v.Prepare(r, stamp.Of(testNow))
		if (l == nil) == (d == nil) {
			t.Fatal("Prepare must return exactly one of lookup and denial")
		}
		// Three parts of at most MaxHeaderValue bytes, each byte at most 6 in JSON.
		if l != nil && len(l.AppendBody(nil)) > 18*authn.MaxHeaderValue+256 {
			t.Fatalf("lookup body of %d bytes", len(l.AppendBody(nil)))
		}
		a := active(tokenapi.KindUserAPIKey, func(a *authn.Answer) {
			a.Subject, a.DeveloperID, a.Digest = "u1", "d7", tokenapi.Digest(answerKey)
		})
		id, d := decide(v, r, a)
		if (id == nil) == (d == nil) {
			t.Fatal("Complete must return exactly one of identity and denial")
		}
		if id == nil {
			continue
		}
		c, _ := v.credentials(r)
		if l == nil || c.userID != "u1" || c.key != answerKey || (opts.RequireDeveloperID && c.developerID != "d7") {
			t.Fatalf("identity for %+v against an answer for u1", c)
		}
		var body tokenapi.VerifyRequest
		if json.Unmarshal(l.AppendBody(nil), &body) != nil || body.UserID != c.userID || body.Credential != c.key {
			t.Fatalf("lookup body %s does not carry the verified pair", l.AppendBody(nil))
		}
	}
}
