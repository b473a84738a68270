// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	ports := freePorts(t, 3)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CREDGATE_RUN_MODE=embedded", "CREDGATE_GATEWAY_PORT="+ports[0],
		"CREDGATE_TOKENCLUSTER_PORT="+ports[1], "CREDGATE_ECHO_PORT="+ports[2])
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
