// SPDX-License-Identifier: Apache-2.0

package policy

import "strings"

// NormalPath reports whether a request path is in the normal form routes are
// matched against: absolute, without empty, "." or ".." segments, and without
// percent-encoded slashes, backslashes or dots. The proxy normalises paths
// before the plugin runs (Envoy: normalize_path, merge_slashes,
// path_with_escaped_slashes_action); a path that is still not normal could
// match one route here and reach another upstream, so it is refused.
// It runs on every request and does not allocate.
func NormalPath(path string) bool {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "\\#") {
		return false
	}
	for i := 0; i+2 < len(path); i++ {
		if path[i] == '%' && path[i+1] == '2' && (path[i+2]|0x20 == 'f' || path[i+2]|0x20 == 'e') ||
			path[i] == '%' && path[i+1] == '5' && path[i+2]|0x20 == 'c' {
			return false
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
