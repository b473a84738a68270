// SPDX-License-Identifier: Apache-2.0

package registry_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	s, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &registry.Registry{Store: s, Hasher: secret.NewHasher(bcrypt.MinCost), Now: func() time.Time { return t0 }}
}

func TestSeedIsIdempotentAndDigestsSecrets(t *testing.T) {
	r := newRegistry(t)
	ctx := context.Background()
	raw, err := os.ReadFile("../../testdata/credentials.json")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		counts, err := r.LoadSeed(ctx, strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.APIKeys] != 3 || counts[store.Customers] != 1 || len(counts) != 10 {
			t.Fatalf("counts = %v", counts)
		}
	}
	key, err := r.Store.Lookup(ctx, store.APIKeys, registry.DigestKey(secret.Digest("demo-api-key-0001")))
	if err != nil || key.ID != "demo-key" {
		t.Fatalf("api key lookup = %+v, %v", key, err)
	}
	user, err := r.Store.Lookup(ctx, store.Users, registry.UserKey("demo.acme.test", "PEA"))
	if err != nil {
		t.Fatal(err)
	}
	if user.SecretDigest != secret.Digest("demo-user-api-key") || user.Secret != "demo-user-hmac-key" {
		t.Fatalf("user secrets stored wrong: %+v", user)
	}
	if r.Hasher.Check(user.PasswordHash, "demo-password") != nil || strings.Contains(user.PasswordHash, "demo-password") {
		t.Fatal("password not hashed")
	}
	for _, c := range store.Collections {
		recs, _ := r.Store.List(ctx, c)
		for _, rec := range recs {
			for _, s := range []string{"demo-client-secret", "demo-api-key-0001", "demo-domain-key", "demo-partner-secret"} {
				if rec.Secret == s || strings.Contains(strings.Join(rec.Keys, ","), s) {
					t.Fatalf("%s/%s keeps raw secret %q", c, rec.ID, s)
				}
			}
		}
	}
}

func TestSeedRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{name: "unknown field", body: `{"tenants":[{"id":"a","colour":"red"}]}`, want: "unknown field"},
		{name: "field not used", body: `{"tenants":[{"id":"a","secret":"x"}]}`, want: "secret: not used by tenants"},
		{name: "missing tenant", body: `{"api_keys":[{"id":"k","secret":"x"}]}`, want: "tenant: required"},
		{name: "unknown tenant", body: `{"api_keys":[{"id":"k","tenant":"nope"}]}`, want: "unknown tenant"},
		{name: "missing id", body: `{"tenants":[{"name":"a"}]}`, want: "id: required"},
		{name: "bad expiry", body: `{"tenants":[{"id":"a"}],"api_keys":[{"id":"k","tenant":"a","expires_at":"soon"}]}`, want: "RFC 3339"},
		{name: "partial login", body: `{"tenants":[{"id":"a"}],"users":[{"id":"u","tenant":"a","username":"x"}]}`, want: "go together"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newRegistry(t).LoadSeed(context.Background(), strings.NewReader(tc.body))
			if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestCreateRotateRevoke(t *testing.T) {
	r := newRegistry(t)
	ctx := context.Background()
	if _, err := r.Create(ctx, store.Tenants, registry.Entry{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, store.Tenants, registry.Entry{ID: "acme"}); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	created, err := r.Create(ctx, store.APIKeys, registry.Entry{Tenant: "acme", Scopes: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	raw := created.Secrets["secret"]
	if raw == "" || !strings.HasPrefix(created.Record.ID, "ak_") {
		t.Fatalf("create = %+v", created)
	}
	rotated, err := r.Rotate(ctx, store.APIKeys, created.Record.ID, registry.Entry{})
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Secrets["secret"] == raw {
		t.Fatal("rotate kept the secret")
	}
	if _, err := r.Store.Lookup(ctx, store.APIKeys, registry.DigestKey(secret.Digest(raw))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old key still found: %v", err)
	}
	if _, err := r.Revoke(ctx, store.Tenants, "acme"); err != nil {
		t.Fatal(err)
	}
	revs, feed, _ := r.Store.Revocations(ctx, 0, 10)
	if feed.Head != 2 || revs[0].Digest != secret.Digest(raw) || revs[1].Digest != secret.Digest(rotated.Secrets["secret"]) {
		t.Fatalf("revocations = %+v", revs)
	}
	if _, err := r.Rotate(ctx, store.Tenants, "acme", registry.Entry{}); !errors.Is(err, registry.ErrUnsupported) {
		t.Fatalf("rotate tenant: %v", err)
	}
	if _, err := r.Revoke(ctx, store.Users, "nobody"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
}

func TestRedirectOrigins(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example":          "https://app.example",
		"https://APP.example:443/path": "https://app.example",
		"http://localhost:8080/":       "http://localhost:8080",
		"https://[::1]:8443":           "https://[::1]:8443",
	} {
		if got, ok := registry.Origin(in); !ok || got != want {
			t.Errorf("Origin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"https://user@app.example", "ftp://app.example", "//app.example", "app.example", "javascript:x",
		"https://bank\u0130d.com/", "https://xn--bankid-tyd.com%2F.app.example/", "https://app_example/"} {
		if _, ok := registry.Origin(bad); ok {
			t.Errorf("Origin(%q) accepted", bad)
		}
	}
	r := newRegistry(t)
	ctx := context.Background()
	if _, err := r.Create(ctx, store.Tenants, registry.Entry{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, store.Developers, registry.Entry{Tenant: "acme", RedirectOrigins: []string{"https://app.example/login"}}); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("an origin with a path was accepted: %v", err)
	}
	if _, err := r.Create(ctx, store.Developers, registry.Entry{Tenant: "acme", RedirectOrigins: []string{"https://app.example"}}); err != nil {
		t.Fatal(err)
	}
}

func TestDigestKeyOf(t *testing.T) {
	key, digest := registry.DigestKeyOf("demo-api-key-0001")
	if digest != secret.Digest("demo-api-key-0001") || key != registry.DigestKey(digest) {
		t.Fatalf("DigestKeyOf = %q, %q", key, digest)
	}
}
