// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"slices"
	"testing"
)

func TestPairsRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pairs [][2]string
	}{
		{name: "none", pairs: nil},
		{name: "pseudo and regular", pairs: [][2]string{{":path", "/a"}, {"x-k", "v"}}},
		{name: "empty key and value", pairs: [][2]string{{"", ""}, {"k", ""}}},
		{name: "binary value", pairs: [][2]string{{"k", "a\x00b\xff"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := encodePairs(tc.pairs)
			got, err := decodePairs(b)
			if err != nil || !slices.Equal(got, tc.pairs) {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

// The layout of the proxy-wasm spec: count, sizes, NUL-terminated strings.
func TestPairsLayout(t *testing.T) {
	t.Parallel()
	got := encodePairs([][2]string{{"ab", "c"}})
	want := []byte{1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 0, 'c', 0}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDecodePairsRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, b := range [][]byte{{1}, {1, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 'a', 0}} {
		if _, err := decodePairs(b); err == nil {
			t.Errorf("decodePairs(%v) accepted", b)
		}
	}
}

func FuzzDecodePairs(f *testing.F) {
	f.Add(encodePairs([][2]string{{":path", "/"}, {"a", "b"}}))
	f.Add([]byte{2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := decodePairs(b)
		if err != nil {
			return
		}
		again, err := decodePairs(encodePairs(pairs))
		if err != nil || !slices.Equal(again, pairs) {
			t.Fatalf("round trip of %q: %q, %v", pairs, again, err)
		}
	})
}

func TestHeaderMap(t *testing.T) {
	t.Parallel()
	m := newHeaderMap([][2]string{{"A", "1"}, {"b", "2"}, {"a", "3"}})
	if v, _ := m.get("a"); v != "1" {
		t.Fatalf("get = %q, want the first value", v)
	}
	m.replace("A", "9")
	if !slices.Equal(m.pairs, [][2]string{{"a", "9"}, {"b", "2"}}) {
		t.Fatalf("replace: %q", m.pairs)
	}
	m.remove("B")
	m.replace("c", "new")
	if !slices.Equal(m.pairs, [][2]string{{"a", "9"}, {"c", "new"}}) || m.byteSize() != 6 {
		t.Fatalf("remove/replace: %q size %d", m.pairs, m.byteSize())
	}
}
