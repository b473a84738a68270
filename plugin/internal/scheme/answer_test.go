// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

func TestDecodeAnswer(t *testing.T) {
	verify, _ := json.Marshal(tokenapi.VerifyResponse{Active: true, Kind: tokenapi.KindAPIKey, Subject: "s", Tenant: "t",
		Scopes: []string{"a", "b"}, ExpiresAt: testNow.Unix(), CacheTTL: 30, Digest: "d", DeveloperID: "dev", AppID: "app", HMACKey: "hk"})
	intro, _ := json.Marshal(tokenapi.IntrospectResponse{Active: true, Scope: "a b", ClientID: "c", Sub: "s", Exp: testNow.Unix(),
		TokenType: "Bearer", Kind: tokenapi.KindOAuth2, Tenant: "t", AccessType: "S2S", VisitorCode: "v", CustomerCode: "cc", CacheTTL: 30})
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{name: "verify", body: string(verify), ok: true},
		{name: "introspect", body: string(intro), ok: true},
		{name: "inactive", body: `{"active":false,"reason":"revoked","cache_ttl":60}`, ok: true},
		{name: "active as string", body: `{"active":"true"}`},
		{name: "active as number", body: `{"active":1}`},
		{name: "no active", body: `{"subject":"s"}`},
		{name: "array", body: `[{"active":true}]`},
		{name: "empty", body: ``},
		{name: "truncated", body: `{"active":true,`},
		{name: "too large", body: `{"active":true,"x":"` + strings.Repeat("a", MaxAnswer) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := DecodeAnswer(tc.body)
			if (err == nil) != tc.ok || (a == nil) == (err == nil) {
				t.Fatalf("answer %+v, error %v", a, err)
			}
		})
	}
	a, _ := DecodeAnswer(string(verify))
	if a.Subject != "s" || a.HMACKey != "hk" || a.AppID != "app" || len(a.Scopes) != 2 || !a.ExpiresAt.Time().Equal(testNow) || a.CacheTTL != 30*time.Second {
		t.Fatalf("verify answer %+v", a)
	}
	a, _ = DecodeAnswer(string(intro))
	if a.Subject != "s" || a.AccessType != "S2S" || a.Visitor != "v" || a.Customer != "cc" || len(a.Scopes) != 2 || a.Kind != "oauth2" {
		t.Fatalf("introspection answer %+v", a)
	}
}

// FuzzDecodeAnswer feeds arbitrary bodies to the answer decoder. Invariants:
// the answer of a decoder reading one gjson path per member; no panic;
// exactly one of answer and error; an active answer only from a
// bounded JSON object whose "active" is the literal true.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"active":true,"kind":"api_key","subject":"s","scopes":["a",1,null],"expires_at":1,"cache_ttl":5}`,
		`{"active":true,"scope":"a  b","sub":"s","exp":-5,"cache_ttl":-1}`,
		`{"active":false,"reason":"unknown","cache_ttl":5}`,
		`{"active":true,"sub":"","subject":"x","scopes":"a b","scope":"c d","scopes":["e"]}`,
		`{"act\u0069ve":true,"kind":"api_key","kind":"x","sub":1,"subject":""}`,
		`{"active":true,"scope":" a\u00a0b\tc  \u2003d e\u0085"}`, `{"active":true,"scope":"\t a b\n"}`,
		`{"active":true,"scope":""}`, `{"active":true,"scope":"a b c d"}`, `{"active":true,"scope":"a b c d e"}`,
		`{"active":true,"scope":"  "}`, `{"active":true,"scopes":[]}`, `{"active":true,"scopes":[1,null]}`,
		`{"active":false,"active":true}`, `{"active":"true"}`, `{"active":true}garbage`, `{"active":true,"exp":1e400}`,
		`{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `,"active":true}`, "\xff\xfe", `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := DecodeAnswer(string(body))
		if ref, rerr := decodeAnswerByPaths(body); !reflect.DeepEqual(answerView(a), answerView(ref)) || (err == nil) != (rerr == nil) {
			t.Fatalf("DecodeAnswer = %+v, %v; by paths: %+v, %v", a, err, ref, rerr)
		}
		if (a == nil) == (err == nil) {
			t.Fatal("exactly one of answer and error must be set")
		}
		if a == nil {
			return
		}
		if len(body) > MaxAnswer || !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
			t.Fatal("decoded an answer from an invalid body")
		}
		if a.Active && gjson.GetBytes(body, tokenapi.FieldActive).Type != gjson.True {
			t.Fatal("active answer without \"active\": true")
		}
		if a.CacheTTL < 0 {
			t.Fatal("negative cache TTL")
		}
		if a.ScopeText() != strings.Join(a.Scopes, " ") {
			t.Fatalf("scope text %q, scopes %q", a.ScopeText(), a.Scopes)
		}
	})
}

// decodeAnswerByPaths is the decoder as it was, one gjson path per member:
// the reference FuzzDecodeAnswer holds DecodeAnswer to.
func decodeAnswerByPaths(body []byte) (*authn.Answer, error) {
	if len(body) == 0 || len(body) > MaxAnswer || !gjson.ValidBytes(body) {
		return nil, ErrBadAnswer
	}
	root := gjson.ParseBytes(body)
	active := root.Get(tokenapi.FieldActive)
	if !root.IsObject() || (active.Type != gjson.True && active.Type != gjson.False) {
		return nil, ErrBadAnswer
	}
	a := &authn.Answer{
		Active:      active.Bool(),
		Reason:      root.Get(tokenapi.FieldReason).String(),
		Kind:        root.Get(tokenapi.FieldKind).String(),
		Subject:     firstString(root, tokenapi.FieldSubject, tokenapi.FieldSub),
		Tenant:      root.Get(tokenapi.FieldTenant).String(),
		TokenType:   root.Get(tokenapi.FieldTokenType).String(),
		AccessType:  root.Get(tokenapi.FieldAccessType).String(),
		ClientID:    root.Get(tokenapi.FieldClientID).String(),
		Visitor:     root.Get(tokenapi.FieldVisitorCode).String(),
		Customer:    root.Get(tokenapi.FieldCustomerCode).String(),
		DeveloperID: root.Get(tokenapi.FieldDeveloperID).String(),
		AppID:       root.Get(tokenapi.FieldAppID).String(),
		HMACKey:     root.Get(tokenapi.FieldHMACKey).String(),
		Digest:      root.Get(tokenapi.FieldDigest).String(),
	}
	if s := root.Get(tokenapi.FieldScopes); s.IsArray() {
		for _, e := range s.Array() {
			if e.Type == gjson.String {
				a.Scopes = append(a.Scopes, e.String())
			}
		}
	} else if s := root.Get(tokenapi.FieldScope); s.Type == gjson.String {
		a.Scopes = strings.Fields(s.String())
	}
	a.JoinScopes()
	exp := root.Get(tokenapi.FieldExpiresAt).Int()
	if exp == 0 {
		exp = root.Get(tokenapi.FieldExp).Int()
	}
	if exp > 0 {
		a.ExpiresAt = stamp.Of(time.Unix(exp, 0))
	}
	if ttl := root.Get(tokenapi.FieldCacheTTL).Int(); ttl > 0 {
		a.CacheTTL = time.Duration(ttl) * time.Second
	}
	return a, nil
}

func firstString(root gjson.Result, names ...string) string {
	for _, n := range names {
		if v := root.Get(n); v.Type == gjson.String && v.String() != "" {
			return v.String()
		}
	}
	return ""
}

// A decoded answer keeps its fields, not the body they came in: 200 answers
// padded to 32 KiB each would keep 6.4 MB if their strings were slices of
// it.
func TestAnswerKeepsOnlyItsFields(t *testing.T) {
	pad := strings.Repeat("x", 32<<10)
	body := []byte(`{"pad":"` + pad + `","active":true,"kind":"api_key","subject":"s-1","tenant":"acme","scopes":["a","b"],"hmac_key":"hk"}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := make([]*authn.Answer, 200)
	for i := range kept {
		a, err := DecodeAnswer(string(body))
		if err != nil || a.Subject != "s-1" || a.Tenant != "acme" || a.ScopeText() != "a b" || a.HMACKey != "hk" {
			t.Fatalf("answer %+v, %v", a, err)
		}
		kept[i] = a
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Fatalf("200 answers keep %d bytes", grew)
	}
	runtime.KeepAlive(kept)
}

// answerView is what an answer says: its exported fields and its scopes'
// text, not how it stores them.
func answerView(a *authn.Answer) []any {
	if a == nil {
		return nil
	}
	return []any{a.Active, a.Reason, a.Kind, a.Subject, a.Tenant, a.Scopes, a.TokenType, a.AccessType, a.ClientID,
		a.Visitor, a.Customer, a.DeveloperID, a.AppID, a.HMACKey, a.ExpiresAt, a.CacheTTL, a.Digest, a.ScopeText()}
}
