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
