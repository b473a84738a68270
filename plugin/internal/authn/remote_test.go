// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unsafe"
)

// TestLookupKeysAreExact: two credentials never share a cache key, however
// their parts are split, whichever scheme reads them, and however long
// they are; no key passes 1+maxRawKey bytes.
func TestLookupKeysAreExact(t *testing.T) {
	long := strings.Repeat("k", 300)
	lookups := []struct {
		scheme string
		parts  []string
	}{
		{"api_key", []string{"k"}},
		{"session_token", []string{"k"}},
		{"api_key", []string{"kk"}},
		{"user_api_key", []string{"u", "k", ""}},
		{"user_api_key", []string{"u", "", "k"}},
		{"user_api_key", []string{"uk", "", ""}},
		{"user_api_key", []string{"u", "k"}},
		{"domain_key", []string{"a", "bc"}},
		{"domain_key", []string{"ab", "c"}},
		{"domain_key", []string{"abc"}},
		{"api_key", []string{long}},
		{"api_key", []string{long + "x"}},
		{"api_key", []string{long[:maxRawKey-len("api_key")-1]}},
		{"api_key", []string{long[:maxRawKey-len("api_key")]}},
	}
	seen := map[string]int{}
	for i, l := range lookups {
		key := string(NewLookup(l.scheme, l.parts[0], l.parts...).AppendKey([]byte("prefix-")))
		if !strings.HasPrefix(key, "prefix-") {
			t.Fatalf("%d: AppendKey lost what dst held", i)
		}
		key = key[len("prefix-"):]
		if j, dup := seen[key]; dup {
			t.Errorf("lookups %d and %d share the key %q", j, i, key)
		}
		seen[key] = i
		if len(key) > 1+maxRawKey {
			t.Errorf("%d: key of %d bytes", i, len(key))
		}
		if raw := "r" + l.scheme + "\x00" + strings.Join(l.parts, "\x00"); len(raw) <= 1+maxRawKey && key != raw {
			t.Errorf("%d: key %q, want the credential's bytes %q", i, key, raw)
		}
	}
}

func TestLookupDigestAndSharedKey(t *testing.T) {
	l := NewLookup("api_key", "secret-key", "secret-key")
	sum := sha256.Sum256([]byte("secret-key"))
	if l.Digest() != hex.EncodeToString(sum[:]) {
		t.Fatalf("digest %s", l.Digest())
	}
	key := sha256.Sum256(l.AppendKey(nil))
	if l.SharedKey() != hex.EncodeToString(key[:]) || strings.Contains(l.SharedKey(), "secret") {
		t.Fatalf("shared key %s", l.SharedKey())
	}
	if NewLookup("api_key", "other", "other").SharedKey() == l.SharedKey() {
		t.Fatal("two credentials share a shared key")
	}
	// Asked in the other order (a miss that reads the shared layer first),
	// both come out the same, from one allocation.
	var first *Lookup
	if n := testing.AllocsPerRun(20, func() {
		first = NewLookup("api_key", "secret-key", "secret-key")
		first.SharedKey()
		first.Digest()
	}) - testing.AllocsPerRun(20, func() { first = NewLookup("api_key", "secret-key", "secret-key") }); n != 1 {
		t.Errorf("%v allocations for the shared key and the digest, want 1", n)
	}
	if first.SharedKey() != l.SharedKey() || first.Digest() != l.Digest() {
		t.Fatalf("shared key first: %s %s", first.SharedKey(), first.Digest())
	}
}

func TestLookupAnswers(t *testing.T) {
	l := NewLookup("api_key", "k1", "k1")
	other := NewLookup("api_key", "k2", "k2")
	tests := []struct {
		name   string
		answer *Answer
		want   bool
	}{
		{"no answer", nil, true}, // the verifier refuses it (no answer)
		{"no digest reported", &Answer{Active: true}, true},
		{"this credential", &Answer{Active: true, Digest: l.Digest()}, true},
		{"another credential", &Answer{Active: true, Digest: other.Digest()}, false},
		{"upper-case hex", &Answer{Active: true, Digest: strings.ToUpper(l.Digest())}, false},
	}
	for _, tc := range tests {
		if got := l.Answers(tc.answer); got != tc.want {
			t.Errorf("%s: Answers = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLookupBody(t *testing.T) {
	l := NewLookup("api_key", "k", "k")
	if l.AppendBody(nil) != nil {
		t.Fatal("a body without an encoder")
	}
	l.Args[0] = "x"
	l.Encode = func(dst []byte, l *Lookup) []byte { return append(dst, l.Args[0]...) }
	if string(l.AppendBody(nil)) != "x" {
		t.Fatalf("body %q", l.AppendBody(nil))
	}
}

// TestDetachedLookupOutlivesItsRequest: a detached lookup keeps its key
// when the request's storage and the bytes its strings point into are
// reused by the next request.
func TestDetachedLookupOutlivesItsRequest(t *testing.T) {
	buf := []byte("shop.acme.test|key-1")
	r := NewHeaderRequest([][2]string{{":path", "/"}})
	view := unsafe.String(&buf[0], len(buf))
	l := LookupFor(r, "domain_key", view[15:], view[:14], view[15:])
	l.Args[1] = view
	want := string(l.AppendKey(nil))
	d := l.Detached()
	copy(buf, "evil.other.xyz|key-2")
	LookupFor(r, "api_key", "other", "other")
	if got := string(d.AppendKey(nil)); got != want || d.Args[1] != "shop.acme.test|key-1" {
		t.Fatalf("detached lookup changed: key %q, want %q; args %q", got, want, d.Args[1])
	}
	if l == d || LookupFor(r, "x", "y", "y") != l {
		t.Fatal("LookupFor does not use the request's storage")
	}
}
