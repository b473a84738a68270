// SPDX-License-Identifier: Apache-2.0

// Package modroot finds the root of the module a test runs in, so tests and
// benchmarks can reach repository files (BENCHMARKS.md, seed files, the
// build folder) from any package directory.
package modroot

import (
	"errors"
	"os"
	"path/filepath"
)

// Find returns the nearest directory at or above the working directory that
// holds a go.mod file.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
