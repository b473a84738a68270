// SPDX-License-Identifier: Apache-2.0

package config

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/scheme"
)

var apiKeyKeys = []string{"tenant", "allowed_tenants"}

// buildAPIKey builds the api_key verifier. "tenant" is one of
// {"header": "x-tenant"}, {"host_label": 0} or {"path_segment": 1}.
func buildAPIKey(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, apiKeyKeys)
	if err != nil {
		return nil, err
	}
	opts := scheme.APIKeyOptions{ClaimMissing: o.lastScheme(scheme.APIKeyName)}
	if t, path := o.get("tenant"); t.Exists() {
		if opts.Tenant, err = tenantSource(path, t); err != nil {
			return nil, err
		}
	}
	if opts.AllowedTenants, err = o.list("allowed_tenants"); err != nil {
		return nil, err
	}
	v, err := scheme.NewAPIKey(opts)
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}

func tenantSource(path string, t gjson.Result) (scheme.TenantSource, error) {
	froms := []string{scheme.TenantFromHeader, scheme.TenantFromHostLabel, scheme.TenantFromPathSegment}
	if err := knownKeys(path, t, froms); err != nil {
		return scheme.TenantSource{}, err
	}
	var src scheme.TenantSource
	set := 0
	t.ForEach(func(k, v gjson.Result) bool {
		set++
		src.From = k.String()
		if src.From == scheme.TenantFromHeader {
			src.Header = strings.ToLower(v.String())
			if v.Type != gjson.String {
				src.Header = ""
			}
		} else if v.Type == gjson.Number && float64(v.Int()) == v.Float() {
			src.Index = int(v.Int())
		} else {
			src.Index = -1
		}
		return true
	})
	if set != 1 {
		return src, errAt(path, "exactly one of header, host_label and path_segment is required")
	}
	if err := src.Validate(); err != nil {
		return src, errAt(path+"."+src.From, "%v", err)
	}
	return src, nil
}
