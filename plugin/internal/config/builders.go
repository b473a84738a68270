// SPDX-License-Identifier: Apache-2.0

package config

import (
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// Build is what a scheme builder gets to construct a route's verifier.
type Build struct {
	// Path is the JSON path of the route's options for the scheme, for errors
	// (for example "routes[3].options.api_key").
	Path string
	// GlobalPath is the JSON path of the scheme's top-level section ("api_key").
	GlobalPath string
	// Global is the scheme's top-level section; it may not exist.
	Global gjson.Result
	// Options is the route's options for the scheme; it may not exist.
	Options gjson.Result
	// Route is the whole route object.
	Route gjson.Result
	// Env gives access to services the proxy provides.
	Env Env
}

// builder constructs one verifier for one route.
type builder func(b Build) (authn.Verifier, error)

// ReplayGuard remembers single-use values (signatures) across the proxy's VMs.
type ReplayGuard interface {
	// FirstUse records key until the given time and reports whether this is
	// its first use. It must fail closed: when it cannot tell, it reports false.
	FirstUse(key string, until int64) bool
}

// Env carries what the proxy provides to verifiers. The zero value is valid
// for parsing: services that are absent are refused at configuration time by
// the schemes that need them.
type Env struct {
	Replay ReplayGuard
	// Getenv reads the VM environment (Envoy vm_config
	// environment_variables, Istio vmConfig.env), where secrets named by
	// *_env keys live; nil reads nothing.
	Getenv func(string) string

	// built holds the verifiers shared by every route (jwt), per parse.
	built map[string]authn.Verifier
	// cluster is the parsed token_cluster section, for schemes that call it.
	cluster *Cluster
}

// builders lists every scheme the configuration can name, in name order
// (a list, not a map: sorting the names of a map would link a sort).
var builders = [...]struct {
	name  string
	build builder
}{
	{"api_key", buildAPIKey},
	{"domain_key", buildDomainKey},
	{"hmac", buildHMAC},
	{"jwt", buildJWT},
	{"oauth2_bearer", buildOAuth2},
	{"public_key", buildPublicKey},
	{"public_key_token", buildPublicKeyToken},
	{"session_token", buildSession},
	{"sso", buildSSO},
	{"user_api_key", buildUserKey},
}

// builderOf returns the builder of the scheme named name.
func builderOf(name string) (builder, bool) {
	for _, b := range builders {
		if b.name == name {
			return b.build, true
		}
	}
	return nil, false
}

// globalKeys lists the top-level section names of the schemes, in order.
func globalKeys() []string {
	keys := make([]string, 0, len(builders))
	for _, b := range builders {
		keys = append(keys, b.name)
	}
	return keys
}
