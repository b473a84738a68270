// SPDX-License-Identifier: Apache-2.0

package urlq

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

var seeds = []string{"", "a=1&b=2", "a=1&a=2&A=3", "x=%41%zz&y=2", "a;b=1&c=2", "&&=&k", "sp+ace=a+b%20c",
	"%", "%4", "k=%E2%82%AC", "é=ü", "a=1=2", "tok=abc%2Fdef%3D%3D", strings.Repeat("a&", MaxParams)}

func FuzzParseQuery(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseQuery(s)
		want, werr := url.ParseQuery(s)
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, map[string][]string(want)) {
			t.Fatalf("ParseQuery(%q) = %v, %v; net/url: %v, %v", s, got, err, want, werr)
		}
		u, uerr := QueryUnescape(s)
		wu, wuerr := url.QueryUnescape(s)
		if (uerr == nil) != (wuerr == nil) || u != wu {
			t.Fatalf("QueryUnescape(%q) = %q, %v; net/url: %q, %v", s, u, uerr, wu, wuerr)
		}
		if e, we := QueryEscape(s), url.QueryEscape(s); e != we {
			t.Fatalf("QueryEscape(%q) = %q; net/url: %q", s, e, we)
		}
	})
}
