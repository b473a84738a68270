// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"fmt"
	"testing"
)

func TestLogsAreBounded(t *testing.T) {
	h := &Host{}
	for i := 0; i < 3*MaxLogs; i++ {
		h.log(0, LogLevel(2), fmt.Sprintf("line %d", i))
	}
	logs := h.Logs()
	if len(logs) > MaxLogs {
		t.Fatalf("kept %d lines, more than %d", len(logs), MaxLogs)
	}
	if last := logs[len(logs)-1].Message; last != fmt.Sprintf("line %d", 3*MaxLogs-1) {
		t.Fatalf("newest line lost: %q", last)
	}
	if h.DroppedLogs()+len(logs) != 3*MaxLogs {
		t.Fatalf("dropped %d + kept %d != %d", h.DroppedLogs(), len(logs), 3*MaxLogs)
	}
}
