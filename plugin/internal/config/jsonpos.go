// SPDX-License-Identifier: Apache-2.0

package config

// syntaxError locates the first syntax error of a document: the offset of
// the byte encoding/json's scanner stops at (the length of data when the
// document ends too early) and what was expected; why is empty when the
// document is valid. It follows encoding/json's grammar byte for byte
// (FuzzSyntaxError checks it against json.Unmarshal), because the module
// does not link encoding/json (RATIONALE.md).
func syntaxError(data []byte) (int, string) {
	const maxNesting = 10000 // encoding/json's
	var stack []byte         // '{' or '[' of each open container
	i := 0
	ws := func() {
		for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
			i++
		}
	}
	for {
		// A value starts at i.
		ws()
		if i >= len(data) {
			return i, "unexpected end of the document"
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxNesting {
				return i, "nested too deeply"
			}
			stack = append(stack, c)
			i++
			ws()
			if i < len(data) && data[i] == c+2 { // '}' or ']'
				i++
				stack = stack[:len(stack)-1]
				break
			}
			if c == '{' {
				if at, why := objectKey(data, &i, ws); at >= 0 {
					return at, why
				}
			}
			continue
		case c == '"':
			if at, why := str(data, &i); at >= 0 {
				return at, why
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if at, why := number(data, &i); at >= 0 {
				return at, why
			}
		case c == 't' || c == 'f' || c == 'n':
			lit := "null"
			if c == 't' {
				lit = "true"
			} else if c == 'f' {
				lit = "false"
			}
			for k := 0; k < len(lit); k, i = k+1, i+1 {
				if i >= len(data) {
					return i, "unexpected end of the document"
				}
				if data[i] != lit[k] {
					return i, "invalid character " + quote(data[i]) + " in literal " + lit
				}
			}
		default:
			return i, "invalid character " + quote(c) + " looking for beginning of value"
		}
		// After a value: close containers, or go on to the next element.
		for {
			ws()
			if len(stack) == 0 {
				if i < len(data) {
					return i, "invalid character " + quote(data[i]) + " after top-level value"
				}
				return len(data), "" // valid: json.Valid would not have refused it
			}
			if i >= len(data) {
				return i, "unexpected end of the document"
			}
			top := stack[len(stack)-1]
			switch c := data[i]; {
			case c == top+2:
				i++
				stack = stack[:len(stack)-1]
				continue
			case c == ',':
				i++
				if top == '{' {
					ws()
					if at, why := objectKey(data, &i, ws); at >= 0 {
						return at, why
					}
				}
			case top == '{':
				return i, "invalid character " + quote(c) + " after object key:value pair"
			default:
				return i, "invalid character " + quote(c) + " after array element"
			}
			break
		}
	}
}

// objectKey reads `"key" :` at i (white space before it already skipped).
func objectKey(data []byte, i *int, ws func()) (int, string) {
	if *i >= len(data) {
		return *i, "unexpected end of the document"
	}
	if data[*i] != '"' {
		return *i, "invalid character " + quote(data[*i]) + " looking for beginning of object key string"
	}
	if at, why := str(data, i); at >= 0 {
		return at, why
	}
	ws()
	if *i >= len(data) {
		return *i, "unexpected end of the document"
	}
	if data[*i] != ':' {
		return *i, "invalid character " + quote(data[*i]) + " after object key"
	}
	*i++
	return -1, ""
}

// str reads a string at i (on its opening quote).
func str(data []byte, i *int) (int, string) {
	for *i++; *i < len(data); *i++ {
		switch c := data[*i]; {
		case c == '"':
			*i++
			return -1, ""
		case c < 0x20:
			return *i, "invalid character " + quote(c) + " in string literal"
		case c == '\\':
			*i++
			if *i >= len(data) {
				return *i, "unexpected end of the document"
			}
			switch data[*i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := 0; k < 4; k++ {
					*i++
					if *i >= len(data) {
						return *i, "unexpected end of the document"
					}
					if !isHex(data[*i]) {
						return *i, "invalid character " + quote(data[*i]) + " in \\u hexadecimal character escape"
					}
				}
			default:
				return *i, "invalid character " + quote(data[*i]) + " in string escape code"
			}
		}
	}
	return *i, "unexpected end of the document"
}

// number reads a number at i.
func number(data []byte, i *int) (int, string) {
	digits := func() {
		for *i < len(data) && data[*i] >= '0' && data[*i] <= '9' {
			*i++
		}
	}
	need := func(what string) (int, string) {
		if *i >= len(data) {
			return *i, "unexpected end of the document"
		}
		if data[*i] < '0' || data[*i] > '9' {
			return *i, "invalid character " + quote(data[*i]) + " " + what
		}
		return -1, ""
	}
	if data[*i] == '-' {
		*i++
		if at, why := need("in numeric literal"); at >= 0 {
			return at, why
		}
	}
	if data[*i] == '0' {
		*i++
	} else {
		digits()
	}
	if *i < len(data) && data[*i] == '.' {
		*i++
		if at, why := need("after decimal point in numeric literal"); at >= 0 {
			return at, why
		}
		digits()
	}
	if *i < len(data) && (data[*i] == 'e' || data[*i] == 'E') {
		*i++
		if *i < len(data) && (data[*i] == '+' || data[*i] == '-') {
			*i++
		}
		if at, why := need("in exponent of numeric literal"); at >= 0 {
			return at, why
		}
		digits()
	}
	return -1, ""
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// quote writes a byte as encoding/json's messages do.
func quote(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(c) + "'"
	}
	const hex = "0123456789abcdef"
	return `'\x` + string(hex[c>>4]) + string(hex[c&15]) + "'"
}
