// SPDX-License-Identifier: Apache-2.0

package tokenapi

import (
	"strconv"
	"time"

	"github.com/credgate/credgate/plugin/internal/urlq"
)

// RevocationsPath is the feed's path for a follower at cursor: a long-poll
// of wait (whole seconds) when wait is positive, a plain poll otherwise.
func RevocationsPath(cursor string, wait time.Duration) string {
	path := PathRevocations + "?" + RevocationsSince + "=" + urlq.QueryEscape(cursor)
	if s := int(wait / time.Second); s > 0 {
		path += "&" + RevocationsWait + "=" + strconv.Itoa(min(s, MaxRevocationsWait))
	}
	return path
}
