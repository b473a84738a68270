// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// DomainKeyName is the configuration name of the store domain key scheme.
const DomainKeyName = "domain_key"

// DomainKeyUncheckedName is the scheme a route with validate_auth_header
// false reports (stats, filter state, x-credgate-scheme): nothing was
// checked, and no upstream or RBAC rule may read it as a verified domain key.
const DomainKeyUncheckedName = "domain_key_unchecked"

// DomainKeyMessage is the public message of every domain key denial, as the
// Znode API words it: the answer never says which part was wrong.
const DomainKeyMessage = "Domain name and key are either incorrect or missing from the request Authorization header."

// DomainKeyOptions configures the domain key verifier.
type DomainKeyOptions struct {
	// ClaimMissing makes every request that reaches this scheme its own, even
	// without an Authorization header or with another scheme's, so the route
	// answers 403 with DomainKeyMessage rather than a generic 401. Set it
	// when the scheme is the route's last. Otherwise only Basic values that
	// are not user:key pairs are claimed.
	ClaimMissing bool
}

// DomainKey verifies `Authorization: Basic base64(domain|key)` at the token
// cluster. Every failure, missing credentials included, is a 403.
type DomainKey struct {
	opts DomainKeyOptions
	n    nouns
}

// NewDomainKey returns the verifier.
func NewDomainKey(opts DomainKeyOptions) (*DomainKey, error) {
	return &DomainKey{opts: opts, n: nouns{scheme: DomainKeyName, noun: "domain key"}}, nil
}

// Name implements authn.Verifier.
func (*DomainKey) Name() string { return DomainKeyName }

// Present implements authn.Verifier.
func (v *DomainKey) Present(r authn.Request) bool {
	if v.opts.ClaimMissing {
		return true
	}
	payload, present, ok := basicValue(r)
	return present && (!ok || strings.Contains(payload, "|"))
}

// Strip implements authn.Verifier.
func (*DomainKey) Strip() authn.Locations { return authn.Locations{Headers: []string{"authorization"}} }

// Verify implements authn.Verifier; domain keys need the token cluster.
func (*DomainKey) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(DomainKeyName)
}

// Prepare implements authn.RemoteVerifier.
func (v *DomainKey) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	domain, key, d := readDomainKey(r)
	if d != nil {
		return nil, d
	}
	req := tokenapi.VerifyRequest{Kind: tokenapi.KindDomainKey, Domain: domain, Credential: key}
	return verification(r, DomainKeyName, req, key, domain, key), nil
}

// Complete implements authn.RemoteVerifier.
func (v *DomainKey) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	domain, _, d := readDomainKey(r)
	if d != nil {
		return nil, d
	}
	if d := v.n.checkAnswer(a, tokenapi.KindDomainKey, now); d != nil {
		if d.Status == 503 {
			return nil, d
		}
		d.Message, d.Status = DomainKeyMessage, 403
		return nil, d
	}
	if a.Subject != "" && a.Subject != domain {
		return nil, domainDenial(authn.ErrInvalid, "domain_key_invalid", "the answer names another domain")
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: domain, Tenant: a.Tenant, Scheme: DomainKeyName,
		TokenType: tokenapi.KindDomainKey}), nil
}

func domainDenial(kind error, reason, detail string) *authn.DenyError {
	return authn.Deny(kind, reason, DomainKeyMessage).WithStatus(403).WithDetail("%s", detail)
}

// readDomainKey reads the domain and key; every failure is the 403 denial.
func readDomainKey(r authn.Request) (domain, key string, d *authn.DenyError) {
	payload, present, ok := basicValue(r)
	switch {
	case !present:
		return "", "", domainDenial(authn.ErrMissing, "domain_key_missing", "no Basic Authorization header")
	case !ok:
		return "", "", domainDenial(authn.ErrMalformed, "domain_key_malformed", "not base64")
	}
	domain, key, ok = parseDomainKey(payload)
	if !ok {
		return "", "", domainDenial(authn.ErrMalformed, "domain_key_malformed", "not domain|key with both parts")
	}
	return domain, key, nil
}

// parseDomainKey splits a decoded payload at the first '|'; both parts must
// be non-empty, without spaces or control characters.
func parseDomainKey(payload string) (domain, key string, ok bool) {
	domain, key, found := strings.Cut(payload, "|")
	if !found {
		return "", "", false
	}
	if good, _ := credentialValue(domain); !good {
		return "", "", false
	}
	if good, _ := credentialValue(key); !good {
		return "", "", false
	}
	return domain, key, true
}

// DomainKeyUnchecked is the domain_key verifier of routes that set
// validate_auth_header to false: it accepts every request without looking
// at the Authorization header, and strips nothing.
type DomainKeyUnchecked struct{}

// Name implements authn.Verifier.
func (DomainKeyUnchecked) Name() string { return DomainKeyUncheckedName }

// Present implements authn.Verifier: always, the route does not check.
func (DomainKeyUnchecked) Present(authn.Request) bool { return true }

// Strip implements authn.Verifier: nothing; the header goes upstream as sent.
func (DomainKeyUnchecked) Strip() authn.Locations { return authn.Locations{} }

// Passes implements authn.PassThrough: the upstream checks the
// Authorization header itself.
func (DomainKeyUnchecked) Passes() authn.Locations {
	return authn.Locations{Headers: []string{"authorization"}}
}

// Verify implements authn.Verifier: an identity of the scheme, no subject.
func (DomainKeyUnchecked) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return &authn.Identity{Scheme: DomainKeyUncheckedName}, nil
}
