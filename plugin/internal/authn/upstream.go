// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/urlq"
)

// HeaderSafe drops control characters from a value the plugin sets on the
// request (an identity, a claim), so no value can split or corrupt a
// header, and bounds its length.
func HeaderSafe(v string) string {
	clean := true
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		v = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, v)
	}
	if len(v) > MaxHeaderValue {
		v = v[:MaxHeaderValue]
	}
	return v
}

// StripQuery removes the named parameters from a query string, in every
// spelling that folds to the name (FoldQueryName), as the request view
// reads them, and returns the request target.
func StripQuery(path, rawQuery string, names []string) string {
	var kept []string
	for _, part := range strings.Split(rawQuery, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := urlq.QueryUnescape(key); err == nil && contains(names, FoldQueryName(k)) {
			continue
		}
		kept = append(kept, part)
	}
	if len(kept) == 0 {
		return path
	}
	return path + "?" + strings.Join(kept, "&")
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// IdentityHeaders names the identity headers under one prefix; a
// configuration makes it once.
type IdentityHeaders struct {
	subject, tenant, scopes, scheme, tokenType, customer, visitor string
}

// NewIdentityHeaders names the identity headers under prefix, for example
// "x-credgate-subject".
func NewIdentityHeaders(prefix string) *IdentityHeaders {
	return &IdentityHeaders{subject: prefix + "subject", tenant: prefix + "tenant", scopes: prefix + "scopes",
		scheme: prefix + "scheme", tokenType: prefix + "token-type", customer: prefix + "customer", visitor: prefix + "visitor"}
}

// Each calls set with every header a verified identity sets on the
// request: the identity headers and the verifier's own (JWT claim
// headers), each value made HeaderSafe; empty values are left out.
func (n *IdentityHeaders) Each(id *Identity, set func(name, value string)) {
	add := func(name, value string) {
		if value = HeaderSafe(value); value != "" {
			set(name, value)
		}
	}
	add(n.subject, id.Subject)
	add(n.tenant, id.Tenant)
	add(n.scopes, id.ScopeText())
	add(n.scheme, id.Scheme)
	add(n.tokenType, id.TokenType)
	add(n.customer, id.Customer)
	add(n.visitor, id.Visitor)
	for _, kv := range id.Headers {
		add(kv[0], kv[1])
	}
}

// UpstreamHeaders lists the headers a verified identity sets on the
// request under prefix (IdentityHeaders.Each).
func UpstreamHeaders(prefix string, id *Identity) [][2]string {
	var out [][2]string
	NewIdentityHeaders(prefix).Each(id, func(name, value string) { out = append(out, [2]string{name, value}) })
	return out
}
