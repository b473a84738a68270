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
