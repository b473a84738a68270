// SPDX-License-Identifier: Apache-2.0

// Package jsonw writes the few small JSON objects the plugin sends (error
// bodies, token-cluster requests, shared answers) without reflection, so the
// module does not link encoding/json. Strings are escaped exactly as
// encoding/json escapes them (HTML-safe, invalid UTF-8 replaced), which the
// tests check against it.
package jsonw

import (
	"strconv"
	"unicode/utf8"
)

// Object appends one JSON object's members in the order they are written.
type Object struct {
	b []byte
	n int
}

// New starts an object after what dst holds (New(buf[:0]) reuses buf's
// storage).
func New(dst []byte) *Object { return &Object{b: append(dst, '{')} }

func (o *Object) key(k string) {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = AppendString(o.b, k)
	o.b = append(o.b, ':')
}

// String writes a string member.
func (o *Object) String(k, v string) *Object {
	o.key(k)
	o.b = AppendString(o.b, v)
	return o
}

// StringOmit writes a string member unless v is empty (omitempty).
func (o *Object) StringOmit(k, v string) *Object {
	if v != "" {
		o.String(k, v)
	}
	return o
}

// Int writes a number member.
func (o *Object) Int(k string, v int64) *Object {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
	return o
}

// IntOmit writes a number member unless v is 0 (omitempty).
func (o *Object) IntOmit(k string, v int64) *Object {
	if v != 0 {
		o.Int(k, v)
	}
	return o
}

// Uint writes an unsigned number member.
func (o *Object) Uint(k string, v uint64) *Object {
	o.key(k)
	o.b = strconv.AppendUint(o.b, v, 10)
	return o
}

// Bool writes a boolean member.
func (o *Object) Bool(k string, v bool) *Object {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
	return o
}

// StringsOmit writes an array of strings unless it is empty (omitempty).
func (o *Object) StringsOmit(k string, v []string) *Object {
	if len(v) == 0 {
		return o
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = AppendString(o.b, s)
	}
	o.b = append(o.b, ']')
	return o
}

// Raw writes a member whose value is already JSON.
func (o *Object) Raw(k string, json []byte) *Object {
	o.key(k)
	o.b = append(o.b, json...)
	return o
}

// Bytes ends the object and returns it.
func (o *Object) Bytes() []byte { return append(o.b, '}') }

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string, as encoding/json writes it: <, >
// and & as \u escapes, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
