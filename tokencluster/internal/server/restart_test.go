// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/credgate/credgate/internal/testproc"
	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
)

// TestRestartKeepsCredentialsAndTokens stops the bbolt-backed service and
// starts a new one on the same file: credentials, unexpired tokens,
// revocations and the feed cursor survive; expired tokens do not.
func TestRestartKeepsCredentialsAndTokens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokencluster.db")
	st, err := bbolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st)
	oauth := e.oauthToken(url.Values{"grant_type": {"client_credentials"}, "visitorcode": {"v9"}})
	session := e.session()
	created := e.admin(http.MethodPost, "/api-keys", `{"id":"made-at-runtime","tenant":"acme"}`)
	wantStatus(t, created, http.StatusCreated)
	apiKey := created.json(t)["secrets"].(map[string]any)["secret"].(string)
	wantStatus(t, e.admin(http.MethodDelete, "/api-keys/demo-key", ""), http.StatusOK)
	cursor := e.do(http.MethodGet, "/v1/revocations", "", "").json(t)["next"].(string)
	e.srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := bbolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	now := e.clock.Now().Add(10 * time.Minute)
	srv, err := server.New(server.Options{Store: st2, Now: func() time.Time { return now },
		Hasher: secret.NewHasher(bcrypt.MinCost), Logger: slog.New(slog.DiscardHandler), OpenVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	e2 := &env{t: t, url: hs.URL, clock: &clock{now: now}, store: st2, logs: &testproc.Buffer{}}

	m := e2.introspect(oauth)
	wantField(t, m, "active", true)
	wantField(t, m, "visitorcode", "v9")
	wantField(t, e2.introspect(session), "active", true)
	wantField(t, e2.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: apiKey}), "active", true)
	wantField(t, e2.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0001"}), "reason", "revoked")
	wantField(t, e2.do(http.MethodGet, "/v1/revocations", "", "").json(t), "next", cursor)
	if c, ok := store.ParseCursor(cursor); !ok || c.Seq != 1 || c.Tag == "" {
		t.Fatalf("cursor after one revocation = %s", cursor)
	}
	follows := e2.do(http.MethodGet, "/v1/revocations?since="+cursor, "", "").json(t)
	wantField(t, follows, "behind", nil) // the same feed, the same epoch
	wantField(t, follows, "next", cursor)
	wantStatus(t, e2.postJSON("/v2/token", demoLogin), http.StatusOK)
}
