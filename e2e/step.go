// SPDX-License-Identifier: Apache-2.0

// Package e2e holds credgate's end-to-end suite: one table of cases (cases.go)
// run against the embedded gateway (the default, part of `make test`) or a
// real Envoy (CREDGATE_E2E_TARGET), with the echo upstream and the token
// cluster behind it.
package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Env is what the cases talk to.
type Env struct {
	// Gateway is the listener's base URL, for example http://127.0.0.1:10000.
	Gateway string
	// TokenCluster is the token cluster's base URL, for admin calls and
	// state checks.
	TokenCluster string
	// AdminToken is the token cluster's admin bearer token.
	AdminToken string
	// VerifyToken is the token cluster's verification API credential, sent
	// on the suite's own calls to that API (ToCluster requests).
	VerifyToken string
	// StopTokenCluster stops the token cluster; nil when the suite does not
	// own it (a real Envoy stack).
	StopTokenCluster func() error
}

// State carries values between the steps of one case (issued tokens,
// timestamps). A step's request may use them as {name}.
type State map[string]string

// Case is one end-to-end case: steps run in order against one Env.
type Case struct {
	Name string
	// NeedsOwnCluster marks cases that stop the token cluster; they run
	// only when the suite started it.
	NeedsOwnCluster bool
	Steps           []Step
}

// Step is a request with expectations, or an action on the environment.
type Step struct {
	// Prepare computes state before the request (timestamps, signatures).
	Prepare func(s State)
	// Action, when set, is the whole step (revoke at the admin API, stop
	// the token cluster).
	Action func(ctx context.Context, e *Env, s State) error
	Req    Req
	Want   Want
	// Save copies fields of the JSON response into the state: name → gjson
	// path.
	Save map[string]string
	// Within repeats the request until Want holds, at most this long
	// (revocation reaches the plugin by polling).
	Within time.Duration
	// For repeats the request for this long; Want must hold every time.
	For time.Duration
	// Parallel sends this many copies at once; Want must hold for each.
	Parallel int
}

// Req is one HTTP request; {name} in Path, Body and header values is
// replaced from the State.
type Req struct {
	Method, Path string
	// Headers are name, value pairs.
	Headers     []string
	ContentType string
	Body        string
	// ToCluster sends the request to the token cluster directly, with the
	// admin token when Admin is set, else with the verify credential unless
	// NoCredential is set.
	ToCluster, Admin, NoCredential bool
}

// Want is what the client and the echo upstream must see.
type Want struct {
	Status int
	// AnyOf, when set instead of Status, accepts any of these statuses: a
	// refusal that Envoy's own checks or the plugin may give.
	AnyOf []int
	// Body is a substring of the response body.
	Body string
	// Seen are headers the echo upstream received, with their values
	// ("*": any value).
	Seen map[string]string
	// NotSeen are headers the echo upstream must not have received.
	NotSeen []string
	// Path is the request target the echo upstream received.
	Path string
}

func get(path string, headers ...string) Req {
	return Req{Method: "GET", Path: path, Headers: headers}
}

func post(path, contentType, body string, headers ...string) Req {
	return Req{Method: "POST", Path: path, ContentType: contentType, Body: body, Headers: headers}
}

func postJSON(path, body string, headers ...string) Req {
	return post(path, "application/json", body, headers...)
}

func admin(method, path, body string) Req {
	return Req{Method: method, Path: path, Body: body, ContentType: "application/json", ToCluster: true, Admin: true}
}

// ok expects a 200 from the echo upstream that saw the identity in seen and
// none of the credential headers in notSeen.
func ok(seen map[string]string, notSeen ...string) Want {
	return Want{Status: 200, Seen: seen, NotSeen: append(notSeen, "x-credgate-spoofed")}
}

func denied(status int, body string) Want { return Want{Status: status, Body: body} }

// refused expects one of the statuses, never the upstream.
func refused(statuses ...int) Want { return Want{AnyOf: statuses} }

func identity(scheme, subject, tenant string) map[string]string {
	m := map[string]string{"x-credgate-scheme": scheme}
	if subject != "" {
		m["x-credgate-subject"] = subject
	}
	if tenant != "" {
		m["x-credgate-tenant"] = tenant
	}
	return m
}

func basic(userpass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass))
}

// signHMAC sets {ts} and {sig} for a Zeamster HMAC request made at now+skew:
// hash-key = hex(HMAC-SHA256(key, user-id + timestamp)).
func signHMAC(userID, key string, skew time.Duration) func(State) {
	return func(s State) {
		ts := strconv.FormatInt(time.Now().Add(skew).Unix(), 10)
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(userID + ts))
		s["ts"], s["sig"] = ts, hex.EncodeToString(m.Sum(nil))
	}
}

// marketcloudProof sets {ts} (unix ms) and {proof} = hex(sha256(secret + ts))
// for POST /v0/tokens.
func marketcloudProof(secret string) func(State) {
	return func(s State) {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		sum := sha256.Sum256([]byte(secret + ts))
		s["ts"], s["proof"] = ts, hex.EncodeToString(sum[:])
	}
}

// uniqueID sets {id} to a name no earlier run used, so cases that create
// credentials can run again against a long-lived stack.
func uniqueID(prefix string) func(State) {
	return func(s State) { s["id"] = prefix + strconv.FormatInt(time.Now().UnixNano(), 36) }
}

// expand replaces {name} with the state's values.
func (s State) expand(v string) string {
	if !strings.Contains(v, "{") {
		return v
	}
	pairs := make([]string, 0, 2*len(s))
	for k, val := range s {
		pairs = append(pairs, "{"+k+"}", val)
	}
	return strings.NewReplacer(pairs...).Replace(v)
}
