// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/internal/textf"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// APIKeyName is the configuration name of the tenant API key scheme.
const APIKeyName = "api_key"

// apiKeyHeader is the `ApiKey` header, as the proxy hands names over.
const apiKeyHeader = "apikey"

// CodeAPIKey is the platform code of every ApiKey failure: the header is
// missing, malformed, expired, revoked, unknown, or the key does not belong
// to the requested tenant (401). A valid key whose tenant may not call the
// route (403) and an unreachable token cluster (503) keep their status as
// code.
const CodeAPIKey = -23

// Where a request's tenant comes from.
const (
	TenantFromHeader      = "header"
	TenantFromHostLabel   = "host_label"
	TenantFromPathSegment = "path_segment"
)

// TenantSource says where a request names its tenant. The zero value means
// the route does not check the key's tenant.
type TenantSource struct {
	// From is one of the TenantFrom* constants, or "" for no check.
	From string
	// Header is the lower-case header name (TenantFromHeader).
	Header string
	// Index is the 0-based host label (TenantFromHostLabel), or the 1-based
	// path segment (TenantFromPathSegment).
	Index int
}

// Tenant returns the request's tenant, or false when it names none.
func (s TenantSource) Tenant(r authn.Request) (string, bool) {
	var t string
	switch s.From {
	case TenantFromHeader:
		t, _ = r.Header(s.Header)
	case TenantFromHostLabel:
		t = nth(strings.Split(strings.ToLower(r.Host()), "."), s.Index)
	case TenantFromPathSegment:
		t = nth(strings.Split(strings.TrimPrefix(r.Path(), "/"), "/"), s.Index-1)
	}
	return t, t != "" && len(t) <= 256
}

func nth(parts []string, i int) string {
	if i < 0 || i >= len(parts) {
		return ""
	}
	return parts[i]
}

// Validate reports whether the source is usable.
func (s TenantSource) Validate() error {
	switch s.From {
	case "":
	case TenantFromHeader:
		if s.Header == "" || s.Header != strings.ToLower(s.Header) || strings.ContainsAny(s.Header, " :\t") {
			return errors.New("the tenant header must be a lower-case header name")
		}
	case TenantFromHostLabel:
		if s.Index < 0 || s.Index > 16 {
			return errors.New("the host label must be from 0 to 16")
		}
	case TenantFromPathSegment:
		if s.Index < 1 || s.Index > 32 {
			return errors.New("the path segment must be from 1 to 32")
		}
	default:
		return textf.Errorf("unknown tenant source %q", s.From)
	}
	return nil
}

// APIKeyOptions configures the API key verifier.
type APIKeyOptions struct {
	// ClaimMissing makes a request without an ApiKey header this scheme's,
	// so the route answers with CodeAPIKey rather than the policy's generic
	// 401. Set it when the scheme is the route's last.
	ClaimMissing bool
	// Tenant is where the request names its tenant; the key must belong to it.
	Tenant TenantSource
	// AllowedTenants, when not empty, lists the tenants whose keys may call
	// the route; a valid key of another tenant is forbidden (403).
	AllowedTenants []string
}

// APIKey verifies the `ApiKey` header at the token cluster.
type APIKey struct {
	opts APIKeyOptions
	n    nouns
}

// NewAPIKey validates opts and returns the verifier.
func NewAPIKey(opts APIKeyOptions) (*APIKey, error) {
	if err := opts.Tenant.Validate(); err != nil {
		return nil, err
	}
	return &APIKey{opts: opts, n: nouns{scheme: APIKeyName, noun: "API key"}}, nil
}

// Name implements authn.Verifier.
func (*APIKey) Name() string { return APIKeyName }

// Present implements authn.Verifier: the ApiKey header is sent (or, when
// the scheme claims missing credentials, always).
func (v *APIKey) Present(r authn.Request) bool {
	_, ok := r.Header(apiKeyHeader)
	return ok || v.opts.ClaimMissing
}

// Strip implements authn.Verifier. The tenant header is routing data, not a
// credential, and goes upstream.
func (*APIKey) Strip() authn.Locations { return authn.Locations{Headers: []string{apiKeyHeader}} }

// Inputs implements authn.Reader: the tenant header is read too, so it must
// be given once.
func (v *APIKey) Inputs() authn.Locations {
	in := v.Strip()
	if v.opts.Tenant.From == TenantFromHeader {
		in.Headers = append(in.Headers, v.opts.Tenant.Header)
	}
	return in
}

// Verify implements authn.Verifier; API keys need the token cluster.
func (*APIKey) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(APIKeyName)
}

// Prepare implements authn.RemoteVerifier. A request that names no tenant on
// a route that checks it is refused before any lookup. Every refusal carries
// CodeAPIKey.
func (v *APIKey) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	key, ok := r.Header(apiKeyHeader)
	if !ok {
		return nil, withAPIKeyCode(v.n.missing("ApiKey header"))
	}
	if good, why := credentialValue(key); !good {
		return nil, withAPIKeyCode(v.n.malformed(why))
	}
	if v.opts.Tenant.From != "" {
		if _, named := v.opts.Tenant.Tenant(r); !named {
			return nil, withAPIKeyCode(authn.Deny(authn.ErrInvalid, "api_key_no_tenant", "The request does not name a tenant."))
		}
	}
	req := tokenapi.VerifyRequest{Kind: tokenapi.KindAPIKey, Credential: key}
	return verification(r, APIKeyName, req, key, key), nil
}

// Complete implements authn.RemoteVerifier: the key must be active and
// belong to the request's tenant (else 401, code -23), and its tenant must be
// allowed on the route (else 403).
func (v *APIKey) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	if d := v.n.checkAnswer(a, tokenapi.KindAPIKey, now); d != nil {
		return nil, withAPIKeyCode(d)
	}
	if v.opts.Tenant.From != "" {
		want, named := v.opts.Tenant.Tenant(r)
		if !named || a.Tenant != want {
			return nil, withAPIKeyCode(authn.Deny(authn.ErrInvalid, "api_key_wrong_tenant",
				"The API key does not belong to this tenant."))
		}
	}
	if len(v.opts.AllowedTenants) > 0 && !containsString(v.opts.AllowedTenants, a.Tenant) {
		return nil, authn.Deny(authn.ErrForbidden, "api_key_tenant_forbidden",
			"The API key's tenant may not call this route.").WithDetail("tenant %q", truncate(a.Tenant, 64))
	}
	if a.Subject == "" {
		return nil, withAPIKeyCode(authn.Deny(authn.ErrInvalid, "api_key_no_subject", "The API key is invalid."))
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: a.Subject, Tenant: a.Tenant, Scheme: APIKeyName,
		TokenType: tokenapi.KindAPIKey}), nil
}

// withAPIKeyCode gives a credential failure (401) the platform's ApiKey
// code; a forbidden tenant (403) or an unavailable cluster (503) keeps its
// status as code.
//
// Every such failure also says the same thing to the client, as the
// platform documents code -23: which one it was (a revoked key, another
// tenant's) is for the operator's log (the reason code), not for whoever
// holds the key.
func withAPIKeyCode(d *authn.DenyError) *authn.DenyError {
	if d.Status == 401 {
		d.Message = APIKeyMessage
		return d.WithCode(CodeAPIKey)
	}
	return d
}

// APIKeyMessage is the one public message of code -23.
const APIKeyMessage = "The ApiKey header is missing, malformed, expired or revoked, or the key does not belong to the requested tenant."

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
