// SPDX-License-Identifier: Apache-2.0

package benchmd

import (
	"strings"
	"testing"
)

func TestSplice(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		table   string
		want    []string
		notWant []string
	}{
		{name: "create", doc: "", table: "T", want: []string{"# Benchmarks\n\n<!-- a:begin -->\nT\n<!-- a:end -->\n"}},
		{name: "append keeps others", doc: "# Benchmarks\n\n<!-- b:begin -->\nB\n<!-- b:end -->\n", table: "T\n",
			want: []string{"<!-- b:begin -->\nB\n<!-- b:end -->", "<!-- a:begin -->\nT\n<!-- a:end -->"}},
		{name: "replace", doc: "x\n<!-- a:begin -->\nOLD\n<!-- a:end -->\ntrailer\n", table: "NEW",
			want: []string{"<!-- a:begin -->\nNEW\n<!-- a:end -->\ntrailer"}, notWant: []string{"OLD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Splice(tc.doc, "a", tc.table)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in %q", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in %q", w, got)
				}
			}
		})
	}
}
