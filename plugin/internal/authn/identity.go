// SPDX-License-Identifier: Apache-2.0

package authn

import "strings"

// Identity is what a successful verification establishes about the caller. The
// plugin forwards it to the upstream in trusted headers.
type Identity struct {
	Subject string
	Tenant  string
	// Scopes are not changed in place once ScopeText joined them; an
	// identity copy (IdentityCopy) carries the joined text along.
	Scopes    []string
	Scheme    string
	TokenType string
	Customer  string
	Visitor   string
	// Headers are extra request headers a verifier sets for the upstream
	// (JWT claim_to_headers), name and value.
	Headers [][2]string

	scopeText string // ScopeText, once
}

// ScopeText is Scopes joined by spaces (the scope header's and filter
// state's form), joined once per identity.
func (id *Identity) ScopeText() string {
	if id.scopeText == "" && len(id.Scopes) > 0 {
		id.scopeText = strings.Join(id.Scopes, " ")
	}
	return id.scopeText
}

// HasScopes reports whether every scope in required is granted.
func (id *Identity) HasScopes(required []string) bool {
	for _, want := range required {
		found := false
		for _, got := range id.Scopes {
			if got == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// IsIdentityHeader reports whether a client header named name reads as one
// of the trusted identity headers under prefix (lower case, with dashes).
// Case is ignored and '_' reads as '-', because CGI, WSGI, PHP and Rack
// upstreams turn both into the same variable (HTTP_X_CREDGATE_SUBJECT).
func IsIdentityHeader(name, prefix string) bool {
	if len(name) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// WithoutIdentityHeaders returns pairs without the headers that read as
// identity headers under prefix or as one of the extra names (headers the
// plugin sets, such as JWT claim headers), and whether there were any; with
// none it returns pairs itself.
func WithoutIdentityHeaders(pairs [][2]string, prefix string, extra ...string) ([][2]string, bool) {
	drop := func(name string) bool {
		if IsIdentityHeader(name, prefix) {
			return true
		}
		for _, e := range extra {
			if len(e) == len(name) && IsIdentityHeader(name, e) {
				return true
			}
		}
		return false
	}
	i := 0
	for i < len(pairs) && !drop(pairs[i][0]) {
		i++
	}
	if i == len(pairs) {
		return pairs, false
	}
	kept := append(make([][2]string, 0, len(pairs)-1), pairs[:i]...)
	for _, kv := range pairs[i+1:] {
		if !drop(kv[0]) {
			kept = append(kept, kv)
		}
	}
	return kept, true
}
