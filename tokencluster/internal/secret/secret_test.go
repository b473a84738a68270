// SPDX-License-Identifier: Apache-2.0

package secret_test

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
)

func TestDigestMatchesWireContract(t *testing.T) {
	const raw = "demo-api-key"
	if got, want := secret.Digest(raw), tokenapi.Digest(raw); got != want {
		t.Fatalf("Digest = %s, tokenapi.Digest = %s", got, want)
	}
	if got := secret.Digest(""); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("Digest(\"\") = %s", got)
	}
	if got := string(secret.AppendDigest([]byte("x:"), raw)); got != "x:"+secret.Digest(raw) {
		t.Fatalf("AppendDigest = %s", got)
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "same", a: "abc", b: "abc", want: true},
		{name: "different", a: "abc", b: "abd", want: false},
		{name: "prefix", a: "abc", b: "abcd", want: false},
		{name: "empty", a: "", b: "", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := secret.Equal(tc.a, tc.b); got != tc.want {
				t.Fatalf("Equal(%q,%q) = %v", tc.a, tc.b, got)
			}
		})
	}
	if !secret.DigestEqual("k", secret.Digest("k")) || secret.DigestEqual("k", secret.Digest("x")) {
		t.Fatal("DigestEqual wrong")
	}
}

func TestHasher(t *testing.T) {
	h := secret.NewHasher(bcrypt.MinCost)
	hash, err := h.Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Check(hash, "s3cret"); err != nil {
		t.Fatalf("Check good password: %v", err)
	}
	if err := h.Check(hash, "wrong"); !errors.Is(err, secret.ErrPassword) {
		t.Fatalf("Check wrong password: %v", err)
	}
	if err := h.Check("", "credgate-dummy-password"); !errors.Is(err, secret.ErrPassword) {
		t.Fatalf("Check with empty hash must fail, got %v", err)
	}
	if _, err := h.Hash(string(make([]byte, 73))); !errors.Is(err, bcrypt.ErrPasswordTooLong) {
		t.Fatalf("long password: %v", err)
	}
}

func TestNewTokenUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := secret.NewToken(32)
		if len(tok) != 43 || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
	}
	if len(secret.Fingerprint("x")) != 8 {
		t.Fatal("fingerprint length")
	}
}
