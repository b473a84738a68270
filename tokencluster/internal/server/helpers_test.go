// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/credgate/credgate/internal/testproc"
	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
	"github.com/credgate/credgate/tokencluster/internal/store/redis"
)

// t0 is the pinned start of every test clock.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const adminToken = "test-admin-token"

// clock is an injectable, advanceable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a running token cluster on a loopback port, seeded with the demo credentials.
type env struct {
	t     testing.TB
	url   string
	clock *clock
	store store.Store
	logs  *testproc.Buffer
	srv   *httptest.Server
	// server is the handler under test (Drain, CheckStore).
	server *server.Server
}

func openBolt(t testing.TB) store.Store {
	st, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var redisPrefix atomic.Int64

func openRedis(t testing.TB, url string) store.Store {
	return openRedisPrefix(t, url, fmt.Sprintf("srv%d:", redisPrefix.Add(1)))
}

// openRedisPrefix opens a client on the keys under prefix: two of them on
// one prefix are two replicas sharing one Redis.
func openRedisPrefix(t testing.TB, url, prefix string) store.Store {
	st, err := redis.Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newEnv(t *testing.T, mod ...func(*server.Options)) *env {
	t.Helper()
	return newEnvOn(t, openBolt(t), mod...)
}

func newEnvOn(t testing.TB, st store.Store, mod ...func(*server.Options)) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{now: t0}, store: st, logs: &testproc.Buffer{}}
	// The verification API is open in these tests unless a test sets a
	// VerifyToken (TestVerifyToken); the CLI refuses to start that way.
	opts := server.Options{Store: st, Now: e.clock.Now, AdminToken: adminToken, OpenVerify: true,
		Hasher: secret.NewHasher(bcrypt.MinCost), Logger: slog.New(slog.NewJSONHandler(e.logs, nil))}
	for _, m := range mod {
		m(&opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../testdata/credentials.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := srv.Registry().LoadSeed(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	e.server = srv
	// Tests check every answer against openapi.yaml; benchmarks measure the server alone.
	var h http.Handler = srv
	if _, bench := t.(*testing.B); !bench {
		h = validating(t, srv)
	}
	e.srv = httptest.NewServer(h)
	e.url = e.srv.URL
	t.Cleanup(func() {
		e.srv.Close()
		_ = st.Close()
	})
	return e
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("status %d, body %q is not a JSON object: %v", r.status, r.body, err)
	}
	return m
}

func (e *env) do(method, path, contentType, body string, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) postJSON(path string, body any, header ...string) response {
	e.t.Helper()
	b, ok := body.(string)
	if !ok {
		raw, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		b = string(raw)
	}
	return e.do(http.MethodPost, path, "application/json", b, header...)
}

func (e *env) postForm(path string, form url.Values, header ...string) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode(), header...)
}

func (e *env) admin(method, path, body string) response {
	e.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return e.do(method, "/admin/v1"+path, ct, body, "Authorization", "Bearer "+adminToken)
}

func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
}

func wantField(t testing.TB, m map[string]any, key string, want any) {
	t.Helper()
	if got := m[key]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s = %v, want %v (in %v)", key, got, want, m)
	}
}

// stores runs fn once per backend: bbolt always, redis when redis-server is available.
func stores(t *testing.T, fn func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("bbolt", func(t *testing.T) { fn(t, func(t *testing.T) store.Store { return openBolt(t) }) })
	t.Run("redis", func(t *testing.T) {
		url := redisserver.Start(t)
		fn(t, func(t *testing.T) store.Store { return openRedis(t, url) })
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const formType = "application/x-www-form-urlencoded"
