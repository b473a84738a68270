// SPDX-License-Identifier: Apache-2.0

package jsonw

import (
	"encoding/json"
	"testing"
)

func FuzzAppendStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\s", "<a>&", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é€😀", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json = %s", s, got, want)
		}
	})
}

func TestObjectMatchesEncodingJSON(t *testing.T) {
	type sample struct {
		A string   `json:"a"`
		B string   `json:"b,omitempty"`
		C int64    `json:"c,omitempty"`
		D bool     `json:"d"`
		E []string `json:"e,omitempty"`
		F uint64   `json:"f"`
		G int64    `json:"g"`
	}
	for _, s := range []sample{{}, {A: "x<y", B: "b", C: -7, D: true, E: []string{"1", "&"}, F: 1 << 63, G: 0}} {
		want, _ := json.Marshal(s)
		got := New(nil).String("a", s.A).StringOmit("b", s.B).IntOmit("c", s.C).Bool("d", s.D).StringsOmit("e", s.E).
			Uint("f", s.F).Int("g", s.G).Bytes()
		if string(got) != string(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if got := string(New(nil).Raw("r", []byte(`[{"x":1}]`)).Bytes()); got != `{"r":[{"x":1}]}` {
		t.Errorf("raw: %s", got)
	}
}
