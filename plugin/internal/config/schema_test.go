// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaFile is the published JSON Schema of this configuration.
const schemaFile = "../../config.schema.json"

// coverEnv is the environment the cover documents need.
var coverEnv = Env{Getenv: func(k string) string {
	switch k {
	case "CREDGATE_VERIFY_TOKEN":
		return "verify-token-0123456789abcdef"
	case "COVER_JWT_SECRET":
		return "cover-secret-from-the-environment-0123"
	}
	return ""
}}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("config.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(s *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

func coverDocs(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/schema/cover-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cover documents: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

// TestSchemaAcceptsWhatTheParserAccepts: the cover documents, which use
// every key the schema declares, are valid for both.
func TestSchemaAcceptsWhatTheParserAccepts(t *testing.T) {
	s := compileSchema(t)
	for name, doc := range coverDocs(t) {
		if _, err := ParseEnv(doc, coverEnv); err != nil {
			t.Errorf("%s: the parser refuses it: %v", name, err)
		}
		if err := validate(s, doc); err != nil {
			t.Errorf("%s: the schema refuses it: %v", name, err)
		}
	}
}

// object is one JSON object of a cover document: where it is for the
// parser (its JSON path) and for the schema (a location naming its
// subschema), and the value itself.
type object struct {
	path, loc string
	value     map[string]any
}

// schemaWalker resolves the subschemas of the published schema.
type schemaWalker struct{ root map[string]any }

func (w schemaWalker) resolve(loc string, s map[string]any) (string, map[string]any) {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return loc, s
		}
		name := strings.TrimPrefix(ref, "#/$defs/")
		loc, s = ref, w.root["$defs"].(map[string]any)[name].(map[string]any)
	}
}

func (w schemaWalker) properties(s map[string]any) []string {
	props, _ := s["properties"].(map[string]any)
	var out []string
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// objects lists every object of doc with its schema location.
func (w schemaWalker) objects(path, loc string, s map[string]any, v any, out *[]object) {
	loc, s = w.resolve(loc, s)
	switch v := v.(type) {
	case map[string]any:
		*out = append(*out, object{path: path, loc: loc, value: v})
		props, _ := s["properties"].(map[string]any)
		for k, e := range v {
			sub, ok := props[k].(map[string]any)
			if !ok {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			w.objects(p, loc+"/"+k, sub, e, out)
		}
	case []any:
		items, _ := s["items"].(map[string]any)
		if all, ok := s["allOf"].([]any); ok && items == nil {
			_, first := w.resolve(loc, all[0].(map[string]any))
			items, _ = first["items"].(map[string]any)
		}
		for i, e := range v {
			if items != nil {
				w.objects(fmt.Sprintf("%s[%d]", path, i), loc+"[]", items, e, out)
			}
		}
	}
}

func loadSchemaMap(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSchemaKeysAreTheParserKeys walks every object of the cover documents
// and checks, at each, that the schema and the parser accept the same keys:
// every key the schema declares appears in some cover document (which the
// parser accepts), and a probe key added there makes the parser name, in
// its "valid here" list, exactly the schema's keys. A key added to one and
// not the other fails here.
func TestSchemaKeysAreTheParserKeys(t *testing.T) {
	root := loadSchemaMap(t)
	w := schemaWalker{root: root}
	covered := map[string]map[string]bool{}
	declared := map[string][]string{}
	for name, doc := range coverDocs(t) {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		var objs []object
		w.objects("", "#", root, v, &objs)
		for _, o := range objs {
			_, s := w.resolve(o.loc, subschemaAt(root, o.loc))
			declared[o.loc] = w.properties(s)
			if covered[o.loc] == nil {
				covered[o.loc] = map[string]bool{}
			}
			for k := range o.value {
				covered[o.loc][k] = true
			}
			t.Run(name+"/"+o.path, func(t *testing.T) { probe(t, v, o, declared[o.loc]) })
		}
	}
	for loc, keys := range declared {
		for _, k := range keys {
			if !covered[loc][k] {
				t.Errorf("schema %s declares %q, which no cover document uses: add it to testdata/schema", loc, k)
			}
		}
	}
}

// subschemaAt returns the subschema at a walker location (only to resolve it).
func subschemaAt(root map[string]any, loc string) map[string]any {
	if loc == "#" {
		return root
	}
	if strings.HasPrefix(loc, "#/$defs/") && !strings.ContainsAny(strings.TrimPrefix(loc, "#/$defs/"), "/[") {
		return root["$defs"].(map[string]any)[strings.TrimPrefix(loc, "#/$defs/")].(map[string]any)
	}
	// An inline object: walk from its $def.
	def, rest, _ := strings.Cut(strings.TrimPrefix(loc, "#/$defs/"), "/")
	s := root["$defs"].(map[string]any)[def].(map[string]any)
	for _, part := range strings.Split(rest, "/") {
		items := strings.HasSuffix(part, "[]")
		s = s["properties"].(map[string]any)[strings.TrimSuffix(part, "[]")].(map[string]any)
		if items {
			s = s["items"].(map[string]any)
		}
	}
	return s
}

// probe adds an unknown key to the object and checks the parser's answer.
func probe(t *testing.T, doc any, o object, schemaKeys []string) {
	o.value["zz_probe"] = true
	defer delete(o.value, "zz_probe")
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseEnv(b, coverEnv)
	at := "zz_probe"
	if o.path != "" {
		at = o.path + ".zz_probe"
	}
	if err == nil || !strings.HasPrefix(err.Error(), at+": unknown key") {
		t.Fatalf("parser answered %v, want %s: unknown key", err, at)
	}
	var parserKeys []string
	if _, list, ok := strings.Cut(err.Error(), "(valid here: "); ok {
		parserKeys = strings.Split(strings.TrimSuffix(list, ")"), ", ")
	}
	sort.Strings(parserKeys)
	if strings.HasSuffix(o.loc, "#/$defs/route/options") {
		// The keys allowed here are the route's schemes (jwt is then
		// refused by its builder: it takes no per-route options).
		for _, k := range parserKeys {
			if k != "jwt" && !slices.Contains(schemaKeys, k) {
				t.Errorf("%s: the parser accepts %q, the schema does not", o.path, k)
			}
		}
		return
	}
	if !slices.Equal(parserKeys, schemaKeys) {
		t.Errorf("%s: the parser accepts %v, the schema %v", o.path, parserKeys, schemaKeys)
	}
}

// TestInvalidConfigurationsRefusedByBoth: each document is refused by the
// parser and by the schema.
func TestInvalidConfigurationsRefusedByBoth(t *testing.T) {
	s := compileSchema(t)
	jwt := `"jwt":{"keys":[` + key + `]}`
	route := func(r string) string { return `{` + jwt + `,"routes":[` + r + `]}` }
	tests := []struct{ name, doc string }{
		{name: "unknown top-level key", doc: `{` + jwt + `,"rotues":[],"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "no routes", doc: `{"routes":[]}`},
		{name: "two path matchers", doc: route(`{"name":"a","match":{"prefix":"/","exact":"/x"},"schemes":["jwt"]}`)},
		{name: "no path matcher", doc: route(`{"name":"a","match":{"methods":["GET"]},"schemes":["jwt"]}`)},
		{name: "envoy_route with methods", doc: route(`{"name":"a","match":{"envoy_route":"x","methods":["GET"]},"schemes":["jwt"]}`)},
		{name: "empty envoy_route", doc: route(`{"name":"a","match":{"envoy_route":""},"schemes":["jwt"]}`)},
		{name: "relative prefix", doc: route(`{"name":"a","match":{"prefix":"a"},"schemes":["jwt"]}`)},
		{name: "anonymous with schemes", doc: route(`{"name":"a","match":{"prefix":"/"},"anonymous":true,"schemes":["jwt"]}`)},
		{name: "anonymous with scopes", doc: route(`{"name":"a","match":{"prefix":"/"},"anonymous":true,"scopes":["x"]}`)},
		{name: "no schemes", doc: route(`{"name":"a","match":{"prefix":"/"}}`)},
		{name: "unknown scheme", doc: route(`{"name":"a","match":{"prefix":"/"},"schemes":["kerberos"]}`)},
		{name: "scheme listed twice", doc: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt","jwt"]}`)},
		{name: "bad error style", doc: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt"],"error_style":"xml"}`)},
		{name: "bad fail policy", doc: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt"],"fail_policy":"open"}`)},
		{name: "jwt route options", doc: route(`{"name":"a","match":{"prefix":"/"},"schemes":["jwt"],"options":{"jwt":{}}}`)},
		{name: "short jwt secret", doc: `{"jwt":{"keys":[{"kid":"a","secret":"short"}]},"routes":[{"name":"a","match":{"prefix":"/"},"schemes":["jwt"]}]}`},
		{name: "jwt without keys", doc: `{"jwt":{"keys":[]},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "leeway too long", doc: `{"jwt":{"keys":[` + key + `],"leeway_seconds":301},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "both verify token forms", doc: `{"token_cluster":{"verify_token":"abc","verify_token_env":"X"},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "too few shared slots", doc: `{"cache":{"shared_slots":8},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "options for a scheme without options", doc: `{"public_key":{"x":1},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "two tenant sources", doc: `{"api_key":{"tenant":{"header":"x-t","path_segment":1}},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "hmac window 0", doc: `{"hmac":{"window_seconds":0},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "session refresh too long", doc: `{"session_token":{"refresh_seconds":601},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "access type", doc: `{"oauth2_bearer":{"access_type":"s2s"},"routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "bad identity prefix", doc: `{"identity_header_prefix":"credgate-","routes":[{"name":"a","match":{"prefix":"/"},"anonymous":true}]}`},
		{name: "lower-case method", doc: route(`{"name":"a","match":{"prefix":"/","methods":["get"]},"schemes":["jwt"]}`)},
		{name: "host with a port", doc: route(`{"name":"a","match":{"prefix":"/","hosts":["a.example:80"]},"schemes":["jwt"]}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseEnv([]byte(tc.doc), coverEnv); err == nil {
				t.Error("the parser accepts it")
			}
			if err := validate(s, []byte(tc.doc)); err == nil {
				t.Error("the schema accepts it")
			}
		})
	}
}
