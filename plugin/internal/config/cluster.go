// SPDX-License-Identifier: Apache-2.0

package config

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Cluster says how the plugin reaches the token cluster.
type Cluster struct {
	// Name is the Envoy cluster name.
	Name string
	// Authority is the :authority of calls to it.
	Authority string
	// Timeout bounds each call.
	Timeout time.Duration
	// VerifyToken, when set, is sent as a Bearer token on every call.
	VerifyToken string
	bearer      string // the authorization value of VerifyToken, made when read
	// RevocationPoll is how often the revocation feed is polled (0: never).
	RevocationPoll time.Duration
	// RevocationWait makes each poll a long-poll the token cluster holds
	// until a revocation arrives or this much time passes (0: short polls).
	// The call's timeout is this plus Timeout plus 5 s.
	RevocationWait time.Duration
}

// AppendCallHeaders appends the headers of a call to the token cluster to
// dst: method and path, the authority, accept, the content type when there
// is a body, the verify credential when one is configured, then extra.
func (c *Cluster) AppendCallHeaders(dst [][2]string, method, path, contentType string, extra [][2]string) [][2]string {
	dst = append(dst, [2]string{":method", method}, [2]string{":path", path},
		[2]string{":authority", c.Authority}, [2]string{"accept", "application/json"})
	if contentType != "" {
		dst = append(dst, [2]string{"content-type", contentType})
	}
	if c.VerifyToken != "" {
		bearer := c.bearer // made when the configuration is read
		if bearer == "" {
			bearer = "Bearer " + c.VerifyToken
		}
		dst = append(dst, [2]string{"authorization", bearer})
	}
	return append(dst, extra...)
}

// Cache configures the verification caches.
type Cache struct {
	// MaxEntries bounds the per-VM cache.
	MaxEntries int
	// MaxTTL caps how long any positive answer is cached.
	MaxTTL time.Duration
	// NegativeTTL is how long an invalid credential's answer is cached.
	NegativeTTL time.Duration
	// StaleWindow is how long past its TTL a positive answer may still serve
	// routes with fail_policy "stale" while the token cluster is unreachable.
	// It never extends past the credential's own expiry.
	StaleWindow time.Duration
	// Shared enables the cross-VM layer in the proxy's shared data.
	Shared bool
	// SharedSlots bounds the shared-data keys of that layer (answers of the
	// most recently seen credentials; older ones are overwritten).
	SharedSlots int
	// ReplaySlots bounds the shared-data keys of single-use values (HMAC
	// signatures with replay protection); when every slot holds a live
	// value, new requests are refused rather than let a replay through.
	ReplaySlots int
}

var clusterKeys = []string{"cluster", "authority", "timeout_ms", "verify_token", "verify_token_env", "revocation_poll_ms",
	"revocation_wait_seconds"}

func parseCluster(v gjson.Result, getenv func(string) string) (*Cluster, error) {
	if !v.Exists() {
		return nil, nil
	}
	if err := knownKeys("token_cluster", v, clusterKeys); err != nil {
		return nil, err
	}
	c := &Cluster{Name: "token_cluster", Authority: "tokencluster", Timeout: time.Second, RevocationPoll: 500 * time.Millisecond,
		RevocationWait: 30 * time.Second}
	if n := v.Get("cluster"); n.Exists() {
		if n.Type != gjson.String || n.String() == "" {
			return nil, errAt("token_cluster.cluster", "must be a non-empty cluster name")
		}
		c.Name = n.String()
	}
	if a := v.Get("authority"); a.Exists() {
		if a.Type != gjson.String || a.String() == "" || strings.ContainsAny(a.String(), " /\r\n") {
			return nil, errAt("token_cluster.authority", "must be a host name, optionally with a port")
		}
		c.Authority = a.String()
	}
	var err error
	if c.Timeout, err = millis(v, "token_cluster", "timeout_ms", c.Timeout, 10, 60000); err != nil {
		return nil, err
	}
	if c.RevocationPoll, err = millis(v, "token_cluster", "revocation_poll_ms", c.RevocationPoll, 0, 60000); err != nil {
		return nil, err
	}
	if w := v.Get("revocation_wait_seconds"); w.Exists() {
		if w.Type != gjson.Number || w.Int() < 0 || w.Int() > 300 || float64(w.Int()) != w.Float() {
			return nil, errAt("token_cluster.revocation_wait_seconds", "must be a whole number of seconds from 0 (short polls) to 300")
		}
		c.RevocationWait = time.Duration(w.Int()) * time.Second
	}
	t, tenv := v.Get("verify_token"), v.Get("verify_token_env")
	switch {
	case t.Exists() && tenv.Exists():
		return nil, errAt("token_cluster", "set verify_token or verify_token_env, not both")
	case t.Exists():
		if t.Type != gjson.String || !tokenValue(t.String()) {
			return nil, errAt("token_cluster.verify_token", "must be a non-empty token without spaces")
		}
		c.VerifyToken = t.String()
	case tenv.Exists():
		name := tenv.String()
		if tenv.Type != gjson.String || name == "" || strings.ContainsAny(name, "= \r\n") {
			return nil, errAt("token_cluster.verify_token_env", "must name an environment variable")
		}
		val := ""
		if getenv != nil {
			val = getenv(name)
		}
		if val == "" {
			return nil, errAt("token_cluster.verify_token_env", "%s is not set in the VM environment (Envoy vm_config.environment_variables, Istio vmConfig.env)", name)
		}
		if !tokenValue(val) {
			return nil, errAt("token_cluster.verify_token_env", "%s must be a token without spaces", name)
		}
		c.VerifyToken = val
	}
	if c.VerifyToken != "" {
		c.bearer = "Bearer " + c.VerifyToken
	}
	return c, nil
}

func tokenValue(s string) bool {
	if s == "" || len(s) > 4096 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

var cacheKeys = []string{"max_entries", "max_ttl_seconds", "negative_ttl_seconds", "stale_seconds", "shared", "shared_slots", "replay_slots"}

func parseCache(v gjson.Result) (Cache, error) {
	c := Cache{MaxEntries: 10000, MaxTTL: 5 * time.Minute, NegativeTTL: 5 * time.Second, StaleWindow: 5 * time.Minute, Shared: true,
		SharedSlots: 8192, ReplaySlots: 16384}
	if !v.Exists() {
		return c, nil
	}
	if err := knownKeys("cache", v, cacheKeys); err != nil {
		return c, err
	}
	if n := v.Get("max_entries"); n.Exists() {
		if n.Type != gjson.Number || n.Int() < 0 || n.Int() > 1_000_000 || float64(n.Int()) != n.Num {
			return c, errAt("cache.max_entries", "must be a whole number from 0 (no cache) to 1000000")
		}
		c.MaxEntries = int(n.Int())
	}
	var err error
	if c.MaxTTL, err = seconds(v, "max_ttl_seconds", c.MaxTTL); err != nil {
		return c, err
	}
	if c.NegativeTTL, err = seconds(v, "negative_ttl_seconds", c.NegativeTTL); err != nil {
		return c, err
	}
	if c.StaleWindow, err = seconds(v, "stale_seconds", c.StaleWindow); err != nil {
		return c, err
	}
	if s := v.Get("shared"); s.Exists() {
		if !s.IsBool() {
			return c, errAt("cache.shared", "must be true or false")
		}
		c.Shared = s.Bool()
	}
	for key, dst := range map[string]*int{"shared_slots": &c.SharedSlots, "replay_slots": &c.ReplaySlots} {
		if n := v.Get(key); n.Exists() {
			if n.Type != gjson.Number || n.Int() < 16 || n.Int() > 1<<20 || float64(n.Int()) != n.Float() {
				return c, errAt("cache."+key, "must be a whole number from 16 to 1048576")
			}
			*dst = int(n.Int())
		}
	}
	return c, nil
}

func millis(v gjson.Result, section, key string, def time.Duration, lo, hi int64) (time.Duration, error) {
	n := v.Get(key)
	if !n.Exists() {
		return def, nil
	}
	if n.Type != gjson.Number || n.Int() < lo || n.Int() > hi || float64(n.Int()) != n.Float() {
		return 0, errAt(section+"."+key, "must be a whole number of milliseconds from %d to %d", lo, hi)
	}
	return time.Duration(n.Int()) * time.Millisecond, nil
}

func seconds(v gjson.Result, key string, def time.Duration) (time.Duration, error) {
	n := v.Get(key)
	if !n.Exists() {
		return def, nil
	}
	if n.Type != gjson.Number || n.Int() < 0 || n.Int() > 86400 || float64(n.Int()) != n.Float() {
		return 0, errAt("cache."+key, "must be a whole number of seconds from 0 to 86400")
	}
	return time.Duration(n.Int()) * time.Second, nil
}
