// SPDX-License-Identifier: Apache-2.0

package envoy_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// The router, the RBAC filter and the stdout access logger, which
	// envoy.yaml names only in typed_config, registered so
	// that its Any resolves (the HTTP connection manager and the Wasm filter
	// are imported above). Any other @type is refused.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
)

// bootstrapPath is the one Envoy bootstrap: `make run`, the compose suite and
// the embedded gateway all use it.
var bootstrapPath = "envoy.yaml"

// resolver resolves typed_config @types: only types linked into this test
// binary (the imports above and what they depend on); anything else fails.
var resolver = protoregistry.GlobalTypes

// validator is implemented by every go-control-plane message (protoc-gen-validate).
type validator interface{ ValidateAll() error }

// parseBootstrap turns bootstrap YAML into a validated Bootstrap, as Envoy
// would refuse it: unknown fields and unknown @types fail, every message
// passes its validation rules, every Any is unpacked and validated, and every
// route names a defined cluster.
func parseBootstrap(y []byte) (*bootstrapv3.Bootstrap, error) {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	bs := &bootstrapv3.Bootstrap{}
	if err := (protojson.UnmarshalOptions{Resolver: resolver}).Unmarshal(j, bs); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := bs.ValidateAll(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := validateAnys(bs.ProtoReflect(), "bootstrap"); err != nil {
		return nil, err
	}
	if err := checkRouteClusters(bs); err != nil {
		return nil, err
	}
	return bs, nil
}

// validateAnys walks m, unpacks every google.protobuf.Any with the resolver,
// validates what it holds and walks into it.
func validateAnys(m protoreflect.Message, path string) error {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{Resolver: resolver})
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, a.GetTypeUrl(), err)
		}
		if v, ok := inner.(validator); ok {
			if err := v.ValidateAll(); err != nil {
				return fmt.Errorf("%s: %s: %w", path, a.GetTypeUrl(), err)
			}
		}
		return validateAnys(inner.ProtoReflect(), path+"("+string(inner.ProtoReflect().Descriptor().FullName())+")")
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + string(fd.Name())
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				if err = validateAnys(v.List().Get(i).Message(), fmt.Sprintf("%s[%d]", p, i)); err != nil {
					return false
				}
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				err = validateAnys(mv.Message(), p+"["+k.String()+"]")
				return err == nil
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			err = validateAnys(v.Message(), p)
		}
		return err == nil
	})
	return err
}

// connectionManagers returns every HTTP connection manager of the static
// listeners.
func connectionManagers(bs *bootstrapv3.Bootstrap) ([]*hcmv3.HttpConnectionManager, error) {
	var out []*hcmv3.HttpConnectionManager
	for _, l := range bs.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				if f.GetName() != "envoy.filters.network.http_connection_manager" {
					continue
				}
				hcm := &hcmv3.HttpConnectionManager{}
				if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
					return nil, fmt.Errorf("listener %s: %w", l.GetName(), err)
				}
				out = append(out, hcm)
			}
		}
	}
	return out, nil
}

// routes returns every route of every inline route configuration.
func routes(bs *bootstrapv3.Bootstrap) ([]*routev3.Route, error) {
	hcms, err := connectionManagers(bs)
	if err != nil {
		return nil, err
	}
	var out []*routev3.Route
	for _, hcm := range hcms {
		for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
			out = append(out, vh.GetRoutes()...)
		}
	}
	return out, nil
}

// checkRouteClusters fails when a route sends traffic to a cluster the
// bootstrap does not define (Envoy would answer 503 at run time, not refuse
// the file).
func checkRouteClusters(bs *bootstrapv3.Bootstrap) error {
	rs, err := routes(bs)
	if err != nil {
		return err
	}
	defined := clusterNames(bs)
	var errs []error
	for _, r := range rs {
		if c := r.GetRoute().GetCluster(); c != "" && !defined[c] {
			errs = append(errs, fmt.Errorf("route %s sends to cluster %q, which is not defined", r.GetMatch(), c))
		}
	}
	return errors.Join(errs...)
}

func clusterNames(bs *bootstrapv3.Bootstrap) map[string]bool {
	out := map[string]bool{}
	for _, c := range bs.GetStaticResources().GetClusters() {
		out[c.GetName()] = true
	}
	return out
}

// loadBootstrap reads and validates a bootstrap file.
func loadBootstrap(t *testing.T, path string) *bootstrapv3.Bootstrap {
	t.Helper()
	y, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := parseBootstrap(y)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return bs
}

// wasmFilter returns the credgate Wasm filter's plugin configuration and its
// position in the HTTP filter chain, with the chain's length.
func wasmFilter(t *testing.T, bs *bootstrapv3.Bootstrap) (plugin *wasmv3.PluginConfig, index, chain int) {
	t.Helper()
	hcms, err := connectionManagers(bs)
	if err != nil {
		t.Fatal(err)
	}
	if len(hcms) != 1 {
		t.Fatalf("want one HTTP connection manager, got %d", len(hcms))
	}
	filters := hcms[0].GetHttpFilters()
	for i, f := range filters {
		if f.GetName() != "envoy.filters.http.wasm" {
			continue
		}
		w := &wasmfilterv3.Wasm{}
		if err := f.GetTypedConfig().UnmarshalTo(w); err != nil {
			t.Fatal(err)
		}
		return w.GetConfig(), i, len(filters)
	}
	t.Fatal("no envoy.filters.http.wasm filter")
	return nil, 0, 0
}

// bootstrapPluginConfig returns the plugin configuration string of the Wasm
// filter (a google.protobuf.StringValue, as the plugin reads it).
func bootstrapPluginConfig(t *testing.T, bs *bootstrapv3.Bootstrap) string {
	t.Helper()
	pc, _, _ := wasmFilter(t, bs)
	s := &wrapperspb.StringValue{}
	if err := pc.GetConfiguration().UnmarshalTo(s); err != nil {
		t.Fatalf("the plugin configuration must be a google.protobuf.StringValue: %v", err)
	}
	if s.GetValue() == "" {
		t.Fatal("empty plugin configuration")
	}
	return s.GetValue()
}
