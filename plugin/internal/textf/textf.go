// SPDX-License-Identifier: Apache-2.0

// Package textf formats the plugin's messages (errors and log lines) with
// the few verbs they use, as fmt would write them, without fmt: fmt and the
// reflection it needs cost the Wasm module about 0.4 MB (RATIONALE.md, module
// budget).
//
// Verbs: %s, %v, %d, %q, %w (Errorf only, as %v otherwise), %.Nf and %%.
// Arguments: strings, []byte, []string, bool, every integer and float type,
// errors, and nil. Named types other than those (a type Status int) are not
// seen through: convert them at the call. Anything else prints as
// "%!v(unsupported)", which the package's tests refuse at every call site
// they reach (UnsupportedHook).
package textf

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Sprintf formats like fmt.Sprintf, for the verbs and types listed above.
// Not inlined (nor is Errorf): a call is then as small as one of fmt's.
//
//go:noinline
func Sprintf(format string, args ...any) string {
	return string(appendf(nil, format, args, nil))
}

// Errorf formats like fmt.Errorf: the error's message is the formatted text,
// and it wraps every %w operand (errors.Is and errors.As see them).
//
//go:noinline
func Errorf(format string, args ...any) error {
	var wrapped []error
	msg := string(appendf(nil, format, args, &wrapped))
	switch len(wrapped) {
	case 0:
		return errors.New(msg)
	case 1:
		return &wrapError{msg, wrapped[0]}
	}
	return &wrapErrors{msg, wrapped}
}

type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

type wrapErrors struct {
	msg  string
	errs []error
}

func (e *wrapErrors) Error() string   { return e.msg }
func (e *wrapErrors) Unwrap() []error { return e.errs }

// UnsupportedHook, when set (tests), is called with the verb of every
// argument textf cannot format.
var UnsupportedHook func(verb byte, arg any)

func appendf(b []byte, format string, args []any, wrapped *[]error) []byte {
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		i++
		if i >= len(format) {
			return append(b, "%!(NOVERB)"...)
		}
		prec := -1
		if format[i] == '.' {
			prec = 0
			for i++; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
				prec = prec*10 + int(format[i]-'0')
			}
			if i >= len(format) {
				return append(b, "%!(NOVERB)"...)
			}
		}
		verb := format[i]
		if verb == '%' {
			b = append(b, '%')
			continue
		}
		if next >= len(args) {
			b = append(b, "%!"...)
			b = append(b, verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		arg := args[next]
		next++
		if verb == 'w' {
			if err, ok := arg.(error); ok && wrapped != nil {
				*wrapped = append(*wrapped, err)
			}
			verb = 'v'
		}
		b = appendArg(b, verb, prec, arg)
	}
	if next < len(args) {
		b = append(b, "%!(EXTRA)"...)
	}
	return b
}

func appendArg(b []byte, verb byte, prec int, arg any) []byte {
	switch a := arg.(type) {
	case nil:
		if verb == 'v' || verb == 's' {
			return append(b, "<nil>"...)
		}
	case string:
		return appendString(b, verb, a)
	case []byte:
		if verb != 'v' {
			return appendString(b, verb, string(a))
		}
		b = append(b, '[')
		for i, c := range a {
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendUint(b, uint64(c), 10)
		}
		return append(b, ']')
	case error:
		return appendString(b, verb, a.Error())
	case []string:
		if verb == 'd' {
			break
		}
		b = append(b, '[')
		for i, s := range a {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendString(b, verb, s)
		}
		return append(b, ']')
	case bool:
		if verb == 'v' {
			return strconv.AppendBool(b, a)
		}
	case int:
		return appendInt(b, verb, int64(a))
	case int8:
		return appendInt(b, verb, int64(a))
	case int16:
		return appendInt(b, verb, int64(a))
	case int32:
		return appendInt(b, verb, int64(a))
	case int64:
		return appendInt(b, verb, a)
	case uint:
		return appendUint(b, verb, uint64(a))
	case uint8:
		return appendUint(b, verb, uint64(a))
	case uint16:
		return appendUint(b, verb, uint64(a))
	case uint32:
		return appendUint(b, verb, uint64(a))
	case uint64:
		return appendUint(b, verb, a)
	case uintptr:
		return appendUint(b, verb, uint64(a))
	case float64:
		return appendFloat(b, verb, prec, a, 64)
	case float32:
		return appendFloat(b, verb, prec, float64(a), 32)
	}
	if UnsupportedHook != nil {
		UnsupportedHook(verb, arg)
	}
	b = append(b, "%!"...)
	b = append(b, verb)
	return append(b, "(unsupported)"...)
}

func appendString(b []byte, verb byte, s string) []byte {
	switch verb {
	case 's', 'v':
		return append(b, s...)
	case 'q':
		return strconv.AppendQuote(b, s)
	}
	return badVerb(b, verb)
}

func appendInt(b []byte, verb byte, v int64) []byte {
	switch verb {
	case 'd', 'v':
		return strconv.AppendInt(b, v, 10)
	case 'q':
		return strconv.AppendQuoteRune(b, toRune(v))
	}
	return badVerb(b, verb)
}

func appendUint(b []byte, verb byte, v uint64) []byte {
	switch verb {
	case 'd', 'v':
		return strconv.AppendUint(b, v, 10)
	case 'q':
		if v > utf8.MaxRune {
			return strconv.AppendQuoteRune(b, utf8.RuneError)
		}
		return strconv.AppendQuoteRune(b, rune(v))
	}
	return badVerb(b, verb)
}

func toRune(v int64) rune {
	if v < 0 || v > utf8.MaxRune {
		return utf8.RuneError
	}
	return rune(v)
}

func appendFloat(b []byte, verb byte, prec int, v float64, bits int) []byte {
	switch verb {
	case 'v':
		return strconv.AppendFloat(b, v, 'g', prec, bits)
	case 'f':
		if prec < 0 {
			prec = 6
		}
		return strconv.AppendFloat(b, v, 'f', prec, bits)
	}
	return badVerb(b, verb)
}

func badVerb(b []byte, verb byte) []byte {
	b = append(b, "%!"...)
	b = append(b, verb)
	return append(b, "(BADVERB)"...)
}
