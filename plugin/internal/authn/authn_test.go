// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"errors"
	"testing"
)

func TestHeaderRequest(t *testing.T) {
	r := NewHeaderRequest([][2]string{
		{":method", "GET"}, {":path", "/v2/contacts?user-id=u1&developer-id=d%201&x"}, {":authority", "api.example:8443"},
		{"ApiKey", "first"}, {"apikey", "second"},
	})
	if r.Method() != "GET" || r.Path() != "/v2/contacts" || r.Host() != "api.example" {
		t.Fatalf("method/path/host = %q %q %q", r.Method(), r.Path(), r.Host())
	}
	if v, ok := r.Header("apikey"); !ok || v != "first" {
		t.Fatalf("apikey = %q %v, want the first value", v, ok)
	}
	if v, ok := r.Query("developer-id"); !ok || v != "d 1" {
		t.Fatalf("developer-id = %q %v", v, ok)
	}
	if _, ok := r.Query("user_id"); ok {
		t.Fatal("underscore name matched the dashed parameter")
	}
	if got := NewHeaderRequest([][2]string{{":authority", "[::1]:80"}}).Host(); got != "[::1]" {
		t.Fatalf("ipv6 host = %q", got)
	}
}

func TestSecretEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "equal", a: "s3cret", b: "s3cret", want: true},
		{name: "different", a: "s3cret", b: "s3creT"},
		{name: "prefix", a: "s3cret", b: "s3cre"},
		{name: "empty", a: "", b: "", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SecretEqual(tc.a, tc.b); got != tc.want {
				t.Fatalf("SecretEqual = %v", got)
			}
		})
	}
	if FingerprintOf("abc") != "ba7816bf" {
		t.Fatalf("fingerprint = %s", FingerprintOf("abc"))
	}
}

func TestDenyStatusFollowsClass(t *testing.T) {
	tests := []struct {
		kind error
		want int
	}{
		{ErrMissing, 401}, {ErrMalformed, 401}, {ErrInvalid, 401}, {ErrExpired, 401}, {ErrForbidden, 403}, {ErrUnavailable, 503},
	}
	for _, tc := range tests {
		d := Deny(tc.kind, "r", "m")
		if d.Status != tc.want || !errors.Is(d, tc.kind) {
			t.Errorf("%v: status %d, want %d", tc.kind, d.Status, tc.want)
		}
	}
}
