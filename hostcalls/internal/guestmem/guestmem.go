// SPDX-License-Identifier: Apache-2.0

// Package guestmem reads and writes a guest's linear memory for the host
// functions. Every helper returns an error on an out-of-bounds access instead
// of panicking, so that a host function can answer InvalidMemoryAccess as
// proxy-wasm-cpp-host does.
package guestmem

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// ErrOutOfBounds is returned when a guest pointer and size do not fit in memory.
var ErrOutOfBounds = errors.New("guest memory access out of bounds")

// Memory wraps the guest's exported memory.
type Memory struct {
	mem api.Memory
}

// New returns helpers for mem. A nil mem makes every access fail.
func New(mem api.Memory) Memory { return Memory{mem: mem} }

func (m Memory) bounds(ptr, size uint32) error {
	if m.mem == nil {
		return fmt.Errorf("%w: module exports no memory", ErrOutOfBounds)
	}
	if uint64(ptr)+uint64(size) > uint64(m.mem.Size()) {
		return fmt.Errorf("%w: [%d, %d) beyond %d bytes", ErrOutOfBounds, ptr, uint64(ptr)+uint64(size), m.mem.Size())
	}
	return nil
}

// Read returns a copy of size bytes at ptr.
func (m Memory) Read(ptr, size uint32) ([]byte, error) {
	if err := m.bounds(ptr, size); err != nil {
		return nil, err
	}
	if size == 0 {
		return []byte{}, nil
	}
	b, ok := m.mem.Read(ptr, size)
	if !ok {
		return nil, ErrOutOfBounds
	}
	return append([]byte(nil), b...), nil
}

// View returns the size bytes at ptr without copying them: the slice is the
// guest's memory, valid only until the guest runs again or its memory grows,
// so a host function uses it at once (a map lookup, a copy).
func (m Memory) View(ptr, size uint32) ([]byte, error) {
	if err := m.bounds(ptr, size); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	b, ok := m.mem.Read(ptr, size)
	if !ok {
		return nil, ErrOutOfBounds
	}
	return b, nil
}

// String returns the size bytes at ptr as a string.
func (m Memory) String(ptr, size uint32) (string, error) {
	b, err := m.Read(ptr, size)
	return string(b), err
}

// ReadUint32 reads a little-endian uint32 at ptr.
func (m Memory) ReadUint32(ptr uint32) (uint32, error) {
	if err := m.bounds(ptr, 4); err != nil {
		return 0, err
	}
	v, ok := m.mem.ReadUint32Le(ptr)
	if !ok {
		return 0, ErrOutOfBounds
	}
	return v, nil
}

// ReadUint64 reads a little-endian uint64 at ptr.
func (m Memory) ReadUint64(ptr uint32) (uint64, error) {
	if err := m.bounds(ptr, 8); err != nil {
		return 0, err
	}
	v, ok := m.mem.ReadUint64Le(ptr)
	if !ok {
		return 0, ErrOutOfBounds
	}
	return v, nil
}

// Write copies b to ptr.
func (m Memory) Write(ptr uint32, b []byte) error {
	if err := m.bounds(ptr, uint32(len(b))); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if !m.mem.Write(ptr, b) {
		return ErrOutOfBounds
	}
	return nil
}

// WriteUint32 writes v little-endian at ptr.
func (m Memory) WriteUint32(ptr, v uint32) error {
	if err := m.bounds(ptr, 4); err != nil {
		return err
	}
	if !m.mem.WriteUint32Le(ptr, v) {
		return ErrOutOfBounds
	}
	return nil
}

// WriteUint64 writes v little-endian at ptr.
func (m Memory) WriteUint64(ptr uint32, v uint64) error {
	if err := m.bounds(ptr, 8); err != nil {
		return err
	}
	if !m.mem.WriteUint64Le(ptr, v) {
		return ErrOutOfBounds
	}
	return nil
}

// Allocator asks the guest for size bytes (proxy_on_memory_allocate) and
// returns the address. It re-enters the guest.
type Allocator func(ctx context.Context, size uint32) (uint32, error)

// ErrAllocFailed is returned when the guest's allocator returns 0.
var ErrAllocFailed = errors.New("guest allocator returned a null pointer")

// CopyOut hands data to the guest as proxy-wasm-cpp-host's
// WasmBase::copyToPointerSize does: allocate in the guest (re-entering it),
// copy the data, then write the address and the size into the out-parameter
// locations. Empty data is not allocated: the address written is 0.
// It returns the address written.
func (m Memory) CopyOut(ctx context.Context, alloc Allocator, data []byte, ptrPtr, sizePtr uint32) (uint32, error) {
	var addr uint32
	if len(data) > 0 {
		a, err := alloc(ctx, uint32(len(data)))
		if err != nil {
			return 0, err
		}
		if a == 0 {
			return 0, ErrAllocFailed
		}
		if err := m.Write(a, data); err != nil {
			return 0, err
		}
		addr = a
	}
	if err := m.WriteUint32(ptrPtr, addr); err != nil {
		return 0, err
	}
	if err := m.WriteUint32(sizePtr, uint32(len(data))); err != nil {
		return 0, err
	}
	return addr, nil
}
