// SPDX-License-Identifier: Apache-2.0

package tokenapi_test

import (
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/tokenapi"
)

const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestValidTraceparent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, v string
		ok      bool
	}{
		{"W3C example", tp, true},
		{"unsampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
		{"empty", "", false},
		{"upper-case hex", strings.ToUpper(tp[:3]) + strings.ToUpper(tp[3:]), false},
		{"version ff", "ff" + tp[2:], false},
		{"version 01 with more fields", "01" + tp[2:] + "-extra", false},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"all-zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false},
		{"bad separator", strings.Replace(tp, "-", "_", 1), false},
		{"non-hex", strings.Replace(tp, "4bf9", "4bg9", 1), false},
		{"trailing space", tp + " ", false},
		{"newline inside", tp[:10] + "\n" + tp[11:], false},
	} {
		if got := tokenapi.ValidTraceparent(tc.v); got != tc.ok {
			t.Errorf("%s: ValidTraceparent(%q) = %v, want %v", tc.name, tc.v, got, tc.ok)
		}
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, v string
		ok      bool
	}{
		{"uuid", "0f0c5e8e-8b9b-4c55-9a43-6e3b0c1f4a2d", true},
		{"short token", "req-1", true},
		{"longest", strings.Repeat("a", tokenapi.MaxRequestID), true},
		{"too long", strings.Repeat("a", tokenapi.MaxRequestID+1), false},
		{"empty", "", false},
		{"space", "a b", false},
		{"newline (log injection)", "a\n{\"msg\":\"forged\"}", false},
		{"quote", `a"b`, false},
		{"backslash", `a\b`, false},
		{"DEL", "a\x7f", false},
		{"non-ASCII", "a\u00e9", false},
	} {
		if got := tokenapi.ValidRequestID(tc.v); got != tc.ok {
			t.Errorf("%s: ValidRequestID(%q) = %v, want %v", tc.name, tc.v, got, tc.ok)
		}
	}
}

// FuzzCorrelation: whatever passes is bounded and printable ASCII.
func FuzzCorrelation(f *testing.F) {
	f.Add(tp)
	f.Add("0f0c5e8e-8b9b-4c55-9a43-6e3b0c1f4a2d")
	f.Add("a\nb")
	f.Fuzz(func(t *testing.T, s string) {
		for name, ok := range map[string]bool{"request id": tokenapi.ValidRequestID(s), "traceparent": tokenapi.ValidTraceparent(s)} {
			if !ok {
				continue
			}
			if len(s) == 0 || len(s) > tokenapi.MaxRequestID {
				t.Fatalf("%s %q accepted with length %d", name, s, len(s))
			}
			for i := 0; i < len(s); i++ {
				if s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
					t.Fatalf("%s %q accepted with byte %#x", name, s, s[i])
				}
			}
		}
	})
}
