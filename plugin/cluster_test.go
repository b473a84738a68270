// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
)

const seedFile = "tokencluster/testdata/credentials.json"

// clusterEnv is the real module, under one profile, wired to a real token
// cluster seeded with the demo credentials.
type clusterEnv struct {
	tc   *testcluster.Cluster
	host *hostcalls.Host
	// issued lists the tokens the tests obtained, to check none is logged.
	issued []string
}

func newClusterEnv(t *testing.T, p hostcalls.Profile, vms int) *clusterEnv {
	t.Helper()
	tc := testcluster.Start(t, seedFile)
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", tc.URL).WithVMs(vms).
		WithAutoTick(true)
	return &clusterEnv{tc: tc, host: newWasmHost(t, p, cfg)}
}

// call sends one request through the plugin.
func (e *clusterEnv) call(t *testing.T, method, path string, headers ...string) *hostcalls.Result {
	t.Helper()
	var hs [][2]string
	for i := 0; i+1 < len(headers); i += 2 {
		hs = append(hs, [2]string{headers[i], headers[i+1]})
	}
	res, err := e.host.Do(context.Background(), hostcalls.Request{Method: method, Path: path, Authority: "api.example", Headers: hs})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// expectUpstream asserts the request reached the upstream with the identity
// headers given as name/value pairs and without the listed headers.
func expectUpstream(t *testing.T, res *hostcalls.Result, want map[string]string, absent ...string) {
	t.Helper()
	if res.Upstream == nil {
		t.Fatalf("refused: %d %s", res.LocalResponse.Status, res.LocalResponse.Body)
	}
	for k, v := range want {
		if got, _ := res.UpstreamHeader(k); got != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range absent {
		if v, ok := res.UpstreamHeader(k); ok {
			t.Errorf("upstream received %s: %q", k, v)
		}
	}
}

// expectDenied asserts a local reply with the status and a body substring.
func expectDenied(t *testing.T, res *hostcalls.Result, status int, body string) {
	t.Helper()
	if res.LocalResponse == nil {
		t.Fatalf("want %d, the request reached the upstream", status)
	}
	if res.LocalResponse.Status != status || !strings.Contains(string(res.LocalResponse.Body), body) {
		t.Fatalf("got %d %s, want %d containing %q", res.LocalResponse.Status, res.LocalResponse.Body, status, body)
	}
}

func jsonField(t testing.TB, b []byte, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %v in %s", path, b)
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// oauthToken issues a client-credentials token at the cluster.
func (e *clusterEnv) oauthToken(t testing.TB, form string) string {
	basic := base64.StdEncoding.EncodeToString([]byte("demo-client:demo-client-secret"))
	st, b := e.tc.Do(t, "POST", "/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&"+form, "Authorization", "Basic "+basic)
	if st != 200 {
		t.Fatalf("POST /token: %d %s", st, b)
	}
	return e.remember(jsonField(t, b, "access_token"))
}

func (e *clusterEnv) sessionToken(t testing.TB) string {
	st, b := e.tc.Do(t, "POST", "/v2/token", "application/json", `{"username":"pea","password":"demo-password","domain":"demo.acme.test"}`)
	if st != 200 {
		t.Fatalf("POST /v2/token: %d %s", st, b)
	}
	return e.remember(jsonField(t, b, "token", "token"))
}

func (e *clusterEnv) publicKeyToken(t testing.TB) string {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sum := sha256.Sum256([]byte("demo-secret-key" + ts))
	st, b := e.tc.Do(t, "POST", "/v0/tokens", "application/json",
		`{"publicKey":"demo-public-key","secretKey":"`+hex.EncodeToString(sum[:])+`","timestamp":`+ts+`}`)
	if st != 200 {
		t.Fatalf("POST /v0/tokens: %d %s", st, b)
	}
	return e.remember(jsonField(t, b, "token"))
}

func (e *clusterEnv) ssoToken(t testing.TB) string {
	st, b := e.tc.Do(t, "POST", "/v1/sso", "application/json",
		`{"user_id":"user-42","user_api_key":"demo-user-api-key","redirect_url":"https://app.example/v2/contactsso"}`)
	if st != 200 {
		t.Fatalf("POST /v1/sso: %d %s", st, b)
	}
	return e.remember(jsonField(t, b, "sso_token"))
}

func (e *clusterEnv) customerJWT(t testing.TB) string {
	st, b := e.tc.Do(t, "POST", "/v1/customers/login", "application/json", `{"email":"customer@acme.test","password":"demo-customer-password"}`)
	if st != 200 {
		t.Fatalf("customer login: %d %s", st, b)
	}
	return e.remember(jsonField(t, b, "token"))
}

func hmacHeaders(userID, key string, ts time.Time) []string {
	t := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(userID + t))
	return []string{"user-id", userID, "timestamp", t, "hash-key", hex.EncodeToString(m.Sum(nil))}
}

func basic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func (e *clusterEnv) remember(token string) string {
	e.issued = append(e.issued, token)
	return token
}
