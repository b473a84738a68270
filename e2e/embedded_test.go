// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credgate/credgate/e2e/gateway"
	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/modroot"
	"github.com/credgate/credgate/internal/testcluster"
	"github.com/credgate/credgate/internal/testproc"
)

// embeddedEnv starts a seeded token cluster, the echo upstream and the
// embedded gateway on free loopback ports, all stopped when the test ends.
func embeddedEnv(t *testing.T) *Env {
	root := moduleRoot(t)
	tc := testcluster.Start(t, seedFile)
	// envoy.yaml passes CREDGATE_VERIFY_TOKEN from the proxy's environment
	// to the plugin (vm_config.environment_variables.host_env_keys).
	t.Setenv("CREDGATE_VERIFY_TOKEN", testcluster.VerifyToken)
	echo := startEcho(t)
	gw, _ := startGateway(t, root, map[string]string{"token_cluster": tc.URL, "upstream_api": echo})
	t.Logf("embedded mode: gateway %s, token cluster %s, echo %s", gw.URL(), tc.URL, echo)
	return &Env{Gateway: gw.URL(), TokenCluster: tc.URL, AdminToken: testcluster.AdminToken, VerifyToken: testcluster.VerifyToken,
		StopTokenCluster: func() error { tc.Stop(t); return nil }}
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startGateway runs the embedded gateway on envoy/envoy.yaml with the
// clusters mapped, on a free loopback port; its logs are shown when the
// test fails.
func startGateway(t *testing.T, root string, clusters map[string]string) (*gateway.Gateway, *testproc.Buffer) {
	t.Helper()
	wasm := filepath.Join(root, "build", "credgate.wasm")
	if _, err := os.Stat(wasm); err != nil {
		t.Fatalf("%v: run `make build` first", err)
	}
	logs := &testproc.Buffer{}
	gw, err := gateway.Start(context.Background(), gateway.Options{
		Bootstrap: filepath.Join(root, "envoy", "envoy.yaml"), Wasm: wasm, Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		Clusters: clusters, CacheDir: filepath.Join(root, "build", "wazero-cache"), LogLevel: hostcalls.LogInfo,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	})
	return gw, logs
}

// startEcho builds and runs the echo upstream on a free loopback port and
// returns its base URL.
func startEcho(t *testing.T) string {
	t.Helper()
	return "http://" + testproc.Start(t, "echo listening", testproc.Build(t, "./e2e/echo"), "--listen", "127.0.0.1:0").Addr
}
