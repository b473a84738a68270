// SPDX-License-Identifier: Apache-2.0

package authn

import "time"

// Verifier checks one credential scheme.
type Verifier interface {
	// Name is the scheme's configuration name, for example "jwt".
	Name() string
	// Present reports whether the request carries this scheme's credentials.
	// The policy engine asks each accepted scheme in order; the first present
	// one decides.
	Present(r Request) bool
	// Verify decides on the request at time now. It returns an Identity on
	// success and a *DenyError otherwise; it never returns both.
	Verify(r Request, now time.Time) (*Identity, *DenyError)
	// Strip lists the credential locations to remove before the request goes
	// upstream.
	Strip() Locations
}

// Locations names where credentials sit in a request.
type Locations struct {
	Headers []string
	Query   []string
}
