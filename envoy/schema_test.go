// SPDX-License-Identifier: Apache-2.0

package envoy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestPluginConfigsMatchTheSchema validates the plugin configuration of
// envoy.yaml and of every WasmPlugin against plugin/config.schema.json, as
// an Istio user would validate pluginConfig (envoy/istio/README.md).
func TestPluginConfigsMatchTheSchema(t *testing.T) {
	f, err := os.Open(repoPath(t, "plugin/config.schema.json"))
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
	schema, err := c.Compile("config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string][]byte{"envoy.yaml": []byte(bootstrapPluginConfig(t, loadBootstrap(t, bootstrapPath)))}
	for _, d := range allIstioDocs(t) {
		if d.kind != "WasmPlugin" {
			continue
		}
		spec, _ := d.obj["spec"].(map[string]any)
		b, err := json.Marshal(spec["pluginConfig"])
		if err != nil {
			t.Fatal(err)
		}
		configs["WasmPlugin "+d.name] = b
	}
	if len(configs) < 2 {
		t.Fatalf("no WasmPlugin found: %v", configs)
	}
	for name, b := range configs {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
