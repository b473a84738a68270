// SPDX-License-Identifier: Apache-2.0

// Package redisserver starts private Redis deployments for tests and
// benchmarks: a single node, a Redis Cluster with replicas, or a master and a
// replica watched by three sentinels. Every process listens on 127.0.0.1 on a
// free port, keeps no RDB or AOF file, and is stopped when the test ends.
//
// Without redis-server (and redis-cli, for a cluster) the test is skipped with
// a banner on stderr, unless the CI environment variable is set: there it
// fails, so a CI machine that lost Redis cannot pass by skipping.
package redisserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Start launches a single redis-server and returns its URL (redis://127.0.0.1:PORT/0).
func Start(tb testing.TB) string {
	tb.Helper()
	n := StartNode(tb, "")
	return "redis://" + n.Addr + "/0"
}

// Binary returns the path of a Redis binary (redis-server, redis-cli), or
// skips the test loudly, or fails it in CI.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is required in CI (.ci/run installs it): %v", name, err)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIPPED %s: %s not found on PATH. The Redis store tests (single node, Redis Cluster,\n"+
		"*** Sentinel, failover) did not run. Install redis-server (Debian: apt-get install redis-server) to run them.\n\n", tb.Name(), name)
	tb.Skipf("%s not installed: %v", name, err)
	return ""
}

// Node is one redis-server process.
type Node struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	Port int
	bin  string
	args []string
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *strings.Builder
}

// StartNode starts redis-server with extra configuration lines (redis.conf
// syntax, one directive a line) and stops it when the test ends. With
// "--sentinel" as extra's first line the node runs as a sentinel.
func StartNode(tb testing.TB, extra string) *Node {
	tb.Helper()
	bin := Binary(tb, "redis-server")
	port, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	sentinel := strings.HasPrefix(extra, "--sentinel\n")
	extra = strings.TrimPrefix(extra, "--sentinel\n")
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n", port, dir)
	if !sentinel {
		// A replica that (re)joins gets its copy at once instead of after the
		// default 5 s wait for other replicas.
		conf += "save \"\"\nappendonly no\nrepl-diskless-sync-delay 0\n"
	}
	conf += extra
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	n := &Node{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, bin: bin, args: []string{path}, dir: dir}
	if sentinel {
		n.args = append(n.args, "--sentinel")
	}
	if err := n.start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Kill)
	return n
}

func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd := exec.Command(n.bin, n.args...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = &lockedWriter{b: out}, &lockedWriter{b: out}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.cmd, n.done, n.out = cmd, done, out
	if err := waitReady(n.Addr, done, 10*time.Second); err != nil {
		return fmt.Errorf("redis-server on %s not ready: %w\n%s", n.Addr, err, out.String())
	}
	return nil
}

// Kill stops the process at once (SIGKILL), as a crash would.
func (n *Node) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
}

// Running reports whether the process runs (it was not killed).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// Pause stops the process without killing it (SIGSTOP): it keeps its
// connections but answers nothing, like a node stuck on a slow disk.
func (n *Node) Pause() { n.signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (n *Node) Resume() { n.signal(syscall.SIGCONT) }

func (n *Node) signal(sig syscall.Signal) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		_ = n.cmd.Process.Signal(sig)
	}
}

// Restart starts a killed node again on the same port with the same
// configuration and directory (a cluster node keeps its nodes.conf, so it
// rejoins its cluster). It may be called from any goroutine; the test's
// cleanup stops the new process too.
func (n *Node) Restart() error {
	n.Kill()
	return n.start()
}

// Logs returns what the process printed so far.
func (n *Node) Logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.out == nil {
		return ""
	}
	return n.out.String()
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls with PING until PONG, the process exits, or the deadline passes.
func waitReady(addr string, exited <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if err := ping(addr); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") { // a server with requirepass answers too
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// eventually polls cond every 50 ms until it returns nil or within passes.
func eventually(ctx context.Context, within time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", within, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
