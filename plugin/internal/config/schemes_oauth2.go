// SPDX-License-Identifier: Apache-2.0

package config

import (
	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/scheme"
	"github.com/credgate/credgate/plugin/internal/textf"
)

var oauth2Keys = []string{"access_type", "require_visitorcode", "require_customercode", "require_one_of_codes",
	"require_developer_id"}

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
	if opts.RequireOneOfCodes, err = oneOfCodes(o); err != nil {
		return nil, err
	}
	if opts.RequireDeveloperID, err = o.boolean("require_developer_id"); err != nil {
		return nil, err
	}
	v, err := scheme.NewOAuth2(opts)
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}

// oneOfCodes reads require_one_of_codes: a non-empty list of distinct
// binding codes (visitorcode, customercode).
func oneOfCodes(o schemeOptions) ([]string, error) {
	v, path := o.get("require_one_of_codes")
	codes, err := stringList(path, v)
	if err != nil || !v.Exists() {
		return nil, err
	}
	if len(codes) == 0 {
		return nil, errAt(path, "must list at least one of %q, %q", scheme.VisitorCodeParam, scheme.CustomerCodeParam)
	}
	for i, c := range codes {
		switch {
		case c != scheme.VisitorCodeParam && c != scheme.CustomerCodeParam:
			return nil, errAt(textf.Sprintf("%s[%d]", path, i), "unknown binding code %q (want %q or %q)",
				c, scheme.VisitorCodeParam, scheme.CustomerCodeParam)
		case contains(codes[:i], c):
			return nil, errAt(textf.Sprintf("%s[%d]", path, i), "binding code %q is listed twice", c)
		}
	}
	return codes, nil
}
