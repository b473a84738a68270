// SPDX-License-Identifier: Apache-2.0

package envoy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// istioDoc is one Kubernetes resource of a file in envoy/istio/.
type istioDoc struct {
	apiVersion, kind, name, namespace string
	obj                               map[string]any
}

// istioKinds validates each resource kind the Istio directory may hold.
var istioKinds = map[string]func(t *testing.T, d istioDoc, all []istioDoc){
	"extensions.istio.io/v1alpha1 WasmPlugin": checkWasmPlugin,
	"v1 Service":         checkService,
	"v1 Namespace":       func(*testing.T, istioDoc, []istioDoc) {},
	"apps/v1 Deployment": checkDeployment,
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// loadIstioDocs parses every document of a YAML file (sigs.k8s.io/yaml, the
// YAML → JSON conversion kubectl uses) and checks the fields every resource
// needs.
func loadIstioDocs(t *testing.T, path string) []istioDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []istioDoc
	for i, part := range docSeparator.Split(string(b), -1) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(part), &obj); err != nil {
			t.Fatalf("%s, document %d: %v", path, i, err)
		}
		if obj == nil {
			continue // comments only
		}
		d := istioDoc{
			apiVersion: str(obj, "apiVersion"), kind: str(obj, "kind"),
			name: str(obj, "metadata", "name"), namespace: str(obj, "metadata", "namespace"), obj: obj,
		}
		if d.apiVersion == "" || d.kind == "" || d.name == "" {
			t.Fatalf("%s, document %d: apiVersion, kind and metadata.name are required: %v", path, i, obj)
		}
		if d.kind != "Namespace" && d.namespace == "" {
			t.Errorf("%s: %s %s has no metadata.namespace", path, d.kind, d.name)
		}
		out = append(out, d)
	}
	return out
}

// get walks nested objects; it returns nil when a key is missing.
func get(obj any, keys ...string) any {
	for _, k := range keys {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		obj = m[k]
	}
	return obj
}

func str(obj any, keys ...string) string { s, _ := get(obj, keys...).(string); return s }

// allIstioDocs reads every file of envoy/istio/.
func allIstioDocs(t *testing.T) []istioDoc {
	t.Helper()
	var all []istioDoc
	for _, p := range yamlFiles(t, "istio") {
		all = append(all, loadIstioDocs(t, p)...)
	}
	return all
}

// TestIstioResources validates every resource of envoy/istio/ by kind.
func TestIstioResources(t *testing.T) {
	all := allIstioDocs(t)
	var kinds []string
	for _, d := range all {
		kinds = append(kinds, d.kind)
		check, ok := istioKinds[d.apiVersion+" "+d.kind]
		if !ok {
			t.Errorf("%s %s: no validation for %s", d.kind, d.name, d.apiVersion)
			continue
		}
		t.Run(d.kind+"/"+d.name, func(t *testing.T) { check(t, d, all) })
	}
	for _, want := range []string{"WasmPlugin", "Service"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("envoy/istio/ has no %s", want)
		}
	}
}

// wasmPluginSpecFields are the fields of Istio's WasmPlugin spec
// (istio.io/api extensions/v1alpha1); anything else is a typo Istio rejects.
var wasmPluginSpecFields = []string{
	"selector", "targetRef", "targetRefs", "url", "sha256", "imagePullPolicy", "imagePullSecret",
	"pluginConfig", "pluginName", "phase", "priority", "failStrategy", "vmConfig", "match", "type",
}

func checkWasmPlugin(t *testing.T, d istioDoc, all []istioDoc) {
	spec, _ := d.obj["spec"].(map[string]any)
	for k := range spec {
		if !slices.Contains(wasmPluginSpecFields, k) {
			t.Errorf("spec.%s is not a WasmPlugin field", k)
		}
	}
	tests := []struct {
		name, field string
		ok          func(string) bool
		want        string
	}{
		{name: "runs before authorization", field: "phase", ok: eq("AUTHN"), want: "AUTHN"},
		{name: "an HTTP filter", field: "type", ok: eq("HTTP"), want: "HTTP"},
		{name: "fails closed", field: "failStrategy", ok: eq("FAIL_CLOSE"), want: "FAIL_CLOSE"},
		{name: "an OCI image", field: "url", ok: func(s string) bool { return strings.HasPrefix(s, "oci://") }, want: "oci://…"},
		{name: "a pull policy", field: "imagePullPolicy", ok: func(s string) bool { return s == "IfNotPresent" || s == "Always" }, want: "IfNotPresent or Always"},
		{name: "the plugin's root id", field: "pluginName", ok: eq("credgate"), want: "credgate"},
	}
	for _, tc := range tests {
		if got := str(spec, tc.field); !tc.ok(got) {
			t.Errorf("%s: spec.%s = %q, want %s", tc.name, tc.field, got, tc.want)
		}
	}
	if get(spec, "selector", "matchLabels") == nil && get(spec, "targetRefs") == nil {
		t.Error("spec needs selector.matchLabels or targetRefs, else it applies to every proxy of the namespace")
	}
	pc, ok := spec["pluginConfig"].(map[string]any)
	if !ok {
		t.Fatal("spec.pluginConfig must be an object")
	}
	t.Run("the verify credential comes from the gateway's environment", func(t *testing.T) {
		if got := str(pc, "token_cluster", "verify_token_env"); got != "CREDGATE_VERIFY_TOKEN" {
			t.Errorf("token_cluster.verify_token_env %q, want CREDGATE_VERIFY_TOKEN", got)
		}
		if get(pc, "token_cluster", "verify_token") != nil {
			t.Error("token_cluster.verify_token puts the secret in the resource")
		}
		env, _ := get(spec, "vmConfig", "env").([]any)
		found := false
		for _, e := range env {
			found = found || (str(e, "name") == "CREDGATE_VERIFY_TOKEN" && str(e, "valueFrom") == "HOST")
		}
		if !found {
			t.Errorf("vmConfig.env must pass CREDGATE_VERIFY_TOKEN from the host: %v", env)
		}
	})
	t.Run("token cluster is an Istio cluster of a Service here", func(t *testing.T) {
		want := istioClusterNames(all)
		if got := str(pc, "token_cluster", "cluster"); !want[got] {
			t.Errorf("token_cluster.cluster %q names none of the Services here: %v", got, want)
		}
	})
	t.Run("same policy as envoy.yaml", func(t *testing.T) {
		var fromEnvoy map[string]any
		if err := json.Unmarshal([]byte(bootstrapPluginConfig(t, loadBootstrap(t, bootstrapPath))), &fromEnvoy); err != nil {
			t.Fatal(err)
		}
		// Istio keeps the plugin's own path matcher where envoy.yaml binds
		// a route to a named Envoy route.
		withPathMatches(t, fromEnvoy, loadBootstrap(t, bootstrapPath))
		a, b := normalize(t, pc), normalize(t, fromEnvoy)
		delete(a, "token_cluster") // cluster naming is what differs
		delete(b, "token_cluster")
		for _, m := range []map[string]any{a, b} {
			if j, ok := m["jwt"].(map[string]any); ok {
				if r, ok := j["remote_jwks"].(map[string]any); ok {
					delete(r, "cluster")
				}
			}
		}
		for _, d := range differences("pluginConfig", a, b) {
			t.Errorf("differs from envoy.yaml's configuration: %s", d)
		}
	})
	t.Run("the plugin accepts it", func(t *testing.T) {
		// Istio hands pluginConfig to the plugin as its JSON encoding.
		b, err := json.Marshal(pc)
		if err != nil {
			t.Fatal(err)
		}
		if err := startPlugin(t, b); err != nil {
			t.Fatalf("the plugin refuses the WasmPlugin's pluginConfig: %v", err)
		}
	})
}

// differences lists where two decoded JSON values differ, by path.
func differences(path string, a, b any) []string {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		var out []string
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		for k := range keys {
			out = append(out, differences(path+"."+k, ma[k], mb[k])...)
		}
		slices.Sort(out)
		return out
	}
	la, okA := a.([]any)
	lb, okB := b.([]any)
	if okA && okB && len(la) == len(lb) {
		var out []string
		for i := range la {
			out = append(out, differences(fmt.Sprintf("%s[%d]", path, i), la[i], lb[i])...)
		}
		return out
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	return []string{fmt.Sprintf("%s: istio %v, envoy.yaml %v", path, a, b)}
}

func eq(want string) func(string) bool { return func(s string) bool { return s == want } }

// normalize round-trips through JSON so numbers compare alike.
func normalize(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// istioClusterNames returns the Envoy cluster name Istio gives each port of
// each Service: outbound|<port>||<name>.<namespace>.svc.cluster.local.
func istioClusterNames(all []istioDoc) map[string]bool {
	out := map[string]bool{}
	for _, d := range all {
		if d.kind != "Service" {
			continue
		}
		ports, _ := get(d.obj, "spec", "ports").([]any)
		for _, p := range ports {
			port, _ := get(p, "port").(float64)
			out[fmt.Sprintf("outbound|%d||%s.%s.svc.cluster.local", int(port), d.name, d.namespace)] = true
		}
	}
	return out
}

func checkService(t *testing.T, d istioDoc, _ []istioDoc) {
	ports, _ := get(d.obj, "spec", "ports").([]any)
	if len(ports) == 0 {
		t.Fatal("no spec.ports")
	}
	for _, p := range ports {
		// Istio needs the protocol: a port name prefixed http or appProtocol.
		if !strings.HasPrefix(str(p, "name"), "http") && str(p, "appProtocol") != "http" {
			t.Errorf("port %v: name it http… or set appProtocol: http so Istio routes it as HTTP", p)
		}
	}
	if sel, _ := get(d.obj, "spec", "selector").(map[string]any); len(sel) == 0 {
		t.Error("no spec.selector")
	}
	if d.name == "tokencluster" && !istioClusterNames([]istioDoc{d})["outbound|9090||tokencluster.credgate.svc.cluster.local"] {
		t.Error("the token cluster Service must be tokencluster.credgate, port 9090")
	}
}

func checkDeployment(t *testing.T, d istioDoc, all []istioDoc) {
	sel, _ := get(d.obj, "spec", "selector", "matchLabels").(map[string]any)
	labels, _ := get(d.obj, "spec", "template", "metadata", "labels").(map[string]any)
	if len(sel) == 0 {
		t.Fatal("no spec.selector.matchLabels")
	}
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("selector %s=%v does not match the pod labels %v", k, v, labels)
		}
	}
	for _, s := range all {
		if s.kind == "Service" && s.namespace == d.namespace && s.name == d.name {
			if !reflect.DeepEqual(get(s.obj, "spec", "selector"), get(d.obj, "spec", "selector", "matchLabels")) {
				t.Errorf("Service %s selects %v, the Deployment's pods are %v", s.name, get(s.obj, "spec", "selector"), sel)
			}
		}
	}
	containers, _ := get(d.obj, "spec", "template", "spec", "containers").([]any)
	if len(containers) == 0 {
		t.Fatal("no containers")
	}
	if sc := get(d.obj, "spec", "template", "spec", "securityContext"); get(sc, "runAsNonRoot") != true {
		t.Errorf("pod securityContext %v, want runAsNonRoot: true", sc)
	}
	for _, c := range containers {
		name := str(c, "name")
		if str(c, "image") == "" {
			t.Errorf("container %s needs an image", name)
		}
		// Readiness and liveness are different questions: a store outage
		// must take the pod out of the endpoints, not restart it.
		if p := get(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
			t.Errorf("container %s: readiness probe %v, want /readyz", name, p)
		}
		if p := get(c, "livenessProbe", "httpGet", "path"); p != "/livez" {
			t.Errorf("container %s: liveness probe %v, want /livez", name, p)
		}
		for _, kind := range []string{"requests", "limits"} {
			for _, res := range []string{"cpu", "memory"} {
				if str(c, "resources", kind, res) == "" {
					t.Errorf("container %s: no resources.%s.%s", name, kind, res)
				}
			}
		}
		sc := get(c, "securityContext")
		if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
			!reflect.DeepEqual(get(sc, "capabilities", "drop"), []any{"ALL"}) {
			t.Errorf("container %s: securityContext %v, want readOnlyRootFilesystem, no privilege escalation, drop ALL", name, sc)
		}
		if u, ok := get(sc, "runAsUser").(float64); ok && u == 0 {
			t.Errorf("container %s runs as root", name)
		}
		if name != "tokencluster" {
			continue
		}
		// No demo credentials: the image holds none, and nothing here seeds them.
		args, _ := get(c, "args").([]any)
		for _, a := range args {
			if s, _ := a.(string); s == "--seed" || strings.Contains(s, "credentials.json") || strings.Contains(s, "testdata") {
				t.Errorf("the token cluster is seeded with %q: production starts without demo credentials", s)
			}
		}
		env, _ := get(c, "env").([]any)
		fromSecret := map[string]bool{}
		for _, e := range env {
			if get(e, "value") != nil && strings.HasSuffix(str(e, "name"), "_TOKEN") {
				t.Errorf("%s is written into the manifest; take it from a Secret", str(e, "name"))
			}
			if get(e, "valueFrom", "secretKeyRef", "name") != nil {
				fromSecret[str(e, "name")] = true
			}
		}
		if !fromSecret["TOKENCLUSTER_VERIFY_TOKEN"] {
			t.Error("the token cluster needs TOKENCLUSTER_VERIFY_TOKEN from a Secret: it refuses to start without a verify credential")
		}
		if !fromSecret["TOKENCLUSTER_ADMIN_TOKEN"] {
			t.Error("the token cluster needs TOKENCLUSTER_ADMIN_TOKEN from a Secret: without it no credential can be created")
		}
		if !slices.Contains(args, any("--drain-delay")) {
			t.Error("no --drain-delay: on SIGTERM the pod would stop accepting before the endpoints drop it")
		}
		grace, _ := get(d.obj, "spec", "template", "spec", "terminationGracePeriodSeconds").(float64)
		if grace < 20 {
			t.Errorf("terminationGracePeriodSeconds %v, want at least the drain delay plus the shutdown timeout (20 s)", grace)
		}
	}
}

// TestWasmImageDockerfile checks the OCI recipe: an image of nothing but the
// module, named plugin.wasm as Istio expects.
func TestWasmImageDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("istio", "Dockerfile.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			steps = append(steps, strings.Join(strings.Fields(line), " "))
		}
	}
	if want := []string{"FROM scratch", "COPY build/credgate.wasm ./plugin.wasm"}; !slices.Equal(steps, want) {
		t.Errorf("Dockerfile.wasm steps %q, want %q", steps, want)
	}
}
