// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/server"
)

const specFile = "../../openapi.yaml"

// loadSpec loads and validates tokencluster/openapi.yaml once.
var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(specFile)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return doc, nil
})

// specRouter matches requests to the spec's operations on any host (test
// servers listen on free ports, not the documented 127.0.0.1:9090).
var specRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(specFile)
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	return gorillamux.NewRouter(doc)
})

// TestOpenAPIValid: the description passes kin-openapi's validator (OpenAPI
// 3.1 structure, schemas, examples) and lists every path and kind of the
// wire contract.
func TestOpenAPIValid(t *testing.T) {
	t.Parallel()
	doc, err := loadSpec()
	if err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI description: %v", err)
	}
	a := tokenapi.PathAdmin
	for _, p := range []string{tokenapi.PathOAuthToken, tokenapi.PathSessionToken, tokenapi.PathSessionToken + "/{token}",
		tokenapi.PathPublicKeyToken, tokenapi.PathPublicKeyTokenAlias, tokenapi.PathPartnerToken, tokenapi.PathCustomerLogin, tokenapi.PathSSO,
		tokenapi.PathIntrospect, tokenapi.PathVerify, tokenapi.PathRevocations, tokenapi.PathHealth, server.PathLive,
		server.PathReady, tokenapi.PathJWKS, tokenapi.PathJWKSWithSecrets,
		a + "/{collection}", a + "/{collection}/{id}", a + "/{collection}/{id}/rotate", a + "/users/{id}/sso"} {
		if doc.Paths.Value(p) == nil {
			t.Errorf("openapi.yaml lacks path %s", p)
		}
	}
	kinds := []string{tokenapi.KindOAuth2, tokenapi.KindSession, tokenapi.KindAPIKey, tokenapi.KindUserAPIKey,
		tokenapi.KindPublicKey, tokenapi.KindPublicKeyToken, tokenapi.KindDomainKey, tokenapi.KindSSO, tokenapi.KindHMACKey}
	var enum []string
	for _, v := range doc.Components.Schemas["Kind"].Value.Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	if !slices.Equal(enum, kinds) {
		t.Errorf("openapi.yaml Kind enum %v, want %v", enum, kinds)
	}
}

// TestOpenAPIValidatorCatches: the response check fails on an answer the
// description does not allow, so a passing suite means something.
func TestOpenAPIValidatorCatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"undocumented status", "GET", "/livez", "text/plain", "ok", http.StatusTeapot},
		{"wrong type", "POST", "/v1/verify", "application/json", `{"active":"yes","kind":"api_key","cache_ttl":5}`, 200},
		{"missing required", "POST", "/v1/verify", "application/json", `{"active":true}`, 200},
		{"kind outside the enum", "POST", "/v1/verify", "application/json", `{"active":true,"kind":"password","cache_ttl":5}`, 200},
	} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tc.ctype)
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, tc.body)
		})
		req := httptest.NewRequest(tc.method, "http://127.0.0.1:1"+tc.path, strings.NewReader(`{"kind":"api_key"}`))
		req.Header.Set("Content-Type", "application/json")
		if err := validateExchange(req, h); err == nil {
			t.Errorf("%s: the answer was accepted", tc.name)
		}
	}
}

// validated counts the spec operations ("METHOD /path/{template}") whose
// answers the tests checked, for the coverage check in TestMain.
var validated = struct {
	sync.Mutex
	ops map[string]int
}{ops: map[string]int{}}

// validateExchange serves r with h and validates the answer against the
// spec: documented status, headers, content type and body schema. It returns
// nil for paths the spec does not describe when the server answered 404 or
// 405 (tests of unknown endpoints).
func validateExchange(r *http.Request, h http.Handler) error {
	router, err := specRouter()
	if err != nil {
		return err
	}
	var reqBody []byte
	if r.Body != nil {
		reqBody, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return checkAnswer(router, r, reqBody, rec)
}

func checkAnswer(router routers.Router, r *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) error {
	// The router needs an absolute URL.
	u := *r.URL
	u.Scheme, u.Host = "http", "127.0.0.1"
	rr := r.Clone(context.Background())
	rr.URL = &u
	rr.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(rr)
	if err != nil {
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s answered %d but the spec has no such operation: %v", r.Method, r.URL.Path, rec.Code, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: rr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s → %d %.300s: answer disagrees with openapi.yaml: %v", r.Method, r.URL.Path, rec.Code, rec.Body.Bytes(), err)
	}
	validated.Lock()
	validated.ops[route.Method+" "+route.Path]++
	validated.Unlock()
	return nil
}

// validating serves h and checks every answer against the spec, failing t
// on a disagreement. The test environment wraps the server with it, so
// every answer every test gets is checked.
func validating(t testing.TB, h http.Handler) http.Handler {
	router, err := specRouter()
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if err := checkAnswer(router, r, reqBody, rec); err != nil {
			t.Errorf("%v", err)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// checkOpenAPICoverage reports the spec operations no test answer exercised
// (only after a full run of the package: a -run filter skips it).
func checkOpenAPICoverage() error {
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() != "" {
		return nil
	}
	doc, err := loadSpec()
	if err != nil {
		return err
	}
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if validated.ops[method+" "+path] == 0 {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return fmt.Errorf("no test answer was validated against these operations of openapi.yaml: %s", strings.Join(missing, ", "))
	}
	return nil
}
