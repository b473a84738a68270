// SPDX-License-Identifier: Apache-2.0

// Package testproc builds and runs the repository's server programs for
// tests: built once per test binary, started on a free loopback port, found
// through the JSON log line that announces the address, and stopped
// (SIGTERM, then kill) when the test ends.
package testproc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credgate/credgate/internal/modroot"
)

var builds struct {
	mu   sync.Mutex
	bins map[string]string
}

// Build compiles the main package pkg (a path relative to the module root,
// for example "./tokencluster") once per test binary and returns the binary.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if bin, ok := builds.bins[pkg]; ok {
		return bin
	}
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "credgate-testproc-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	if builds.bins == nil {
		builds.bins = map[string]string{}
	}
	builds.bins[pkg] = bin
	return bin
}

// Proc is a running server.
type Proc struct {
	// Addr is the address the server announced.
	Addr string
	cmd  *exec.Cmd
	logs *Buffer
	done chan struct{}
	once sync.Once
}

// Start runs bin with args and waits up to 20 s for a JSON log line (on
// stderr) whose "msg" is msg and which carries "addr". The server is stopped
// when the test ends.
func Start(t testing.TB, msg, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{cmd: exec.Command(bin, args...), logs: &Buffer{}, done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			p.logs.WriteString(sc.Text() + "\n")
			var rec struct{ Msg, Addr string }
			if !sent && json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == msg && rec.Addr != "" {
				addr <- rec.Addr
				sent = true
			}
		}
		_ = p.cmd.Wait()
	}()
	select {
	case p.Addr = <-addr:
		return p
	case <-p.done:
		t.Fatalf("%s exited:\n%s", bin, p.Logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not log %q within 20s:\n%s", bin, msg, p.Logs())
	}
	return nil
}

// Stop ends the server gracefully (SIGTERM), killing it after 10 s. It is
// safe to call more than once.
func (p *Proc) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Pid returns the server's process id (to read its CPU time in /proc).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Logs returns what the server logged so far.
func (p *Proc) Logs() string { return p.logs.String() }

// String describes the process for messages.
func (p *Proc) String() string { return fmt.Sprintf("%s at %s", filepath.Base(p.cmd.Path), p.Addr) }

// Buffer is an io.Writer safe for concurrent use, for capturing a server's
// log in a test.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// WriteString appends v.
func (s *Buffer) WriteString(v string) { _, _ = s.Write([]byte(v)) }

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
