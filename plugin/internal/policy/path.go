// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/urlq"
)

// NormalPath reports whether a request path is in the one canonical form
// routes are matched against, so that the path the plugin decides on is the
// path every upstream reads:
//
//   - absolute, without empty, "." or ".." segments;
//   - no ';' (path parameters, which Tomcat, Jetty and Spring strip:
//     /v0/products/..;/orders reads as /v0/orders there);
//   - no backslash, '#', control character, space or byte above 0x7e;
//   - every '%' starts a valid escape, and no escape encodes an unreserved
//     character (RFC 3986: /v2/%6frder is /v2/order to the upstream), a
//     slash, a backslash, ';' or a control character, and no escape is
//     itself escaped (%252e).
//
// The proxy normalises paths before the plugin runs (Envoy: normalize_path,
// merge_slashes, path_with_escaped_slashes_action) where it is configured
// to; the plugin refuses what is still not canonical rather than rewrite it,
// so what reaches the upstream is exactly what was matched. It runs on every
// request and does not allocate.
func NormalPath(path string) bool {
	if !strings.HasPrefix(path, "/") {
		return false
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c <= ' ' || c >= 0x7f || c == '\\' || c == '#' || c == ';':
			return false
		case c == '%':
			if i+2 >= len(path) || !urlq.IsHex(path[i+1]) || !urlq.IsHex(path[i+2]) {
				return false
			}
			b := urlq.Unhex(path[i+1])<<4 | urlq.Unhex(path[i+2])
			if ambiguousEscape(b) {
				return false
			}
			if b == '%' && i+4 < len(path) && urlq.IsHex(path[i+3]) && urlq.IsHex(path[i+4]) {
				return false // %252e: an escape escaped, read twice by some upstreams
			}
			i += 2
		}
	}
	start := 1
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		seg := path[start:i]
		if seg == "." || seg == ".." || (seg == "" && i < len(path)) {
			return false
		}
		start = i + 1
	}
	return true
}

// ambiguousEscape reports whether a percent-escape of b reads differently
// to different upstreams: unreserved characters (which RFC 3986 says to
// decode), '/', '\', ';' and control characters.
func ambiguousEscape(b byte) bool {
	switch {
	case b < 0x20 || b == 0x7f:
		return true
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("-._~/\\;", b) >= 0
}
