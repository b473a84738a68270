// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"testing"
	"unsafe"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// TestJWTCacheCopiesItsKeys: the token a request presents points into the
// stream's header buffer, which the next stream overwrites; the cache must
// key by a copy, or one token's entry would answer for another.
func TestJWTCacheCopiesItsKeys(t *testing.T) {
	c := newJWTCache()
	buf := []byte("header.payload-of-user-a.signature")
	tokA := string(buf)
	c.put(unsafe.String(&buf[0], len(buf)), jwtEntry{id: authn.Identity{Subject: "user-a"}})
	copy(buf, "header.payload-of-user-b.signature")
	if e := c.get("header.payload-of-user-b.signature"); e != nil {
		t.Fatalf("user b's token finds user a's entry (%q): the cache kept the request's bytes", e.id.Subject)
	}
	if e := c.get(tokA); e == nil || e.id.Subject != "user-a" {
		t.Fatalf("user a's entry is gone: %+v", e)
	}
}
