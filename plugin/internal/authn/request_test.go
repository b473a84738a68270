// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"encoding/base64"
	"testing"
)

// TestBasicDecodedOncePerRequest: a reused view decodes each request's own
// Basic credentials, with the same answers as decoding them alone, and a
// cleared view keeps none of them.
func TestBasicDecodedOncePerRequest(t *testing.T) {
	values := []string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte("shop.acme.test|key-1")),
		"basic " + base64.RawStdEncoding.EncodeToString([]byte("user-42:k")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("a-much-longer-payload-than-the-first-one|xxxxxxxxxxxxxxxxxxxx")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("x")),
		"Basic !!!", "Basic ", "Bearer abc", "Basic  " + base64.StdEncoding.EncodeToString([]byte("sp:aces")) + "  ",
	}
	var r HeaderRequest
	for round := 0; round < 2; round++ {
		for _, v := range values {
			r.Reset([][2]string{{":path", "/"}, {"authorization", v}})
			want, wantPresent, wantOK := DecodeBasic(v, nil)
			for i := 0; i < 2; i++ {
				got, present, ok := r.Basic()
				if got != string(want) || present != wantPresent || ok != wantOK {
					t.Fatalf("%q: Basic() = %q %v %v, want %q %v %v", v, got, present, ok, want, wantPresent, wantOK)
				}
			}
		}
		r.Clear()
		if p, present, _ := r.Basic(); p != "" || present || len(r.basicBuf) != 0 {
			t.Fatalf("a cleared view still has %q", p)
		}
		for _, c := range r.basicBuf[:cap(r.basicBuf)] {
			if c != 0 {
				t.Fatal("a cleared view keeps credential bytes")
			}
		}
	}
	r.Reset([][2]string{{":path", "/"}})
	if p, present, ok := r.Basic(); p != "" || present || ok {
		t.Fatalf("no Authorization header: %q %v %v", p, present, ok)
	}
}

// IdentityCopy gives the caller slices of its own: changing them never
// reaches the kept identity, a reused view copies without allocating, and
// a view that is reset or cleared holds nothing of the last identity.
func TestIdentityCopy(t *testing.T) {
	kept := Identity{Subject: "customer-42", Scopes: []string{"orders:read", "orders:write"},
		Headers: [][2]string{{"x-customer-tier", "gold"}}}
	var r HeaderRequest
	r.Reset([][2]string{{":path", "/"}})
	for _, req := range []Request{&r, otherRequest{}} {
		id := IdentityCopy(req, kept)
		if id.Subject != kept.Subject || len(id.Scopes) != 2 || id.Scopes[1] != "orders:write" || id.Headers[0] != kept.Headers[0] {
			t.Fatalf("copy = %+v", id)
		}
		id.Scopes[0], id.Headers[0][1] = "mutated", "mutated"
		id.Scopes = append(id.Scopes, "appended")
		if kept.Scopes[0] != "orders:read" || kept.Headers[0][1] != "gold" {
			t.Fatalf("%T: the caller changed the kept identity: %+v", req, kept)
		}
	}
	pairs := [][2]string{{":path", "/"}}
	if n := testing.AllocsPerRun(100, func() {
		r.Reset(pairs)
		IdentityCopy(&r, kept)
	}); n != 0 {
		t.Errorf("a reused view allocates %.1f per copy", n)
	}
	if none := IdentityCopy(&r, Identity{Subject: "s"}); none.Scopes != nil || none.Headers != nil {
		t.Errorf("no scopes or headers: %+v", none)
	}
	IdentityCopy(&r, kept)
	r.Clear()
	for _, s := range r.scopes[:cap(r.scopes)] {
		if s != "" {
			t.Fatal("a cleared view keeps the last scopes")
		}
	}
}

// otherRequest is a Request that is not a HeaderRequest.
type otherRequest struct{ Request }
