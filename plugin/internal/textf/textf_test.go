// SPDX-License-Identifier: Apache-2.0

package textf

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

// TestLikeFmt: every supported verb and type formats as fmt formats it.
func TestLikeFmt(t *testing.T) {
	cases := []struct {
		format string
		args   []any
	}{
		{"plain", nil},
		{"100%% sure", nil},
		{"%s and %v", []any{"a", "b"}},
		{"%q", []any{"quote \"me\"\n\x00é"}},
		{"%d %d %d %d %d %v", []any{-1, int8(-8), int16(16), int32(-32), int64(1 << 62), 7}},
		{"%d %d %d %d %d %d", []any{uint(1), uint8(8), uint16(16), uint32(32), uint64(1 << 63), uintptr(9)}},
		{"%v %v", []any{true, false}},
		{"%.0f %.2f %f %v %v", []any{2.5, 3.14159, 1.0, 0.1, float32(0.25)}},
		{"%q %v %s", []any{[]string{"a", "b c"}, []string{"x", "y"}, []string{}}},
		{"%s %q %v", []any{[]byte("raw"), []byte("q"), []byte("v")}},
		{"err: %v; %s; %q", []any{io.EOF, errors.New("boom"), errors.New("quoted")}},
		{"%v", []any{nil}},
		{"a %s b", []any{}},
		{"%q", []any{0x1F600}},
	}
	for _, c := range cases {
		if got, want := Sprintf(c.format, c.args...), fmt.Sprintf(c.format, c.args...); got != want {
			t.Errorf("Sprintf(%q, %v) = %q, fmt says %q", c.format, c.args, got, want)
		}
	}
}

func TestErrorfWraps(t *testing.T) {
	base := errors.New("base")
	other := errors.New("other")
	err := Errorf("%w: detail %d", base, 3)
	if err.Error() != fmt.Errorf("%w: detail %d", base, 3).Error() || !errors.Is(err, base) {
		t.Fatalf("Errorf = %v, not wrapping base", err)
	}
	two := Errorf("%w and %w", base, other)
	if two.Error() != "base and other" || !errors.Is(two, base) || !errors.Is(two, other) {
		t.Fatalf("two wraps: %v", two)
	}
	if errors.Unwrap(Errorf("no wrap %v", base)) != nil {
		t.Fatal("a plain operand was wrapped")
	}
}

func TestUnsupportedIsVisible(t *testing.T) {
	type status int
	var seen int
	UnsupportedHook = func(byte, any) { seen++ }
	defer func() { UnsupportedHook = nil }()
	if got := Sprintf("%d", status(3)); got != "%!d(unsupported)" || seen != 1 {
		t.Fatalf("named int: %q, hook %d", got, seen)
	}
}
