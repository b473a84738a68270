// SPDX-License-Identifier: Apache-2.0

package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDuplicateKeysAndSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string // the whole error message
	}{
		{name: "duplicate top-level key", json: "{\n  \"realm\": \"a\",\n  \"realm\": \"b\"\n}",
			want: "realm: key given twice in one object (line 2, column 3 and line 3, column 3): remove one"},
		{name: "duplicate in a route's match", json: `{"routes": [{"name": "a", "match": {"prefix": "/"}, "anonymous": true},` + "\n" +
			`{"name": "b", "match": {"prefix": "/b", "prefix": "/"}, "anonymous": true}]}`,
			want: "routes[1].match.prefix: key given twice in one object (line 2, column 25 and line 2, column 41): remove one"},
		{name: "duplicate spelt with an escape", json: `{"routes": [], "rout\u0065s": []}`,
			want: "routes: key given twice in one object (line 1, column 2 and line 1, column 16): remove one"},
		{name: "duplicate scheme section", json: `{"jwt": {"keys": []}, "jwt": {"keys": []}}`,
			want: "jwt: key given twice in one object (line 1, column 2 and line 1, column 23): remove one"},
		{name: "missing comma", json: "{\n  \"realm\": \"a\"\n  \"unmatched\": \"deny\"\n}",
			want: "configuration is not valid JSON: line 3, column 3: invalid character '\"' after object key:value pair"},
		{name: "trailing comma", json: "{\"routes\": [1, 2,]}",
			want: "configuration is not valid JSON: line 1, column 18: invalid character ']' looking for beginning of value"},
		{name: "column counts characters", json: "{\"realm\": \"é€\" x}",
			want: "configuration is not valid JSON: line 1, column 16: invalid character 'x' after object key:value pair"},
		{name: "truncated", json: "{\"routes\": [\n", want: "configuration is not valid JSON: line 2, column 1: unexpected end of the document"},
		{name: "data after the document", json: "{}\n{}", want: "configuration is not valid JSON: line 2, column 1: invalid character '{' after top-level value"},
		{name: "too deep", json: strings.Repeat("[", 40) + strings.Repeat("]", 40),
			want: "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: configuration is nested deeper than 32 levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error %v (%T), want *config.Error", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n  %s\nwant\n  %s", err, tc.want)
			}
		})
	}
}

// TestSameKeyInDifferentObjects: only a key repeated in one object is an
// error.
func TestSameKeyInDifferentObjects(t *testing.T) {
	doc := `{"jwt":{"keys":[` + key + `]},"routes":[{"name":"a","match":{"prefix":"/a"},"schemes":["jwt"]},` +
		`{"name":"b","match":{"prefix":"/b"},"schemes":["jwt"]}]}`
	if _, err := Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
}

// FuzzCheckJSON: the checker never panics, agrees with encoding/json on
// what is JSON, and every error names a position within the document.
func FuzzCheckJSON(f *testing.F) {
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"routes":[{"match":{"prefix":"/","prefix":"/x"}}]}`))
	f.Add([]byte("{\n\"a\": [1, 2,\n]}"))
	f.Add([]byte(`{"a\u0000":1,"a\u0000":2}`))
	f.Add([]byte(`{"é":{"é":[]}} x`))
	f.Add([]byte(strings.Repeat(`{"a":`, 40)))
	f.Add([]byte(`"\ud800"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkJSON(data)
		if err == nil {
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			return
		}
		var cerr *Error
		if !errors.As(err, &cerr) {
			t.Fatalf("error %T is not *config.Error", err)
		}
		msg := err.Error()
		if json.Valid(data) && !strings.Contains(msg, "twice") && !strings.Contains(msg, "deeper") {
			t.Fatalf("refused valid JSON %q: %v", data, err)
		}
		if i := strings.Index(msg, "line "); i >= 0 {
			var line, col int
			if _, serr := fmtSscanf(msg[i:], &line, &col); serr != nil || line < 1 || col < 1 || line > strings.Count(string(data), "\n")+1 {
				t.Fatalf("bad position in %q for %q", msg, data)
			}
		}
	})
}

func fmtSscanf(s string, line, col *int) (int, error) {
	return fmt.Sscanf(s, "line %d, column %d", line, col)
}

// FuzzSyntaxError: syntaxError stops where encoding/json's decoder does,
// on every document json.Valid refuses.
func FuzzSyntaxError(f *testing.F) {
	for _, s := range []string{`{"a": tru}`, `{"a": "\x"}`, `{"a": 1x}`, `{"a":: 1}`, `{"abc" 1}`, "[1, 2,]", `{"a": [1 2]}`,
		"{\"a\": \"b\x01\"}", `{"a": [`, "{}\n{}", `-`, `01`, `1.`, `1e+`, `"\u12G4"`, `{,}`, `[,1]`, `{"a":1,}`, ``, ` `,
		`{"a":"\ud800"} x`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001), `nul`, `[1]]`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		at, why := syntaxError(data)
		if json.Valid(data) {
			// The plugin decides validity with syntaxError alone.
			if why != "" {
				t.Fatalf("%q: valid for encoding/json, refused at %d (%s)", data, at, why)
			}
			return
		}
		var raw json.RawMessage
		err := json.Unmarshal(data, &raw)
		var se *json.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%q: encoding/json error %v", data, err)
		}
		want := int(se.Offset) - 1
		// At the end of the document encoding/json's scanner reads a space,
		// and reports it as the offending character.
		endSpace := strings.Contains(se.Error(), "invalid character ' '") && int(se.Offset) == len(data) && data[len(data)-1] != ' '
		if strings.HasPrefix(se.Error(), "unexpected end") || endSpace {
			want = len(data)
		}
		if at != want || why == "" {
			t.Fatalf("%q: syntaxError at %d (%s), encoding/json at %d (%v)", data, at, why, want, se)
		}
	})
}
