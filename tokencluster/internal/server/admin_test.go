// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// demoSecrets are the raw secrets of the demo seed; none may leave through the admin API or the logs.
var demoSecrets = []string{"demo-client-secret", "demo-api-key-0001", "demo-api-key-0002", "demo-password",
	"demo-user-api-key", "demo-user-hmac-key", "demo-secret-key", "demo-domain-key", "demo-partner-secret",
	"demo-customer-password", "demo-jwt-signing-secret"}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wantStatus(t, e.do(http.MethodGet, "/admin/v1/users", "", ""), http.StatusUnauthorized)
	wantStatus(t, e.do(http.MethodGet, "/admin/v1/users", "", "", "Authorization", "Bearer nope"), http.StatusUnauthorized)
	off := newEnv(t, func(o *server.Options) { o.AdminToken = "" })
	resp := off.do(http.MethodGet, "/admin/v1/users", "", "", "Authorization", "Bearer ")
	wantStatus(t, resp, http.StatusForbidden)
	wantField(t, resp.json(t), "error", "forbidden")
}

func TestAdminListsAndNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 30 {
		wantStatus(t, e.admin(http.MethodPost, "/developers", fmt.Sprintf(`{"id":"d%02d","name":"%s","tenant":"acme"}`,
			i, []string{"peach", "pear", "apple"}[i%3])), http.StatusCreated)
	}
	tests := []struct {
		name, query               string
		status, count, total, pgs int
		first, msg                string
	}{
		{name: "default page", query: "", status: 200, count: 25, total: 31, pgs: 2, first: "d00"},
		{name: "second page", query: "page=index~1,size~25", status: 200, count: 6, total: 31, pgs: 2, first: "d25"},
		{name: "contains", query: "filter=name~cn~pea", status: 200, count: 20, total: 20, pgs: 1, first: "d00"},
		{name: "starts with", query: "filter=name~sw~app", status: 200, count: 10, total: 10, pgs: 1, first: "d02"},
		{name: "equals, desc", query: "filter=name~eq~PEAR&sort=id~desc", status: 200, count: 10, total: 10, pgs: 1, first: "d28"},
		{name: "sort by name", query: "sort=name~asc&page=index~0,size~1", status: 200, count: 1, total: 31, pgs: 31, first: "d02"},
		{name: "two filters", query: "filter=name~cn~pea,id~sw~d1", status: 200, count: 7, total: 7, pgs: 1, first: "d10"},
		{name: "page past end", query: "page=index~9,size~25", status: 200, count: 0, total: 31, pgs: 2},
		{name: "bad page", query: "page=index~-1", status: 400},
		{name: "bad size", query: "page=size~0", status: 400},
		{name: "bad sort", query: "sort=secret~asc", status: 400},
		{name: "bad filter op", query: "filter=name~like~pea", status: 400},
		// Field, operator, direction and page key names are case-insensitive.
		{name: "upper-case field and op", query: "filter=NAME~CN~pea", status: 200, count: 20, total: 20, pgs: 1, first: "d00"},
		{name: "mixed-case sort", query: "sort=Id~DESC&page=Index~0,Size~1", status: 200, count: 1, total: 31, pgs: 31, first: "dev-1001"},
		{name: "mixed-case op", query: "filter=id~Sw~D1", status: 200, count: 10, total: 10, pgs: 1, first: "d10"},
		// Ordering operators.
		{name: "gt", query: "filter=id~gt~d27", status: 200, count: 3, total: 3, pgs: 1, first: "d28"},
		{name: "ge", query: "filter=id~ge~d27,id~lt~d30", status: 200, count: 3, total: 3, pgs: 1, first: "d27"},
		{name: "lt", query: "filter=id~lt~d02", status: 200, count: 2, total: 2, pgs: 1, first: "d00"},
		{name: "le upper-case", query: "filter=ID~LE~D02", status: 200, count: 3, total: 3, pgs: 1, first: "d00"},
		{name: "gt on a time", query: "filter=created_at~ge~2026-03-04,created_at~lt~2026-03-05", status: 200, count: 25, total: 31, pgs: 2, first: "d00"},
		{name: "time before every record", query: "filter=created_at~lt~2026-03-04", status: 200, count: 0, total: 0, pgs: 0},
		{name: "empty field never ordered", query: "filter=expires_at~lt~9999", status: 200, count: 0, total: 0, pgs: 0},
		{name: "indent=TRUE", query: "indent=TRUE&page=size~1", status: 200, count: 1, total: 31, pgs: 31, first: "d00"},
		// Unknown or repeated parameters are refused, naming them.
		{name: "unknown parameter", query: "pagesize=10", status: 400, msg: `unknown query parameter "pagesize"`},
		{name: "upper-case parameter name", query: "Page=index~0", status: 400, msg: `unknown query parameter "Page"`},
		{name: "parameter twice", query: "sort=id~asc&sort=name~asc", status: 400, msg: "more than once"},
		{name: "bad indent", query: "indent=yes", status: 400},
		{name: "unknown field named", query: "filter=owner~eq~x", status: 400, msg: `unknown field "owner"`},
		{name: "unknown op named", query: "filter=id~like~x", status: 400, msg: `unknown operator "like"`},
		{name: "huge page index", query: "page=index~99999999999", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.admin(http.MethodGet, "/developers?"+tc.query, "")
			wantStatus(t, resp, tc.status)
			if tc.status != 200 {
				if d, _ := resp.json(t)["error_description"].(string); !strings.Contains(d, tc.msg) {
					t.Fatalf("error_description %q, want it to say %q", d, tc.msg)
				}
				return
			}
			m := resp.json(t)
			items := m["Items"].([]any)
			if len(items) != tc.count {
				t.Fatalf("items = %d, want %d", len(items), tc.count)
			}
			wantField(t, m, "TotalResults", tc.total)
			wantField(t, m, "TotalPages", tc.pgs)
			if tc.count > 0 {
				wantField(t, items[0].(map[string]any), "id", tc.first)
			}
		})
	}
	if resp := e.admin(http.MethodGet, "/users?indent=true", ""); !strings.Contains(string(resp.body), "\n  \"Items\"") {
		t.Fatalf("indent=true not indented: %s", resp.body)
	}
	var all strings.Builder
	for _, c := range []string{"tenants", "oauth-clients", "api-keys", "users", "developers", "apps", "domains",
		"jwt-partners", "customers", "signing-keys"} {
		resp := e.admin(http.MethodGet, "/"+c, "")
		wantStatus(t, resp, http.StatusOK)
		all.Write(resp.body)
	}
	all.WriteString(e.logs.String())
	for _, s := range demoSecrets {
		if strings.Contains(all.String(), s) {
			t.Fatalf("secret %q appears in a list or a log line", s)
		}
	}
	if strings.Contains(all.String(), "password_hash") || strings.Contains(all.String(), "$2a$") {
		t.Fatal("password hash listed")
	}
}

func TestAdminCreateGetRotateRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.admin(http.MethodPost, "/users", `{"id":"u-new","tenant":"acme","username":"neo","password":"pw-1","domain":"d.test"}`)
	wantStatus(t, resp, http.StatusCreated)
	secrets := resp.json(t)["secrets"].(map[string]any)
	if secrets["user_api_key"] == "" || secrets["user_hash_key"] == "" || secrets["password"] != nil {
		t.Fatalf("generated secrets = %v", secrets)
	}
	get := e.admin(http.MethodGet, "/users/u-new", "")
	wantStatus(t, get, http.StatusOK)
	wantField(t, get.json(t), "username", "neo")
	wantStatus(t, e.postJSON("/v2/token", map[string]string{"username": "neo", "password": "pw-1", "domain": "d.test"}), 200)

	head := e.do(http.MethodGet, "/v1/revocations", "", "").json(t)["next"].(string)
	rot := e.admin(http.MethodPost, "/users/u-new/rotate", "")
	wantStatus(t, rot, http.StatusOK)
	newKey := rot.json(t)["secrets"].(map[string]any)["user_api_key"].(string)
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "u-new",
		Credential: secrets["user_api_key"].(string)}), "reason", "mismatch")
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "u-new", Credential: newKey}), "active", true)
	feed := e.do(http.MethodGet, "/v1/revocations?since="+head, "", "").json(t)
	revs := feed["revocations"].([]any)
	if len(revs) != 2 || revs[0].(map[string]any)["digest"] != tokenapi.Digest(secrets["user_api_key"].(string)) ||
		revs[1].(map[string]any)["digest"] != tokenapi.Digest("u-new") {
		t.Fatalf("rotation feed = %v", feed)
	}
	rev := e.admin(http.MethodDelete, "/users/u-new", "")
	wantStatus(t, rev, http.StatusOK)
	wantField(t, rev.json(t), "revoked", true)
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "hmac_key", UserID: "u-new"}), "reason", "revoked")

	for name, tc := range map[string]struct {
		method, path, body string
		status             int
	}{
		"duplicate":          {http.MethodPost, "/users", `{"id":"user-42","tenant":"acme"}`, 409},
		"same username":      {http.MethodPost, "/users", `{"tenant":"acme","username":"PEA","password":"x","domain":"demo.acme.test"}`, 409},
		"unknown collection": {http.MethodGet, "/passwords", "", 404},
		"unknown id":         {http.MethodGet, "/users/nobody", "", 404},
		"revoke unknown":     {http.MethodDelete, "/users/nobody", "", 404},
		"rotate tenant":      {http.MethodPost, "/tenants/acme/rotate", "", 400},
		"unknown field":      {http.MethodPost, "/tenants", `{"id":"t","owner":"x"}`, 400},
		"field not allowed":  {http.MethodPost, "/tenants", `{"id":"t","secret":"x"}`, 400},
		"unknown tenant":     {http.MethodPost, "/api-keys", `{"tenant":"nope"}`, 400},
		"bad id":             {http.MethodPost, "/tenants", `{"id":"a/b"}`, 400},
		"get, unknown param": {http.MethodGet, "/users/user-42?fields=all", "", 400},
		"get, indent twice":  {http.MethodGet, "/users/user-42?indent=true&indent=false", "", 400},
		"create with params": {http.MethodPost, "/tenants?dry_run=true", `{"id":"t2"}`, 400},
		"rotate with params": {http.MethodPost, "/api-keys/demo-key/rotate?force=1", "", 400},
		"revoke with params": {http.MethodDelete, "/api-keys/demo-key?cascade=true", "", 400},
		"sso with params":    {http.MethodPost, "/users/user-42/sso?x=1", `{"redirect_url":"https://app.example/"}`, 400},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.admin(tc.method, tc.path, tc.body)
			wantStatus(t, r, tc.status)
			if r.json(t)["error"] == nil {
				t.Fatalf("no error code in %s", r.body)
			}
		})
	}
	list := e.admin(http.MethodGet, "/tenants?filter=id~eq~t", "").json(t)
	wantField(t, list, "TotalResults", 0) // failed creates changed nothing
}

func TestRevocationFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := e.do(http.MethodGet, "/v1/revocations", "", "")
	wantStatus(t, start, http.StatusOK)
	m := start.json(t)
	parts := strings.Split(m["next"].(string), ":")
	if len(parts) != 3 || len(parts[0]) != 16 || parts[1] != "0" || parts[2] != "" {
		t.Fatalf("next of an empty feed = %v, want <epoch>:0: (no entry, no tag)", m["next"])
	}
	epoch := parts[0]
	// wantAt checks that next is the cursor at n: the epoch, n and a tag.
	wantAt := func(m map[string]any, n int) string {
		t.Helper()
		next, _ := m["next"].(string)
		p := strings.Split(next, ":")
		if len(p) != 3 || p[0] != epoch || p[1] != fmt.Sprint(n) || len(p[2]) != 16 {
			t.Fatalf("next = %q, want %s:%d:<tag>", next, epoch, n)
		}
		return next
	}
	wantField(t, m, "revocations", "[]")
	wantStatus(t, e.admin(http.MethodDelete, "/api-keys/demo-key", ""), http.StatusOK)
	wantStatus(t, e.admin(http.MethodDelete, "/domains/shop.acme.test", ""), http.StatusOK)
	wantStatus(t, e.admin(http.MethodDelete, "/apps/demo-public-key", ""), http.StatusOK)
	m = e.do(http.MethodGet, "/v1/revocations?since="+m["next"].(string)+"&limit=2", "", "").json(t)
	at2 := wantAt(m, 2)
	revs := m["revocations"].([]any)
	wantField(t, revs[0].(map[string]any), "digest", tokenapi.Digest("demo-api-key-0001"))
	wantField(t, revs[0].(map[string]any), "kind", "api_key")
	wantField(t, revs[0].(map[string]any), "at", t0.Unix())
	wantField(t, revs[1].(map[string]any), "digest", tokenapi.Digest("demo-domain-key"))
	m = e.do(http.MethodGet, "/v1/revocations?since="+at2, "", "").json(t)
	at3 := wantAt(m, 3)
	wantField(t, m["revocations"].([]any)[0].(map[string]any), "digest", tokenapi.Digest("demo-public-key"))
	m = e.do(http.MethodGet, "/v1/revocations?since="+at3, "", "").json(t)
	wantField(t, m, "next", at3)
	wantField(t, m, "cache_ttl", 1)
	wantField(t, m, "behind", nil)
	// The same position without its tag (from a token cluster of an
	// earlier release): behind, once, with the tagged head as next.
	m = e.do(http.MethodGet, "/v1/revocations?since="+epoch+":3", "", "").json(t)
	wantField(t, m, "behind", true)
	wantField(t, m, "next", at3)
	otherTag := at3[:len(at3)-1] + "0" // another entry's tag: the last hex digit changed
	if at3[len(at3)-1] == '0' {
		otherTag = at3[:len(at3)-1] + "1"
	}
	for _, since := range []string{epoch + ":99:", "3", "0123456789abcdef:3:", otherTag} { // past the head; no epoch; another epoch; another entry
		past := e.do(http.MethodGet, "/v1/revocations?since="+since, "", "").json(t)
		wantField(t, past, "next", at3)
		wantField(t, past, "behind", true)
	}
	for _, q := range []string{"since=-1", "since=abc", "since=" + epoch + ":x", "since=:3", "since=a-b:3", "since=" + epoch + ":3:xyz", "since=" + epoch + ":3:" + strings.Repeat("A", 16),
		"since=" + epoch + ":3:a:b", "since=1&limit=0", "since=1&limit=5000", "since=1&wait=-1",
		"since=1&wait=301", "since=1&wait=1s"} {
		wantStatus(t, e.do(http.MethodGet, "/v1/revocations?"+q, "", ""), http.StatusBadRequest)
	}
}

func TestSSOConcurrentSingleUse(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		e := newEnvOn(t, open(t))
		tok := e.admin(http.MethodPost, "/users/user-42/sso", `{"redirect_url":"https://app.example/"}`).json(t)["sso_token"].(string)
		var wg sync.WaitGroup
		var mu sync.Mutex
		active := 0
		for range 16 {
			wg.Go(func() {
				resp := e.postJSON("/v1/verify", tokenapi.VerifyRequest{Kind: "sso", Credential: tok})
				if strings.Contains(string(resp.body), `"active":true`) {
					mu.Lock()
					active++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if active != 1 {
			t.Fatalf("%d concurrent verifications accepted one SSO token, want 1", active)
		}
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.do(http.MethodGet, "/healthz", "", "")
	wantStatus(t, resp, http.StatusOK)
}
