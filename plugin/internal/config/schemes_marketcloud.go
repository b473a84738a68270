// SPDX-License-Identifier: Apache-2.0

package config

import (
	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/scheme"
)

// buildPublicKey builds the public_key verifier (public routes). It takes no
// options; what it claims depends on the route's other schemes.
func buildPublicKey(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, nil)
	if err != nil {
		return nil, err
	}
	v, err := scheme.NewPublicKey(scheme.PublicKeyOptions{
		DeferTokens:  contains(o.routeSchemes(), scheme.PublicKeyTokenName),
		ClaimMissing: o.lastScheme(scheme.PublicKeyName),
	})
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}

// buildPublicKeyToken builds the public_key_token verifier (restricted routes).
func buildPublicKeyToken(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, nil)
	if err != nil {
		return nil, err
	}
	v, err := scheme.NewPublicKeyToken(scheme.PublicKeyTokenOptions{
		DeferPublic:  contains(o.routeSchemes(), scheme.PublicKeyName),
		ClaimMissing: o.lastScheme(scheme.PublicKeyTokenName),
	})
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}

// buildSSO builds the sso verifier; it takes no options.
func buildSSO(b Build) (authn.Verifier, error) {
	if _, err := optionsOf(b, nil); err != nil {
		return nil, err
	}
	v, err := scheme.NewSSO(scheme.SSOOptions{})
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}

var domainKeyKeys = []string{"validate_auth_header"}

// buildDomainKey builds the domain_key verifier. With validate_auth_header
// false the route accepts every request without looking at the header.
func buildDomainKey(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, domainKeyKeys)
	if err != nil {
		return nil, err
	}
	validate, err := o.boolDefault("validate_auth_header", true)
	if err != nil {
		return nil, err
	}
	if !validate {
		return scheme.DomainKeyUnchecked{}, nil
	}
	v, err := scheme.NewDomainKey(scheme.DomainKeyOptions{ClaimMissing: o.lastScheme(scheme.DomainKeyName)})
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}
