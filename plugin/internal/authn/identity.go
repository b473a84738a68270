// SPDX-License-Identifier: Apache-2.0

package authn

// Identity is what a successful verification establishes about the caller. The
// plugin forwards it to the upstream in trusted headers.
type Identity struct {
	Subject   string
	Tenant    string
	Scopes    []string
	Scheme    string
	TokenType string
	Customer  string
	Visitor   string
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
// identity headers under prefix, and whether there were any; with none it
// returns pairs itself.
func WithoutIdentityHeaders(pairs [][2]string, prefix string) ([][2]string, bool) {
	i := 0
	for i < len(pairs) && !IsIdentityHeader(pairs[i][0], prefix) {
		i++
	}
	if i == len(pairs) {
		return pairs, false
	}
	kept := append(make([][2]string, 0, len(pairs)-1), pairs[:i]...)
	for _, kv := range pairs[i+1:] {
		if !IsIdentityHeader(kv[0], prefix) {
			kept = append(kept, kv)
		}
	}
	return kept, true
}
