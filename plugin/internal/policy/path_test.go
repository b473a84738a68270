// SPDX-License-Identifier: Apache-2.0

package policy

import "testing"

func TestNormalPath(t *testing.T) {
	tests := []struct {
		name string
		path string
		want bool
	}{
		{name: "root", path: "/", want: true},
		{name: "plain", path: "/v0/products/12", want: true},
		{name: "trailing slash", path: "/v0/products/", want: true},
		{name: "dot-dot", path: "/v0/products/../orders"},
		{name: "trailing dot-dot", path: "/v0/products/.."},
		{name: "dot", path: "/v0/./orders"},
		{name: "double slash", path: "/v0//orders"},
		{name: "encoded slash", path: "/v0/products%2F..%2Forders"},
		{name: "encoded dot", path: "/v0/products/%2e%2e/orders"},
		{name: "backslash", path: "/v0/products\\..\\orders"},
		{name: "relative", path: "v0/orders"},
		{name: "empty", path: ""},
		{name: "fragment", path: "/v0/orders#x"},
		{name: "encoded backslash", path: "/v0/a%5Cb"},
		{name: "percent not an escape of interest", path: "/v0/a%20b", want: true},
		{name: "dots inside a segment", path: "/v0/a..b/.well-known", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalPath(tc.path); got != tc.want {
				t.Fatalf("NormalPath(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func TestNormalPathDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { NormalPath("/v0/products/12/reviews?x=1") }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
