// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"io"
	"sync/atomic"

	"context"
	"fmt"
	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// benchCase builds, once per store, a request factory for one credential kind.
type benchCase struct {
	kind  string
	setup func(b *testing.B, e *env) func(i int) (path, ctype, body string)
}

func verifyBody(req tokenapi.VerifyRequest) func(int) (string, string, string) {
	return func(int) (string, string, string) {
		return tokenapi.PathVerify, "application/json", mustJSON(req)
	}
}

var benchCases = []benchCase{
	{kind: "oauth2", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		form := url.Values{"token": {e.oauthToken(url.Values{"grant_type": {"client_credentials"}})}}.Encode()
		return func(int) (string, string, string) { return tokenapi.PathIntrospect, formType, form }
	}},
	{kind: "session", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		// The clock moves one second per call, so every verification slides (writes) the session.
		form := url.Values{"token": {e.session()}}.Encode()
		return func(int) (string, string, string) {
			e.clock.Advance(time.Second)
			return tokenapi.PathIntrospect, formType, form
		}
	}},
	{kind: "api_key", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		return verifyBody(tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0001"})
	}},
	{kind: "user_api_key", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		return verifyBody(tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key",
			DeveloperID: "dev-1001"})
	}},
	{kind: "public_key", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		return verifyBody(tokenapi.VerifyRequest{Kind: "public_key", Credential: "demo-public-key"})
	}},
	{kind: "public_key_token", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		resp := e.postJSON(tokenapi.PathPublicKeyToken, pkRequest("demo-public-key", "demo-secret-key", t0))
		tok := resp.json(b)["token"].(string)
		return verifyBody(tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "demo-public-key", Credential: tok})
	}},
	{kind: "domain_key", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		return verifyBody(tokenapi.VerifyRequest{Kind: "domain_key", Domain: "shop.acme.test", Credential: "demo-domain-key"})
	}},
	{kind: "hmac_key", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		return verifyBody(tokenapi.VerifyRequest{Kind: "hmac_key", UserID: "user-42"})
	}},
	{kind: "sso", setup: func(b *testing.B, e *env) func(int) (string, string, string) {
		// Single use: one fresh token per verification, stored before the timer starts.
		bodies := make([]string, b.N)
		for i := range bodies {
			raw := fmt.Sprintf("bench-sso-%d-%d", b.N, i)
			tok := store.Token{Digest: secret.Digest(raw), Kind: tokenapi.KindSSO, Subject: "user-42", Tenant: "acme",
				IssuedAt: t0.Unix(), ExpiresAt: t0.Add(time.Hour).Unix()}
			if err := e.store.PutToken(context.Background(), tok, t0); err != nil {
				b.Fatal(err)
			}
			bodies[i] = mustJSON(tokenapi.VerifyRequest{Kind: "sso", Credential: raw})
		}
		return func(i int) (string, string, string) { return tokenapi.PathVerify, "application/json", bodies[i] }
	}},
}

// BenchmarkVerify measures verifications per second for each credential kind
// on both stores, through the real HTTP stack on a loopback port, with
// GOMAXPROCS concurrent callers on keep-alive connections.
func BenchmarkVerify(b *testing.B) {
	for _, backend := range []string{"bbolt", "redis"} {
		b.Run(backend, func(b *testing.B) {
			open := func(b *testing.B) store.Store { return openBolt(b) }
			if backend == "redis" {
				url := redisserver.Start(b)
				open = func(b *testing.B) store.Store { return openRedis(b, url) }
			}
			for _, bc := range benchCases {
				b.Run(bc.kind, func(b *testing.B) { runVerifyBench(b, backend, bc, open(b)) })
			}
		})
	}
}

func runVerifyBench(b *testing.B, backend string, bc benchCase, st store.Store) {
	e := newEnvOn(b, st)
	next := bc.setup(b, e)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			path, ctype, body := next(int(n.Add(1) - 1))
			resp, err := client.Post(e.url+path, ctype, strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"active":true`)) {
				b.Errorf("%s: %d %s", bc.kind, resp.StatusCode, out)
				return
			}
		}
	})
	b.StopTimer()
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "verifications/s")
	if b.N > 1 {
		benchResults.add(backend, bc.kind, rate)
	}
}
