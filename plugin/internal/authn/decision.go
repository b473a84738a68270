// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/stamp"
)

// Verifier checks one credential scheme.
type Verifier interface {
	// Name is the scheme's configuration name, for example "jwt".
	Name() string
	// Present reports whether the request carries this scheme's credentials.
	// The policy engine asks each accepted scheme in order; the first present
	// one decides.
	Present(r Request) bool
	// Verify decides on the request at time now. It returns an Identity on
	// success and a *DenyError otherwise; it never returns both.
	Verify(r Request, now stamp.Stamp) (*Identity, *DenyError)
	// Strip lists the credential locations to remove before the request goes
	// upstream.
	Strip() Locations
}

// NameOf is v's name, "" for none.
func NameOf(v Verifier) string {
	if v == nil {
		return ""
	}
	return v.Name()
}

// Locations names where credentials sit in a request.
type Locations struct {
	Headers []string
	Query   []string
}

// Reader is implemented by verifiers that read request values they do not
// strip (a tenant header, a binding code checked on every route).
type Reader interface {
	// Inputs lists every location the verifier reads, Strip's included.
	Inputs() Locations
}

// PassThrough is implemented by verifiers that let their credential go
// upstream as sent, by configuration.
type PassThrough interface {
	// Passes lists the locations that go upstream untouched.
	Passes() Locations
}

// Without returns l without the names in drop.
func (l Locations) Without(drop Locations) Locations {
	keep := func(names, drop []string) []string {
		var out []string
		for _, n := range names {
			found := false
			for _, d := range drop {
				found = found || d == n
			}
			if !found {
				out = append(out, n)
			}
		}
		return out
	}
	return Locations{Headers: keep(l.Headers, drop.Headers), Query: keep(l.Query, drop.Query)}
}

// InputsOf lists every location v reads: Inputs when v is a Reader, else
// Strip.
func InputsOf(v Verifier) Locations {
	if r, ok := v.(Reader); ok {
		return r.Inputs()
	}
	return v.Strip()
}

// Union merges location lists, without duplicates, in order.
func Union(locs ...Locations) Locations {
	var out Locations
	for _, l := range locs {
		out.Headers = appendNew(out.Headers, l.Headers...)
		out.Query = appendNew(out.Query, l.Query...)
	}
	return out
}

func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		found := false
		for _, e := range list {
			if e == n {
				found = true
				break
			}
		}
		if !found {
			list = append(list, n)
		}
	}
	return list
}

// Ambiguous refuses a request that gives any of the locations more than
// once, gives a name both as a header and as a query parameter with
// different values, or has a query string with ';' (which some upstreams
// read as a separator and the plugin does not): which value would the
// upstream use? One value per credential, or the request is refused.
func Ambiguous(r Request, in Locations) *DenyError {
	for _, h := range in.Headers {
		if r.HeaderCount(h) > 1 {
			return ambiguous("the " + h + " header is repeated")
		}
	}
	for _, q := range in.Query {
		if r.QueryCount(q) > 1 {
			return ambiguous("the " + q + " query parameter is repeated")
		}
		for _, h := range in.Headers {
			if h != q {
				continue
			}
			hv, inHeader := r.Header(h)
			qv, inQuery := r.Query(q)
			if inHeader && inQuery && hv != qv {
				return ambiguous(q + " differs between the header and the query")
			}
		}
	}
	if strings.IndexByte(r.RawQuery(), ';') >= 0 {
		return ambiguous("the query string has ';'")
	}
	if !r.QueryValid() {
		// A pair the plugin cannot decode is one it cannot check or strip,
		// and lenient upstreams (IIS %u escapes) may still read it.
		return ambiguous("a query parameter does not decode")
	}
	return nil
}

func ambiguous(detail string) *DenyError {
	return Deny(ErrMalformed, "ambiguous_credentials",
		"The request gives a credential more than once or with contradicting values.").WithStatus(400).WithDetail("%s", detail)
}
