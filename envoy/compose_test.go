// SPDX-License-Identifier: Apache-2.0

package envoy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composePath is the compose suite's file; paths in it are relative to e2e/.
var composePath = filepath.Join("..", "e2e", "docker-compose.yml")

// loadCompose loads and validates a compose file as `docker compose` does
// (compose-go, schema and consistency checks), with env as the only
// environment. No Docker engine is involved.
// composeVerifyToken stands for the per-run credential scripts/e2e-compose.sh
// exports; the compose file refuses to load without one.
const composeVerifyToken = "compose-test-verify-token-0123"

func loadCompose(t *testing.T, path string, env ...string) (*types.Project, error) {
	t.Helper()
	return loadComposeEnv(t, path, append([]string{"CREDGATE_VERIFY_TOKEN=" + composeVerifyToken}, env...)...)
}

func loadComposeEnv(t *testing.T, path string, env ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithWorkingDirectory(filepath.Join("..", "e2e")),
		cli.WithEnv(env),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func composeService(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// repoPath is the absolute form of a path relative to the repository root.
func repoPath(t *testing.T, rel string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestCompose checks the compose suite's file against what the bootstrap and
// the Dockerfiles expect.
func TestCompose(t *testing.T) {
	p, err := loadCompose(t, composePath)
	if err != nil {
		t.Fatalf("compose-go refuses %s: %v", composePath, err)
	}
	bs := loadBootstrap(t, bootstrapPath)
	pc, _, _ := wasmFilter(t, bs)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{
			name: "the four services",
			check: func(t *testing.T) {
				got := p.ServiceNames()
				slices.Sort(got)
				if want := []string{"envoy", "redis", "tokencluster", "upstream"}; !slices.Equal(got, want) {
					t.Errorf("services %v, want %v", got, want)
				}
			},
		},
		{
			name: "pinned images, Envoy overridable and 1.39 by default",
			check: func(t *testing.T) {
				if got := composeService(t, p, "envoy").Image; got != "envoyproxy/envoy:v1.39.0" {
					t.Errorf("envoy image %q, want envoyproxy/envoy:v1.39.0", got)
				}
				over, err := loadCompose(t, composePath, "ENVOY_IMAGE=envoyproxy/envoy:v1.36.2")
				if err != nil {
					t.Fatal(err)
				}
				if got := composeService(t, over, "envoy").Image; got != "envoyproxy/envoy:v1.36.2" {
					t.Errorf("ENVOY_IMAGE is not honoured: %q", got)
				}
				pinned := regexp.MustCompile(`^[a-z0-9./-]+:v?[0-9]+\.[0-9]+\.[0-9]+[a-z0-9.-]*$`)
				for _, name := range []string{"envoy", "redis"} {
					if img := composeService(t, p, name).Image; !pinned.MatchString(img) {
						t.Errorf("%s image %q is not pinned to a release", name, img)
					}
				}
			},
		},
		{
			name: "envoy mounts the bootstrap and the module where the bootstrap reads them",
			check: func(t *testing.T) {
				envoy := composeService(t, p, "envoy")
				want := map[string]string{
					"/etc/envoy/envoy.yaml":                             repoPath(t, "envoy/envoy.yaml"),
					pc.GetVmConfig().GetCode().GetLocal().GetFilename(): repoPath(t, "build/credgate.wasm"),
				}
				checkMounts(t, envoy, want)
				if !slices.Contains(envoy.Command, "/etc/envoy/envoy.yaml") {
					t.Errorf("envoy command %v does not load /etc/envoy/envoy.yaml", envoy.Command)
				}
			},
		},
		{
			name: "envoy publishes the listener, never the admin port (loopback inside the container)",
			check: func(t *testing.T) {
				listener := bs.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress().GetPortValue()
				admin := bs.GetAdmin().GetAddress().GetSocketAddress().GetPortValue()
				checkPorts(t, composeService(t, p, "envoy"), listener)
				for _, pc := range composeService(t, p, "envoy").Ports {
					if pc.Target == admin {
						t.Errorf("the admin port %d is published", admin)
					}
				}
				checkPorts(t, composeService(t, p, "tokencluster"), 9090)
			},
		},
		{
			name: "the bootstrap's cluster hosts are compose services on the right ports",
			check: func(t *testing.T) {
				want := map[string]string{"upstream_api": "upstream:8080", "token_cluster": "tokencluster:9090"}
				for _, c := range bs.GetStaticResources().GetClusters() {
					sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
					if got := fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue()); got != want[c.GetName()] {
						t.Errorf("cluster %s points at %s, want %s", c.GetName(), got, want[c.GetName()])
					}
				}
				for svc, listen := range map[string]string{"upstream": "0.0.0.0:8080", "tokencluster": "0.0.0.0:9090"} {
					if cmd := composeService(t, p, svc).Command; !hasFlag(cmd, "--listen", listen) {
						t.Errorf("%s command %v does not listen on %s", svc, cmd, listen)
					}
				}
			},
		},
		{
			name: "the verify credential is per run, shared by Envoy and the token cluster, and ports stay on loopback",
			check: func(t *testing.T) {
				tc, envoy := composeService(t, p, "tokencluster"), composeService(t, p, "envoy")
				if v := tc.Environment["TOKENCLUSTER_VERIFY_TOKEN"]; v == nil || *v != composeVerifyToken {
					t.Errorf("tokencluster TOKENCLUSTER_VERIFY_TOKEN = %v, want the run's CREDGATE_VERIFY_TOKEN", v)
				}
				if v := envoy.Environment["CREDGATE_VERIFY_TOKEN"]; v == nil || *v != composeVerifyToken {
					t.Errorf("envoy CREDGATE_VERIFY_TOKEN = %v, want the run's CREDGATE_VERIFY_TOKEN", v)
				}
				if _, err := loadComposeEnv(t, composePath); err == nil || !strings.Contains(err.Error(), "CREDGATE_VERIFY_TOKEN") {
					t.Errorf("the stack loads without a verify credential (err %v): it must not fall back to a default", err)
				}
				for _, c := range []struct {
					svc  string
					port uint32
				}{{"tokencluster", 9090}} {
					for _, pc := range composeService(t, p, c.svc).Ports {
						if pc.Target == c.port && pc.HostIP != "127.0.0.1" {
							t.Errorf("%s publishes %d on %q, want loopback only", c.svc, c.port, pc.HostIP)
						}
					}
				}
				script, err := os.ReadFile(filepath.Join("..", "scripts", "e2e-compose.sh"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(script), "export CREDGATE_VERIFY_TOKEN") {
					t.Error("scripts/e2e-compose.sh does not make the run's verify credential")
				}
			},
		},
		{
			name: "the token cluster runs on Redis with the demo seed",
			check: func(t *testing.T) {
				tc := composeService(t, p, "tokencluster")
				if !hasFlag(tc.Command, "--redis", "redis://redis:6379/0") || !hasFlag(tc.Command, "--seed", "/seed/credentials.json") {
					t.Errorf("tokencluster command %v", tc.Command)
				}
				// The demo seed is mounted here; the image holds none.
				checkMounts(t, tc, map[string]string{"/seed/credentials.json": repoPath(t, "tokencluster/testdata/credentials.json")})
				if !tc.ReadOnly {
					t.Error("tokencluster: read_only: true wanted (the service writes nothing on Redis)")
				}
				v := tc.Environment["TOKENCLUSTER_ADMIN_TOKEN"]
				if v == nil || *v == "" {
					t.Fatal("no admin token: the suite cannot create or revoke credentials")
				}
				script, err := os.ReadFile(filepath.Join("..", "scripts", "e2e-compose.sh"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(script), "CREDGATE_E2E_ADMIN_TOKEN="+*v+" ") {
					t.Errorf("scripts/e2e-compose.sh does not give the tests the admin token %q", *v)
				}
			},
		},
		{
			name: "health checks and start order",
			check: func(t *testing.T) {
				for svc, probe := range map[string]string{
					"tokencluster": "http://127.0.0.1:9090/readyz",
					"upstream":     "http://127.0.0.1:8080/healthz",
					"redis":        "ping",
				} {
					hc := composeService(t, p, svc).HealthCheck
					if hc == nil || hc.Disable || !slices.Contains(hc.Test, probe) || hc.Interval == nil || hc.Retries == nil {
						t.Errorf("%s health check %+v, want one probing %s with an interval and retries", svc, hc, probe)
					}
				}
				deps := map[string][]string{"envoy": {"tokencluster", "upstream"}, "tokencluster": {"redis"}}
				for svc, on := range deps {
					for _, dep := range on {
						d, ok := composeService(t, p, svc).DependsOn[dep]
						if !ok || d.Condition != types.ServiceConditionHealthy {
							t.Errorf("%s must wait for %s to be healthy: %+v", svc, dep, d)
						}
					}
				}
			},
		},
		{
			name: "images built from the repository's Dockerfiles",
			check: func(t *testing.T) {
				for svc, dockerfile := range map[string]string{"tokencluster": "tokencluster/Dockerfile", "upstream": "e2e/echo/Dockerfile"} {
					b := composeService(t, p, svc).Build
					if b == nil || b.Context != repoPath(t, ".") || b.Dockerfile != dockerfile {
						t.Errorf("%s build %+v, want context the repository root and dockerfile %s", svc, b, dockerfile)
						continue
					}
					checkDockerfile(t, filepath.Join("..", dockerfile))
					if svc == "tokencluster" {
						b, err := os.ReadFile(filepath.Join("..", dockerfile))
						if err != nil {
							t.Fatal(err)
						}
						if !strings.Contains(string(b), "http://127.0.0.1:9090/readyz") {
							t.Errorf("%s: the HEALTHCHECK must probe /readyz (the store answers)", dockerfile)
						}
					}
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.check)
	}
}

// TestBrokenComposeRefused checks that the compose validation can fail.
func TestBrokenComposeRefused(t *testing.T) {
	orig, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, wantErr string
	}{
		{name: "unknown service key", old: "    healthcheck:\n", new: "    healthchek:\n", wantErr: "healthchek"},
		{name: "dependency on a missing service", old: "      redis:\n        condition", new: "      rediss:\n        condition", wantErr: "rediss"},
		{name: "bad port", old: `"127.0.0.1:${CREDGATE_TOKENCLUSTER_PORT:-9090}:9090"`, new: `"127.0.0.1:9090:90900"`, wantErr: "90900"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(orig), tc.old) {
				t.Fatalf("docker-compose.yml no longer contains %q; update this test", tc.old)
			}
			broken := filepath.Join(t.TempDir(), "docker-compose.yml")
			if err := os.WriteFile(broken, []byte(strings.Replace(string(orig), tc.old, tc.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadCompose(t, broken)
			if err == nil {
				t.Fatal("compose-go accepted the broken file")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

func hasFlag(cmd []string, flag, value string) bool {
	i := slices.Index(cmd, flag)
	return i >= 0 && i+1 < len(cmd) && cmd[i+1] == value
}

// checkMounts wants read-only bind mounts of existing files (the module
// only once `make build` has run) at the given targets.
func checkMounts(t *testing.T, s types.ServiceConfig, want map[string]string) {
	t.Helper()
	for target, source := range want {
		i := slices.IndexFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == target })
		if i < 0 {
			t.Errorf("%s: nothing mounted at %s", s.Name, target)
			continue
		}
		v := s.Volumes[i]
		if v.Type != types.VolumeTypeBind || v.Source != source || !v.ReadOnly {
			t.Errorf("%s: %s is %s %s (read-only %v), want a read-only bind of %s", s.Name, target, v.Type, v.Source, v.ReadOnly, source)
		}
		if _, err := os.Stat(source); err != nil && !strings.HasSuffix(source, ".wasm") {
			t.Errorf("%s: mount source: %v", s.Name, err)
		}
	}
}

// checkPorts wants each port published on the same host port.
func checkPorts(t *testing.T, s types.ServiceConfig, ports ...uint32) {
	t.Helper()
	for _, port := range ports {
		if !slices.ContainsFunc(s.Ports, func(p types.ServicePortConfig) bool {
			return p.Target == port && p.Published == fmt.Sprint(port)
		}) {
			t.Errorf("%s does not publish %d:%d (ports %+v)", s.Name, port, port, s.Ports)
		}
	}
}

// checkDockerfile checks what the images promise: a Go 1.26 build stage, a
// static binary, a distroless or scratch runtime stage running as non-root.
func checkDockerfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	var user string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "FROM":
			from = append(from, f[1])
		case len(f) >= 2 && f[0] == "USER":
			user = f[1]
		}
	}
	if len(from) < 2 || !strings.HasPrefix(from[0], "golang:1.26") {
		t.Errorf("%s: stages %v, want a golang:1.26 build stage first", path, from)
	}
	if last := from[len(from)-1]; last != "scratch" && !strings.HasPrefix(last, "gcr.io/distroless/static") {
		t.Errorf("%s: runtime image %s, want distroless/static or scratch", path, last)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("%s: USER %q, want a non-root user", path, user)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Errorf("%s: the binary must be static (CGO_ENABLED=0)", path)
	}
	if !strings.Contains(string(b), "HEALTHCHECK") {
		t.Errorf("%s: no HEALTHCHECK", path)
	}
	// No credentials baked in: nothing of testdata/ (the demo seed) enters an image.
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "COPY" || f[0] == "ADD") && strings.Contains(line, "testdata") {
			t.Errorf("%s: %q copies test data (demo credentials) into the image", path, strings.TrimSpace(line))
		}
	}
}

// TestComposePortVariables: the published ports follow make run's port
// variables, and keep their defaults without them.
func TestComposePortVariables(t *testing.T) {
	for _, tc := range []struct {
		env        []string
		envoy, tcp uint32
	}{
		{nil, 10000, 9090},
		{[]string{"CREDGATE_GATEWAY_PORT=12000", "CREDGATE_TOKENCLUSTER_PORT=12001"}, 12000, 12001},
	} {
		p, err := loadCompose(t, composePath, tc.env...)
		if err != nil {
			t.Fatal(err)
		}
		for svc, want := range map[string]uint32{"envoy": tc.envoy, "tokencluster": tc.tcp} {
			ports := composeService(t, p, svc).Ports
			if len(ports) == 0 || ports[0].Published != strconv.Itoa(int(want)) {
				t.Errorf("%v: %s publishes %+v, want %d", tc.env, svc, ports, want)
			}
		}
		for _, port := range composeService(t, p, "tokencluster").Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%v: the token cluster's port %d is published on %q, want loopback", tc.env, port.Target, port.HostIP)
			}
		}
	}
}
