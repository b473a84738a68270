// SPDX-License-Identifier: Apache-2.0

package guestmem_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/credgate/credgate/hostcalls/internal/guestmem"
)

// onePage is a module exporting one 64 KiB page of memory as "mem".
var onePage = []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
	5, 3, 1, 0, 1, // memory section: one memory, min 1 page
	7, 7, 1, 3, 'm', 'e', 'm', 2, 0} // export section: "mem" = memory 0

func memory(t *testing.T) guestmem.Memory {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { _ = r.Close(ctx) })
	mod, err := r.Instantiate(ctx, onePage)
	if err != nil {
		t.Fatal(err)
	}
	return guestmem.New(mod.Memory())
}

const size = 65536

func TestBounds(t *testing.T) {
	t.Parallel()
	m := memory(t)
	tests := []struct {
		name string
		op   func() error
		ok   bool
	}{
		{name: "read inside", op: func() error { _, err := m.Read(size-4, 4); return err }, ok: true},
		{name: "read empty at end", op: func() error { _, err := m.Read(size, 0); return err }, ok: true},
		{name: "read past end", op: func() error { _, err := m.Read(size-3, 4); return err }},
		{name: "read wrapping size", op: func() error { _, err := m.Read(1, 0xFFFFFFFF); return err }},
		{name: "read uint32 past end", op: func() error { _, err := m.ReadUint32(size - 2); return err }},
		{name: "read uint64 past end", op: func() error { _, err := m.ReadUint64(size - 4); return err }},
		{name: "write past end", op: func() error { return m.Write(size-1, []byte{1, 2}) }},
		{name: "write uint32 past end", op: func() error { return m.WriteUint32(size-3, 1) }},
		{name: "write uint64 past end", op: func() error { return m.WriteUint64(size-7, 1) }},
		{name: "write uint64 inside", op: func() error { return m.WriteUint64(size-8, 1) }, ok: true},
		{name: "string past end", op: func() error { _, err := m.String(0xFFFFFFF0, 32); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, guestmem.ErrOutOfBounds) {
				t.Fatalf("err = %v, want ErrOutOfBounds", err)
			}
		})
	}
}

func TestNoMemory(t *testing.T) {
	t.Parallel()
	var m guestmem.Memory
	if _, err := m.Read(0, 1); !errors.Is(err, guestmem.ErrOutOfBounds) {
		t.Fatalf("err = %v", err)
	}
}

func TestReadCopies(t *testing.T) {
	t.Parallel()
	m := memory(t)
	if err := m.Write(100, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	b, _ := m.Read(100, 3)
	_ = m.Write(100, []byte("xyz"))
	if string(b) != "abc" {
		t.Fatalf("Read aliases guest memory: %q", b)
	}
}

// CopyOut allocates (re-entering the guest), copies, then writes the
// out-parameters, in that order.
func TestCopyOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		data     string
		alloc    guestmem.Allocator
		ptrPtr   uint32
		wantErr  error
		wantAddr uint32
	}{
		{name: "ok", data: "hello", alloc: fixed(1000), ptrPtr: 8, wantAddr: 1000},
		{name: "empty data is not allocated", data: "", alloc: failing, ptrPtr: 8, wantAddr: 0},
		{name: "null from allocator", data: "x", alloc: fixed(0), ptrPtr: 8, wantErr: guestmem.ErrAllocFailed},
		{name: "allocation past the end", data: "hello", alloc: fixed(size - 2), ptrPtr: 8, wantErr: guestmem.ErrOutOfBounds},
		{name: "out-parameter past the end", data: "x", alloc: fixed(1000), ptrPtr: size, wantErr: guestmem.ErrOutOfBounds},
		{name: "allocator error", data: "x", alloc: failing, ptrPtr: 8, wantErr: errAlloc},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := memory(t)
			_ = m.WriteUint32(8, 0xdead)
			addr, err := m.CopyOut(ctx, tc.alloc, []byte(tc.data), tc.ptrPtr, 12)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			p, _ := m.ReadUint32(8)
			n, _ := m.ReadUint32(12)
			got, _ := m.Read(p, n)
			if addr != tc.wantAddr || p != tc.wantAddr || string(got) != tc.data {
				t.Fatalf("addr %d, out %d/%d %q", addr, p, n, got)
			}
		})
	}
}

var errAlloc = errors.New("guest trapped")

func fixed(addr uint32) guestmem.Allocator {
	return func(context.Context, uint32) (uint32, error) { return addr, nil }
}

func failing(context.Context, uint32) (uint32, error) { return 0, errAlloc }
