// SPDX-License-Identifier: Apache-2.0

// Command mutants runs the listed mutants of the security core: each is one
// exact source change that must make the named packages' tests fail. It
// copies the repository once, applies each mutant in the copy, runs the
// tests, and restores the file; it exits 1 when a mutant survives or no
// longer applies. Run it with `make mutants`.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type mutant struct {
	Name string   `json:"name"`
	File string   `json:"file"`
	Old  string   `json:"old"`
	New  string   `json:"new"`
	Pkgs []string `json:"pkgs"`
}

func main() { os.Exit(run()) }

// run returns the exit code, once its worktree is removed.
func run() int {
	list := filepath.Join("scripts", "mutants", "mutants.jsonl")
	ms, err := load(list)
	if err != nil {
		fail(err)
	}
	tmp, err := os.MkdirTemp("", "credgate-mutants-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.Command("git", "worktree", "add", "--detach", tmp, "HEAD").CombinedOutput(); err != nil {
		fail(fmt.Errorf("git worktree: %v\n%s", err, out))
	}
	defer func() {
		_ = exec.Command("git", "worktree", "remove", "--force", tmp).Run()
		_ = exec.Command("git", "worktree", "prune").Run()
	}()
	// The working tree's uncommitted sources count too.
	if out, err := exec.Command("bash", "-c", "git diff HEAD | git -C "+tmp+" apply --allow-empty").CombinedOutput(); err != nil {
		return complain(fmt.Errorf("copying uncommitted changes: %v\n%s", err, out))
	}
	survived, broken := 0, 0
	start := time.Now()
	for i, m := range ms {
		path := filepath.Join(tmp, m.File)
		orig, err := os.ReadFile(path)
		if err != nil {
			return complain(err)
		}
		if n := bytes.Count(orig, []byte(m.Old)); n != 1 {
			fmt.Printf("mutants: %2d/%d BROKEN   %s: the change matches %d times in %s\n", i+1, len(ms), m.Name, n, m.File)
			broken++
			continue
		}
		if err := os.WriteFile(path, bytes.Replace(orig, []byte(m.Old), []byte(m.New), 1), 0o644); err != nil {
			return complain(err)
		}
		cmd := exec.Command("go", append([]string{"test", "-count=1", "-short"}, m.Pkgs...)...)
		cmd.Dir = tmp
		out, err := cmd.CombinedOutput()
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			return complain(err)
		}
		verdict := "killed"
		if err == nil {
			verdict = "SURVIVED"
			survived++
		} else if bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")) {
			verdict = "BROKEN (does not compile)"
			broken++
		}
		fmt.Printf("mutants: %2d/%d %-8s %s (%s)\n", i+1, len(ms), verdict, m.Name, m.File)
	}
	killed := len(ms) - survived - broken
	fmt.Printf("mutants: %d killed, %d survived, %d broken of %d in %v\n", killed, survived, broken, len(ms), time.Since(start).Round(time.Second))
	if survived > 0 || broken > 0 {
		return 1
	}
	return 0
}

func load(path string) ([]mutant, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mutant
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var m mutant
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

func fail(err error) {
	os.Exit(complain(err))
}

// complain reports err and returns the exit code of a run that could not
// be made.
func complain(err error) int {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	return 2
}
