// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/internal/textf"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// OAuth2Name is the configuration name of the opaque OAuth2 bearer scheme.
const OAuth2Name = "oauth2_bearer"

// Access types of OAuth2 clients.
const (
	AccessS2S = "S2S"
	AccessC2S = "C2S"
)

// Request parameters (header or query) that must match a token's bound codes.
const (
	VisitorCodeParam  = "visitorcode"
	CustomerCodeParam = "customercode"
)

// OAuth2Options configures the OAuth2 bearer verifier.
type OAuth2Options struct {
	// AccessType, when set ("S2S" or "C2S"), must equal the token's access type.
	AccessType string
	// RequireVisitorCode requires a token with a bound visitorcode; when the
	// request carries a visitorcode (header or query) it must equal it.
	RequireVisitorCode bool
	// RequireCustomerCode is RequireVisitorCode for the customercode.
	RequireCustomerCode bool
	// RequireOneOfCodes, when not empty, lists binding codes (VisitorCodeParam,
	// CustomerCodeParam) of which the token must carry at least one, as
	// Zakeke's order checkout wants "one or both" of visitorcode and
	// customercode. A code sent with the request must still equal the
	// token's.
	RequireOneOfCodes []string
	// RequireDeveloperID requires a developer-id (header or query
	// parameter, as Zeamster sends it with every authentication method)
	// equal to the developer the token's client is registered under.
	RequireDeveloperID bool
	// DeferJWS leaves tokens shaped like a compact JWS to the jwt scheme; set
	// it when the route also accepts jwt.
	DeferJWS bool
}

// OAuth2 verifies opaque `Authorization: Bearer <token>` access tokens by
// RFC 7662 introspection at the token cluster.
//
// See https://www.rfc-editor.org/rfc/rfc7662 and
// https://www.rfc-editor.org/rfc/rfc6750#section-2.1
type OAuth2 struct {
	opts OAuth2Options
	n    nouns
}

// NewOAuth2 validates opts and returns the verifier.
func NewOAuth2(opts OAuth2Options) (*OAuth2, error) {
	switch opts.AccessType {
	case "", AccessS2S, AccessC2S:
	default:
		return nil, textf.Errorf("access type must be %q or %q, got %q", AccessS2S, AccessC2S, opts.AccessType)
	}
	for i, c := range opts.RequireOneOfCodes {
		if c != VisitorCodeParam && c != CustomerCodeParam {
			return nil, textf.Errorf("unknown binding code %q (want %q or %q)", c, VisitorCodeParam, CustomerCodeParam)
		}
		if containsString(opts.RequireOneOfCodes[:i], c) {
			return nil, textf.Errorf("binding code %q is listed twice", c)
		}
	}
	return &OAuth2{opts: opts, n: nouns{scheme: OAuth2Name, noun: "access token"}}, nil
}

// Name implements authn.Verifier.
func (*OAuth2) Name() string { return OAuth2Name }

// Present implements authn.Verifier: any Bearer header, except well-formed
// JWS-shaped tokens when the route leaves those to the jwt scheme.
func (v *OAuth2) Present(r authn.Request) bool {
	tok, ok, err := bearerToken(r)
	if !ok {
		return false
	}
	return err != nil || !v.opts.DeferJWS || !looksLikeJWS(tok)
}

// Strip implements authn.Verifier.
func (v *OAuth2) Strip() authn.Locations {
	loc := authn.Locations{Headers: []string{"authorization"}}
	if v.opts.RequireVisitorCode || containsString(v.opts.RequireOneOfCodes, VisitorCodeParam) {
		loc.Headers = append(loc.Headers, VisitorCodeParam)
		loc.Query = append(loc.Query, VisitorCodeParam)
	}
	if v.opts.RequireCustomerCode || containsString(v.opts.RequireOneOfCodes, CustomerCodeParam) {
		loc.Headers = append(loc.Headers, CustomerCodeParam)
		loc.Query = append(loc.Query, CustomerCodeParam)
	}
	if v.opts.RequireDeveloperID {
		loc.Headers = append(loc.Headers, DeveloperIDParam)
		loc.Query = append(loc.Query, DeveloperIDParam)
	}
	return loc
}

// Inputs implements authn.Reader: the binding codes are read (checked
// against the token's) on every route, required or not.
func (v *OAuth2) Inputs() authn.Locations {
	codes := []string{VisitorCodeParam, CustomerCodeParam}
	return authn.Union(v.Strip(), authn.Locations{Headers: codes, Query: codes})
}

// Verify implements authn.Verifier. The decision needs the token cluster, so
// calling Verify directly always denies; the policy calls Prepare and Complete.
func (v *OAuth2) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(OAuth2Name)
}

// Prepare implements authn.RemoteVerifier: it asks for the token's
// introspection. A route that requires a developer-id refuses a request
// without one before any lookup.
func (v *OAuth2) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	tok, ok, deny := bearerToken(r)
	if !ok {
		return nil, authn.Deny(authn.ErrMissing, "oauth2_missing", "A Bearer access token is required.")
	}
	if deny != nil {
		return nil, deny
	}
	if _, d := v.developerID(r); d != nil {
		return nil, d
	}
	return introspection(r, OAuth2Name, tok, "access_token"), nil
}

// developerID returns the request's developer-id when the route requires
// one ("" otherwise).
func (v *OAuth2) developerID(r authn.Request) (string, *authn.DenyError) {
	if !v.opts.RequireDeveloperID {
		return "", nil
	}
	dev, ok := headerOrQuery(r, DeveloperIDParam)
	if !ok || dev == "" {
		return "", authn.Deny(authn.ErrMissing, "oauth2_developer_missing", "The developer-id is missing.")
	}
	if good, why := credentialValue(dev); !good {
		return "", v.n.malformed("developer-id: " + why)
	}
	return dev, nil
}

// Complete implements authn.RemoteVerifier: the token must be an active
// oauth2 token, of the route's access type, with the codes the route requires.
func (v *OAuth2) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	if d := v.n.checkAnswer(a, tokenapi.KindOAuth2, now); d != nil {
		return nil, d
	}
	if v.opts.AccessType != "" && a.AccessType != v.opts.AccessType {
		return nil, authn.Deny(authn.ErrForbidden, "oauth2_access_type",
			"This route requires an access token of a "+v.opts.AccessType+" client.").
			WithDetail("token access type %q", truncate(a.AccessType, 8))
	}
	if d := boundCode(r, VisitorCodeParam, a.Visitor, v.opts.RequireVisitorCode); d != nil {
		return nil, d
	}
	if d := boundCode(r, CustomerCodeParam, a.Customer, v.opts.RequireCustomerCode); d != nil {
		return nil, d
	}
	if d := v.oneOfCodes(a); d != nil {
		return nil, d
	}
	if dev, d := v.developerID(r); d != nil {
		return nil, d
	} else if v.opts.RequireDeveloperID && (a.DeveloperID == "" || !authn.SecretEqual(dev, a.DeveloperID)) {
		return nil, authn.Deny(authn.ErrInvalid, "oauth2_developer_mismatch",
			"The developer-id does not match the access token's client.")
	}
	sub := a.Subject
	if sub == "" {
		sub = a.ClientID
	}
	if sub == "" {
		return nil, authn.Deny(authn.ErrInvalid, "oauth2_no_subject", "The access token has no subject.")
	}
	typ := a.AccessType
	if typ == "" {
		typ = a.TokenType
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: sub, Tenant: a.Tenant, Scheme: OAuth2Name,
		TokenType: typ, Customer: a.Customer, Visitor: a.Visitor}), nil
}

// boundCode checks a visitor or customer code. When the route requires it,
// the token must carry one. Whenever the token carries one, a code sent with
// the request must equal it: a request may not claim another visitor or
// customer than the one its token is bound to.
func boundCode(r authn.Request, param, bound string, required bool) *authn.DenyError {
	if bound == "" {
		if required {
			return authn.Deny(authn.ErrForbidden, "oauth2_"+param+"_unbound",
				"This route requires an access token bound to a "+param+".")
		}
		return nil
	}
	sent, ok := headerOrQuery(r, param)
	if ok && !authn.SecretEqual(sent, bound) {
		return authn.Deny(authn.ErrInvalid, "oauth2_"+param+"_mismatch",
			"The "+param+" does not match the access token.")
	}
	return nil
}

// oneOfCodes requires the token to carry at least one of the route's
// RequireOneOfCodes (403 otherwise, like a missing required code).
func (v *OAuth2) oneOfCodes(a *authn.Answer) *authn.DenyError {
	if len(v.opts.RequireOneOfCodes) == 0 {
		return nil
	}
	for _, c := range v.opts.RequireOneOfCodes {
		if c == VisitorCodeParam && a.Visitor != "" || c == CustomerCodeParam && a.Customer != "" {
			return nil
		}
	}
	return authn.Deny(authn.ErrForbidden, "oauth2_codes_unbound",
		"This route requires an access token bound to a "+strings.Join(v.opts.RequireOneOfCodes, " or a ")+".")
}

// remoteOnly is the denial of Verify on a verifier that needs the token cluster.
func remoteOnly(scheme string) *authn.DenyError {
	return authn.Deny(authn.ErrUnavailable, scheme+"_needs_cluster", "The credentials cannot be verified right now.").
		WithDetail("verify called on a verifier that needs the token cluster")
}
