// SPDX-License-Identifier: Apache-2.0

package config

import (
	"github.com/tidwall/gjson"
)

// schemeOptions reads a scheme's options. Every option may be set in the
// scheme's top-level section (the default for all routes) or in a route's
// "options" for the scheme; the route's value wins.
type schemeOptions struct {
	b Build
}

// optionsOf checks both places for unknown keys and returns the reader.
func optionsOf(b Build, keys []string) (schemeOptions, error) {
	if err := checkKeys(b.GlobalPath, b.Global, keys); err != nil {
		return schemeOptions{}, err
	}
	if err := checkKeys(b.Path, b.Options, keys); err != nil {
		return schemeOptions{}, err
	}
	return schemeOptions{b: b}, nil
}

func checkKeys(path string, obj gjson.Result, keys []string) error {
	if !obj.Exists() {
		return nil
	}
	if len(keys) > 0 || !obj.IsObject() {
		return knownKeys(path, obj, keys)
	}
	var err error
	obj.ForEach(func(k, _ gjson.Result) bool {
		err = errAt(path+"."+k.String(), "unknown key (this scheme takes no options)")
		return false
	})
	return err
}

// get returns the option's value and the JSON path it came from.
func (o schemeOptions) get(key string) (gjson.Result, string) {
	if o.b.Options.Exists() {
		if v := o.b.Options.Get(key); v.Exists() {
			return v, o.b.Path + "." + key
		}
	}
	return o.b.Global.Get(key), o.b.GlobalPath + "." + key
}

// boolean returns a true/false option (false when absent).
func (o schemeOptions) boolean(key string) (bool, error) {
	v, path := o.get(key)
	if !v.Exists() {
		return false, nil
	}
	if !v.IsBool() {
		return false, errAt(path, "must be true or false")
	}
	return v.Bool(), nil
}

// boolDefault is boolean with a default for an absent option.
func (o schemeOptions) boolDefault(key string, def bool) (bool, error) {
	if v, _ := o.get(key); !v.Exists() {
		return def, nil
	}
	return o.boolean(key)
}

// whole returns a whole-number option within [lo, hi], def when absent.
func (o schemeOptions) whole(key string, def, lo, hi int64) (int64, error) {
	v, path := o.get(key)
	if !v.Exists() {
		return def, nil
	}
	if v.Type != gjson.Number || float64(v.Int()) != v.Float() || v.Int() < lo || v.Int() > hi {
		return 0, errAt(path, "must be a whole number from %d to %d", lo, hi)
	}
	return v.Int(), nil
}

// oneOf returns a string option that must be one of allowed ("" when absent).
func (o schemeOptions) oneOf(key string, allowed ...string) (string, error) {
	v, path := o.get(key)
	if !v.Exists() {
		return "", nil
	}
	if v.Type == gjson.String && contains(allowed, v.String()) {
		return v.String(), nil
	}
	return "", errAt(path, "must be one of %q, got %s", allowed, v.Raw)
}

// list returns a list of non-empty strings (nil when absent).
func (o schemeOptions) list(key string) ([]string, error) {
	v, path := o.get(key)
	return stringList(path, v)
}

// routeSchemes returns the scheme names the route lists (none during the
// validation of a top-level section).
func (o schemeOptions) routeSchemes() []string {
	var names []string
	for _, s := range o.b.Route.Get("schemes").Array() {
		names = append(names, s.String())
	}
	return names
}

// lastScheme reports whether name is the route's last listed scheme, so
// that it may answer for a request that carries no credentials at all.
func (o schemeOptions) lastScheme(name string) bool {
	names := o.routeSchemes()
	return len(names) > 0 && names[len(names)-1] == name
}
