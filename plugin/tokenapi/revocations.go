// SPDX-License-Identifier: Apache-2.0

package tokenapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RevocationsPath is the feed's path for a follower at cursor: a long-poll
// of wait (whole seconds) when wait is positive, a plain poll otherwise.
// The cursor is opaque ("<epoch>:<seq>" today); it is escaped for the query,
// except for its colons, which a query may hold as they are.
func RevocationsPath(cursor string, wait time.Duration) string {
	path := PathRevocations + "?" + RevocationsSince + "=" + strings.ReplaceAll(url.QueryEscape(cursor), "%3A", ":")
	if s := int(wait / time.Second); s > 0 {
		path += "&" + RevocationsWait + "=" + strconv.Itoa(min(s, MaxRevocationsWait))
	}
	return path
}
