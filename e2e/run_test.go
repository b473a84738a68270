// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunScript runs scripts/run.sh (what `make run` does without Docker) on
// free ports, then pastes every curl block it prints into bash, as a new
// user would, and requires each to work as printed; Ctrl-C then stops it.
func TestRunScript(t *testing.T) {
	if os.Getenv("CREDGATE_E2E_TARGET") != "" {
		t.Skip("external mode runs the case table only")
	}
	for _, tool := range []string{"bash", "curl", "openssl", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the printed commands need it", tool)
		}
	}
	root := moduleRoot(t)
	if _, err := os.Stat(filepath.Join(root, "build", "credgate.wasm")); err != nil {
		t.Fatalf("%v: run `make build` first", err)
	}
	ports := freePorts(t, 4)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), append(runEnv(ports), "CREDGATE_HEARTBEAT=1")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // the pipe: failures show in the test log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	printed := readUntilReady(t, out, exited, cmd)
	defer stopScript(t, cmd, exited, ports[0])
	checkHeartbeats(t, printed)
	blocks := curlBlocks(printed)
	schemes := map[string]bool{}
	for _, b := range blocks {
		schemes[b.scheme] = true
		t.Run(b.title, func(t *testing.T) { runBlock(t, b) })
	}
	for _, s := range []string{"oauth2_bearer", "user_api_key", "hmac", "session_token", "sso", "public_key",
		"public_key_token", "jwt", "api_key", "domain_key", "refused", "forbidden"} {
		if !schemes[s] {
			t.Errorf("no printed curl for %s:\n%s", s, printed)
		}
	}
	checkCurlFlags(t, blocks)
	// A token that cannot be obtained stops the block, visibly.
	for _, b := range blocks {
		if strings.HasPrefix(b.title, "oauth2_bearer: Zakeke C2S") {
			bad := b
			bad.script = strings.Replace(b.script, "demo-client-secret", "not-the-secret", 1)
			out, err := exec.Command("bash", "-c", bad.script).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "no token") || !strings.Contains(string(out), "error: 401") {
				t.Errorf("a block without its token: %v\n%s", err, out)
			}
		}
	}
	// The requests above are in the admin interface's stats, with labels.
	stats, err := http.Get("http://127.0.0.1:" + ports[3] + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	prom, _ := io.ReadAll(stats.Body)
	stats.Body.Close()
	for _, series := range []string{
		`credgate_requests{route="zakeke-designs",scheme="oauth2_bearer",outcome="allow"}`,
		`credgate_requests{route="supplier",scheme="api_key",outcome="allow"} 1`,
		`credgate_denials{route="zakeke-designs",reason="credentials_missing"}`,
	} {
		if !strings.Contains(string(prom), series) {
			t.Errorf("the admin interface's /stats/prometheus lacks %s:\n%s", series, prom)
		}
	}
	// The verification API of the demo is no key oracle: without the run's
	// credential it answers 401, even for an HMAC key.
	resp, err := http.Post("http://127.0.0.1:"+ports[1]+"/v1/verify", "application/json",
		strings.NewReader(`{"kind":"hmac_key","user_id":"user-42"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "demo-user-hmac-key") {
		t.Errorf("the demo's verification API answered %d without a credential: %s", resp.StatusCode, body)
	}
}

var stepDone = regexp.MustCompile(`^run: (.+): done in ([0-9]+)s$`)

// checkHeartbeats: with CREDGATE_HEARTBEAT=1, a step that took 2 s or more
// printed a "still" line while it ran; every step says when it starts.
func checkHeartbeats(t *testing.T, printed string) {
	t.Helper()
	steps := 0
	for _, line := range strings.Split(printed, "\n") {
		m := stepDone.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		steps++
		if !strings.Contains(printed, "run: "+m[1]+" ...\n") {
			t.Errorf("step %q did not say it started:\n%s", m[1], printed)
		}
		if n, _ := strconv.Atoi(m[2]); n >= 2 && !strings.Contains(printed, "run:   ... still "+m[1]+" (") {
			t.Errorf("step %q ran %ss without a heartbeat:\n%s", m[1], m[2], printed)
		}
	}
	if steps < 3 {
		t.Errorf("want at least 3 reported steps (build the module, the binaries, wait for readiness):\n%s", printed)
	}
}

// runEnv runs the script in embedded mode on the given gateway, token
// cluster, echo and admin ports.
func runEnv(ports []string) []string {
	return []string{"CREDGATE_RUN_MODE=embedded", "CREDGATE_GATEWAY_PORT=" + ports[0],
		"CREDGATE_TOKENCLUSTER_PORT=" + ports[1], "CREDGATE_ECHO_PORT=" + ports[2], "CREDGATE_ADMIN_PORT=" + ports[3]}
}

// checkCurlFlags requires every printed curl to fail visibly (-f) and
// quietly but with errors shown (-sS); the refused example shows its 401
// with -i instead of failing.
func checkCurlFlags(t *testing.T, blocks []curlBlock) {
	t.Helper()
	for _, b := range blocks {
		for _, line := range strings.Split(b.script, "\n") {
			for _, call := range strings.Split(line, "curl ")[1:] {
				want := "-fsS "
				if b.scheme == "refused" || b.scheme == "forbidden" {
					want = "-sS -i " // deliberate refusals: the status is the point
				}
				if !strings.HasPrefix(call, want) {
					t.Errorf("%s: curl without %s: %s", b.title, strings.TrimSpace(want), line)
				}
			}
		}
	}
}

func freePorts(t *testing.T, n int) []string {
	var ports []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

// readUntilReady collects the script's output until it says it is ready.
func readUntilReady(t *testing.T, out interface{ Read([]byte) (int, error) }, exited chan<- error, cmd *exec.Cmd) string {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	var b strings.Builder
	deadline := time.After(90 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("run.sh ended before it was ready:\n%s", b.String())
			}
			b.WriteString(line + "\n")
			if line == "Ctrl-C to stop." {
				go func() { // keep draining
					for range lines {
					}
				}()
				return b.String()
			}
		case <-deadline:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("run.sh not ready within 90s:\n%s", b.String())
		}
	}
}

// stopScript sends Ctrl-C's SIGINT and requires a clean exit that frees
// the gateway's port.
func stopScript(t *testing.T, cmd *exec.Cmd, exited <-chan error, gwPort string) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("run.sh after Ctrl-C: %v", err)
		}
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatal("run.sh did not stop within 20s of Ctrl-C")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+gwPort, time.Second); err == nil {
		_ = c.Close()
		t.Error("the gateway still listens after Ctrl-C")
	}
}

type curlBlock struct {
	title, scheme, script string
}

// curlBlocks splits the printed list into "# scheme: what" blocks.
func curlBlocks(printed string) []curlBlock {
	var blocks []curlBlock
	var cur *curlBlock
	for _, line := range strings.Split(printed, "\n") {
		switch {
		case strings.HasPrefix(line, "# "):
			title := strings.TrimPrefix(line, "# ")
			scheme, _, _ := strings.Cut(title, ":")
			blocks = append(blocks, curlBlock{title: title, scheme: scheme})
			cur = &blocks[len(blocks)-1]
		case strings.TrimSpace(line) == "":
			cur = nil
		case cur != nil:
			cur.script += line + "\n"
		}
	}
	return blocks
}

// runBlock pastes one block into bash; the last call must reach the echo
// upstream with the scheme's identity (or, for "refused", get a 401; for
// "forbidden", a 403).
func runBlock(t *testing.T, b curlBlock) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "-c", b.script).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, b.script, out)
	}
	want := `"x-credgate-scheme":"` + b.scheme + `"`
	switch b.scheme {
	case "refused":
		want = "401 Unauthorized"
	case "forbidden":
		want = "403 Forbidden"
	}
	if !strings.Contains(string(out), want) {
		t.Fatalf("output lacks %s:\n%s\n%s", want, b.script, out)
	}
}

// TestRunScriptPortInUse occupies the gateway's port: run.sh must fail at
// once, naming the port, its variable and the holder, before it builds or
// starts anything.
func TestRunScriptPortInUse(t *testing.T) {
	root := moduleRoot(t)
	ports := freePorts(t, 4)
	ln, err := net.Listen("tcp", "127.0.0.1:"+ports[0])
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), runEnv(ports)...)
	out, err := runWithin(t, cmd, 30*time.Second)
	if err == nil {
		t.Fatalf("run.sh succeeded with its port taken:\n%s", out)
	}
	for _, want := range []string{"port " + ports[0] + " (gateway, CREDGATE_GATEWAY_PORT) is already in use",
		"nothing was started"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := exec.LookPath("ss"); err == nil && !strings.Contains(out, "pid="+strconv.Itoa(os.Getpid())) {
		t.Errorf("output does not name the holder (this test, pid %d):\n%s", os.Getpid(), out)
	}
	if strings.Contains(out, "building") || strings.Contains(out, "starting") {
		t.Errorf("run.sh built or started something before failing:\n%s", out)
	}
	for _, p := range ports[1:] {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("port %s listens after the refusal", p)
		}
	}
}

// TestRunScriptDockerNeedsComposeV2 gives run.sh a docker whose engine
// answers but that has no compose plugin: docker mode fails, saying why,
// before printing anything else.
func TestRunScriptDockerNeedsComposeV2(t *testing.T) {
	root := moduleRoot(t)
	bin := t.TempDir()
	fake := "#!/bin/sh\ncase \"$1\" in info) exit 0;; esac\necho \"docker: unknown command: docker $1\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "CREDGATE_RUN_MODE=docker")
	out, err := runWithin(t, cmd, 30*time.Second)
	if err == nil || !strings.Contains(out, "needs Compose v2 ('docker compose version' failed") {
		t.Fatalf("docker mode without Compose v2: %v\n%s", err, out)
	}
	if strings.Contains(out, "curl") || strings.Contains(out, "building") {
		t.Errorf("run.sh went on without Compose v2:\n%s", out)
	}
}

func runWithin(t *testing.T, cmd *exec.Cmd, d time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Dir, c.Env = cmd.Dir, cmd.Env
	out, err := c.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("run.sh did not finish within %v:\n%s", d, out)
	}
	return string(out), err
}

// TestRunScriptShellcheck lints scripts/run.sh when shellcheck is installed
// (apt-get install shellcheck).
func TestRunScriptShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("SKIPPED: shellcheck is not installed (apt-get install shellcheck); scripts/run.sh was not linted")
	}
	out, err := exec.Command("shellcheck", filepath.Join(moduleRoot(t), "scripts", "run.sh")).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck scripts/run.sh: %v\n%s", err, out)
	}
}

// TestRunScriptKeepsData runs run.sh twice with CREDGATE_DATA_DIR: a token
// issued in the first run still verifies in the second.
func TestRunScriptKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo twice")
	}
	root := moduleRoot(t)
	dir := filepath.Join(t.TempDir(), "data")
	start := func() (string, func(), []string) {
		ports := freePorts(t, 4)
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), append(runEnv(ports), "CREDGATE_DATA_DIR="+dir)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		printed := readUntilReady(t, out, exited, cmd)
		return printed, func() { stopScript(t, cmd, exited, ports[0]) }, ports
	}
	printed, stop, ports := start()
	if !strings.Contains(printed, "seeded now, kept between runs") {
		t.Errorf("first run:\n%s", printed)
	}
	req, _ := http.NewRequest("POST", "http://127.0.0.1:"+ports[0]+"/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo-client", "demo-client-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	stop()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("no token from the first run: %v", err)
	}

	printed, stop, ports = start()
	defer stop()
	if !strings.Contains(printed, "not seeded again") {
		t.Errorf("second run:\n%s", printed)
	}
	req, _ = http.NewRequest("GET", "http://127.0.0.1:"+ports[0]+"/v1/designs/7", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the first run's token in the second run: %d %s", resp.StatusCode, body)
	}
}

// TestRunScriptDockerMode gives run.sh a docker with Compose v2 whose stack
// never answers: run.sh hands compose its port variables, does not claim to
// be ready (no curls printed), fails within CREDGATE_READY_TIMEOUT and
// takes the stack down.
func TestRunScriptDockerMode(t *testing.T) {
	root := moduleRoot(t)
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	fake := "#!/bin/sh\necho \"$* gw=$CREDGATE_GATEWAY_PORT tc=$CREDGATE_TOKENCLUSTER_PORT\" >>" + calls + "\n" +
		"case \"$1 $2\" in \"compose version\") echo 'Docker Compose version v2.30.3';; esac\nexit 0\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 2)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "CREDGATE_RUN_MODE=docker",
		"CREDGATE_GATEWAY_PORT="+ports[0], "CREDGATE_TOKENCLUSTER_PORT="+ports[1], "CREDGATE_READY_TIMEOUT=1")
	out, err := runWithin(t, cmd, 120*time.Second)
	if err == nil || !strings.Contains(out, "Envoy did not answer on :"+ports[0]) {
		t.Fatalf("docker mode with a stack that never answers: %v\n%s", err, out)
	}
	if strings.Contains(out, "curl -fsS") || strings.Contains(out, "Ctrl-C to stop") {
		t.Errorf("run.sh printed the curls of a stack that is not ready:\n%s", out)
	}
	b, _ := os.ReadFile(calls)
	got := string(b)
	ports2 := " gw=" + ports[0] + " tc=" + ports[1]
	for _, want := range []string{"compose version", "compose -f e2e/docker-compose.yml up -d --build --wait" + ports2,
		"compose -f e2e/docker-compose.yml down --remove-orphans"} {
		if !strings.Contains(got, want) {
			t.Errorf("docker was not called with %q; calls:\n%s", want, got)
		}
	}
}
