// SPDX-License-Identifier: Apache-2.0

package config

import (
	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/scheme"
)

var oauth2Keys = []string{"access_type", "require_visitorcode", "require_customercode"}

// buildOAuth2 builds the oauth2_bearer verifier. When the route also accepts
// jwt, JWS-shaped tokens are left to it.
func buildOAuth2(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, oauth2Keys)
	if err != nil {
		return nil, err
	}
	opts := scheme.OAuth2Options{DeferJWS: contains(o.routeSchemes(), "jwt")}
	if opts.AccessType, err = o.oneOf("access_type", scheme.AccessS2S, scheme.AccessC2S); err != nil {
		return nil, err
	}
	if opts.RequireVisitorCode, err = o.boolean("require_visitorcode"); err != nil {
		return nil, err
	}
	if opts.RequireCustomerCode, err = o.boolean("require_customercode"); err != nil {
		return nil, err
	}
	v, err := scheme.NewOAuth2(opts)
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}
