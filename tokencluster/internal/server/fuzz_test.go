// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/server"
)

// FuzzVerifyAPI sends attacker-shaped bodies to the verification and
// issuance endpoints of an empty store: no panic, no 5xx, never active.
func FuzzVerifyAPI(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"api_key","credential":"k"}`, `{"kind":"user_api_key","user_id":"u","credential":"k","developer_id":"d"}`,
		`{"kind":"sso","credential":""}`, `{"kind":"hmac_key","user_id":"` + strings.Repeat("x", 4096) + `"}`,
		`{"kind":` + strings.Repeat("[", 512), `{"kind":"domain_key","domain":"\u0000","credential":"\ud800"}`,
		`token=a&token=b`, `grant_type=client_credentials&client_id=%zz`, `{"username":"a:b","password":":","domain":"d"}`,
	} {
		f.Add(seed)
	}
	st := openBolt(f)
	f.Cleanup(func() { _ = st.Close() })
	srv, err := server.New(server.Options{Store: st, Hasher: secret.NewHasher(bcrypt.MinCost),
		Logger: slog.New(slog.DiscardHandler), AdminToken: "a", OpenVerify: true})
	if err != nil {
		f.Fatal(err)
	}
	targets := []struct{ path, ctype string }{
		{"/v1/verify", "application/json"}, {"/introspect", formType}, {"/token", formType},
		{"/v2/token", "application/json"}, {"/tokens", "application/json"}, {"/v1/sso", "application/json"},
		{"/v1/partners/token", "application/json"}, {"/v1/customers/login", "application/json"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, tg := range targets {
			req := httptest.NewRequest(http.MethodPost, tg.path, strings.NewReader(body))
			req.Header.Set("Content-Type", tg.ctype)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s: %d %s", tg.path, rec.Code, rec.Body)
			}
			if bytes.Contains(rec.Body.Bytes(), []byte(`"active":true`)) || rec.Code == http.StatusOK &&
				(tg.path != "/v1/verify" && tg.path != "/introspect") {
				t.Fatalf("%s accepted %q on an empty store: %s", tg.path, body, rec.Body)
			}
		}
		q := httptest.NewRequest(http.MethodGet, "/admin/v1/users?"+url.Values{"page": {body}, "sort": {body},
			"filter": {body}}.Encode(), nil)
		q.Header.Set("Authorization", "Bearer a")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, q)
		if rec.Code >= 500 {
			t.Fatalf("list: %d", rec.Code)
		}
	})
}
