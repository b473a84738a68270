// SPDX-License-Identifier: Apache-2.0

package tokenapi

import (
	"strconv"
	"strings"
	"time"
)

// QueryEscape is url.QueryEscape (tested against it), for the module:
// tokenapi depends on the standard library alone, and net/url would link fmt
// into the module (RATIONALE.md, module budget).
func QueryEscape(s string) string { return string(AppendQueryEscape(nil, s)) }

// AppendQueryEscape appends QueryEscape(s) to dst.
func AppendQueryEscape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		}
	}
	return dst
}

// RevocationsPath is the feed's path for a follower at cursor: a long-poll
// of wait (whole seconds) when wait is positive, a plain poll otherwise.
// The cursor is opaque ("<epoch>:<seq>:<tag>" today); it is escaped for the
// query, except for its colons, which a query may hold as they are.
func RevocationsPath(cursor string, wait time.Duration) string {
	path := PathRevocations + "?" + RevocationsSince + "=" + strings.ReplaceAll(QueryEscape(cursor), "%3A", ":")
	if s := int(wait / time.Second); s > 0 {
		path += "&" + RevocationsWait + "=" + strconv.Itoa(min(s, MaxRevocationsWait))
	}
	return path
}
