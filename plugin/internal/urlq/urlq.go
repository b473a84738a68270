// SPDX-License-Identifier: Apache-2.0

// Package urlq parses and writes URL query strings and forms exactly as
// net/url does (ParseQuery, QueryUnescape, QueryEscape, Values.Encode;
// fuzzed against it), without net/url, whose errors are formatted with fmt:
// that alone links fmt and reflect into the Wasm module (RATIONALE.md,
// module budget).
package urlq

import (
	"errors"
	"strings"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// MaxParams is net/url's default limit on the parameters of one query.
const MaxParams = 10000

var (
	errTooMany   = errors.New("number of URL query parameters exceeded limit")
	errSemicolon = errors.New("invalid semicolon separator in query")
	errEscape    = errors.New("invalid URL escape")
)

// ParseQuery is url.ParseQuery: the values of every well-formed parameter,
// and the first error met (a parameter with ';' or a bad escape is skipped).
func ParseQuery(query string) (map[string][]string, error) {
	m := map[string][]string{}
	if strings.Count(query, "&")+1 > MaxParams {
		return m, errTooMany
	}
	var err error
	for query != "" {
		var key string
		key, query, _ = strings.Cut(query, "&")
		if strings.Contains(key, ";") {
			err = errSemicolon
			continue
		}
		if key == "" {
			continue
		}
		key, value, _ := strings.Cut(key, "=")
		key, err1 := QueryUnescape(key)
		if err1 == nil {
			value, err1 = QueryUnescape(value)
		}
		if err1 != nil {
			if err == nil {
				err = err1
			}
			continue
		}
		m[key] = append(m[key], value)
	}
	return m, err
}

// QueryUnescape is url.QueryUnescape: %XX escapes and '+' for space.
func QueryUnescape(s string) (string, error) {
	n, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			if i+2 >= len(s) || !IsHex(s[i+1]) || !IsHex(s[i+2]) {
				return "", errEscape
			}
			n++
			i += 2
		case '+':
			plus = true
		}
	}
	if n == 0 && !plus {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) - 2*n)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteByte(Unhex(s[i+1])<<4 | Unhex(s[i+2]))
			i += 2
		case '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// QueryEscape is url.QueryEscape: everything but letters, digits and
// "-_.~" is escaped, a space as '+'.
func QueryEscape(s string) string { return tokenapi.QueryEscape(s) }

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// IsHex reports whether c is a hex digit.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Unhex is the value of the hex digit c.
func Unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
