// SPDX-License-Identifier: Apache-2.0

package policy

import "strings"

// NormalPath reports whether a request path is in the normal form routes are
// matched against: absolute, without empty, "." or ".." segments, and without
// percent-encoded slashes, backslashes or dots. The proxy normalises paths
// before the plugin runs (Envoy: normalize_path, merge_slashes,
// path_with_escaped_slashes_action); a path that is still not normal could
// match one route here and reach another upstream, so it is refused.
func NormalPath(path string) bool {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "\\#") {
		return false
	}
	lower := strings.ToLower(path)
	for _, enc := range []string{"%2f", "%5c", "%2e"} {
		if strings.Contains(lower, enc) {
			return false
		}
	}
	segments := strings.Split(path[1:], "/")
	for i, seg := range segments {
		switch {
		case seg == "." || seg == "..":
			return false
		case seg == "" && i != len(segments)-1:
			return false
		}
	}
	return true
}
