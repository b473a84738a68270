// SPDX-License-Identifier: Apache-2.0

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// verifyBodies are request bodies of every shape the fast decoder meets:
// the ones it takes and the ones it must leave to encoding/json.
var verifyBodies = []string{
	`{"kind":"api_key","credential":"demo-api-key-0001"}`,
	` {"kind" : "user_api_key", "user_id":"u","credential":"k","developer_id":"d"} ` + "\n",
	`{"kind":"public_key_token","public_key":"p","credential":"t","domain":"x"}`,
	`{}`, `{"kind":"a","kind":"b"}`, `{"KIND":"api_key"}`, `{"kind":null}`, `{"kind":"a\u0041"}`,
	`{"kind":"é"}`, `{"kind":"a"}{}`, `{"kind":"a"} x`, `{"kind":"a",}`, `{"kind":1}`, `{"extra":"x"}`,
	`{"kind":"a"`, `{"kind":"a`, `{`, ``, `[]`, `"x"`, `{"kind":"` + "\x01" + `"}`, `{"kind":"` + "\x7f" + `"}`,
	`{"kind":"api_key","credential":"<&>"}`, "{\"kind\":\"a\"}\t\r\n", `{"kind":"a" "credential":"b"}`,
}

// TestDecodeVerifyFastAgreesWithEncodingJSON: what the fast decoder takes,
// encoding/json (strict) takes with the same fields.
func TestDecodeVerifyFastAgreesWithEncodingJSON(t *testing.T) {
	took := 0
	for _, body := range verifyBodies {
		if checkDecodeVerify(t, body) {
			took++
		}
	}
	if took < 5 {
		t.Fatalf("the fast decoder took %d bodies only", took)
	}
}

func FuzzDecodeVerifyFast(f *testing.F) {
	for _, b := range verifyBodies {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) { checkDecodeVerify(t, body) })
}

func checkDecodeVerify(t *testing.T, body string) bool {
	t.Helper()
	var fast, slow tokenapi.VerifyRequest
	if !decodeVerifyFast([]byte(body), &fast) {
		return false
	}
	if err := unmarshalStrict([]byte(body), &slow); err != nil {
		t.Fatalf("fast decoder took %q, encoding/json refuses it: %v", body, err)
	}
	if fast != slow {
		t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, slow)
	}
	return true
}

// TestAppendVerifyResponseMatchesEncoder: the answer is byte for byte
// json.Encoder's.
func TestAppendVerifyResponseMatchesEncoder(t *testing.T) {
	for _, r := range []tokenapi.VerifyResponse{
		{},
		{Active: true, Kind: "api_key", Subject: "demo-key", Tenant: "acme", Scopes: []string{"catalog:read", "x"},
			ExpiresAt: 4070908800, CacheTTL: 60, Digest: strings.Repeat("ab", 32)},
		{Kind: "user_api_key", Reason: "revoked", Revoked: true, CacheTTL: 60, Digest: "d", DeveloperID: "dev-1"},
		{Active: true, Kind: "hmac_key", HMACKey: "k<>&\"\\\n\x00\x7fé\u2028\xff", AppID: "app", Scopes: []string{},
			ExpiresAt: -1, CacheTTL: -5},
	} {
		checkAppendVerify(t, r)
	}
}

func FuzzAppendVerifyResponse(f *testing.F) {
	f.Add(true, "api_key", "s", "t", "a,b", int64(1), int64(60), "d", "h")
	f.Add(false, "<x>", "\xff\u2028", "", "", int64(0), int64(-1), "", "\x00")
	f.Fuzz(func(t *testing.T, active bool, kind, subject, tenant, scopes string, exp, ttl int64, digest, hmac string) {
		r := tokenapi.VerifyResponse{Active: active, Kind: kind, Reason: tenant, Subject: subject, Tenant: tenant,
			ExpiresAt: exp, CacheTTL: ttl, Revoked: !active, Digest: digest, DeveloperID: subject, AppID: kind, HMACKey: hmac}
		if scopes != "" {
			r.Scopes = strings.Split(scopes, ",")
		}
		checkAppendVerify(t, r)
	})
}

func checkAppendVerify(t *testing.T, r tokenapi.VerifyResponse) {
	t.Helper()
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(r); err != nil {
		t.Fatal(err)
	}
	if got := appendVerifyResponse(nil, &r); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%+v:\n got %s\nwant %s", r, got, want.Bytes())
	}
}

// TestVerifyCodecAllocations: the fast decoder allocates the strings it
// returns only, the answer nothing beyond its buffer.
func TestVerifyCodecAllocations(t *testing.T) {
	body := []byte(`{"kind":"api_key","credential":"demo-api-key-0001"}`)
	resp := tokenapi.VerifyResponse{Active: true, Kind: "api_key", Subject: "demo-key", Tenant: "acme",
		Scopes: []string{"catalog:read"}, CacheTTL: 60, Digest: strings.Repeat("ab", 32)}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() {
		var req tokenapi.VerifyRequest
		if !decodeVerifyFast(body, &req) {
			t.Fatal("not taken")
		}
	}); n > 1 { // the credential; the kind is a constant
		t.Errorf("decode: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = appendVerifyResponse(buf[:0], &resp) }); n != 0 {
		t.Errorf("answer: %v allocations", n)
	}
}

// tenantStore answers Get of the tenant "t" as state says.
type tenantStore struct {
	store.Store
	state int // 0 active, 1 revoked, 2 absent, 3 failing
}

func (f tenantStore) Get(_ context.Context, c store.Collection, id string) (store.Record, error) {
	switch f.state {
	case 2:
		return store.Record{}, store.ErrNotFound
	case 3:
		return store.Record{}, errors.New("disk on fire")
	}
	return store.Record{ID: id, Revoked: f.state == 1}, nil
}

// TestJudgeOwnedAgreesWithJudge: the answer from a record read with its
// tenant is the answer from the record and a tenant read after it.
func TestJudgeOwnedAgreesWithJudge(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for state := range 4 {
		s := &Server{opts: Options{Store: tenantStore{state: state}, CacheTTL: time.Minute, NegativeCacheTTL: 5 * time.Second}}
		for _, rec := range []store.Record{{ID: "k"}, {ID: "k", Tenant: "t"}, {ID: "k", Tenant: "t", Revoked: true},
			{ID: "k", Revoked: true}, {ID: "k", Tenant: "t", ExpiresAt: now.Unix()}, {ID: "k", Tenant: "t", ExpiresAt: now.Unix() + 30}} {
			want, werr := s.judge(context.Background(), s.opts.Store, rec, "d", now)
			var owner store.Owner
			if rec.Tenant != "" {
				ten, err := s.opts.Store.Get(context.Background(), store.Tenants, rec.Tenant)
				switch {
				case err == nil:
					owner = store.Owner{Record: ten, Found: true}
				case !errors.Is(err, store.ErrNotFound):
					owner = store.Owner{Err: err}
				}
			}
			got, gerr := s.judgeOwned(rec, owner, "d", now)
			if (werr != nil) != (gerr != nil) || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("state %d, %+v: judgeOwned %+v %v, judge %+v %v", state, rec, got, gerr, want, werr)
			}
		}
	}
}
