// SPDX-License-Identifier: Apache-2.0

package state

import "sync"

// QueueOwner identifies who registered a queue: the notification of
// proxy_on_queue_ready goes to that VM's root context.
type QueueOwner struct {
	VM      int
	Context uint32
}

type queue struct {
	vmID  string
	name  string
	owner QueueOwner
	items [][]byte
}

// Queues are the shared queues of proxy_register_shared_queue and friends, as
// proxy-wasm-cpp-host src/shared_queue.cc implements them: a queue is named by
// (vm_id, name); tokens are unique across the host.
type Queues struct {
	mu     sync.Mutex
	next   uint32
	byName map[[2]string]uint32
	byTok  map[uint32]*queue
}

// NewQueues returns an empty set of queues.
func NewQueues() *Queues {
	return &Queues{next: 1, byName: map[[2]string]uint32{}, byTok: map[uint32]*queue{}}
}

// Register creates the queue (vmID, name) or returns its token. Registering
// again moves the notifications to the new owner, as cpp-host does.
func (q *Queues) Register(vmID, name string, owner QueueOwner) uint32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := [2]string{vmID, name}
	if tok, ok := q.byName[key]; ok {
		q.byTok[tok].owner = owner
		return tok
	}
	tok := q.next
	q.next++
	q.byName[key] = tok
	q.byTok[tok] = &queue{vmID: vmID, name: name, owner: owner}
	return tok
}

// Resolve returns the token of (vmID, name) or NotFound.
func (q *Queues) Resolve(vmID, name string) (uint32, Status) {
	q.mu.Lock()
	defer q.mu.Unlock()
	tok, ok := q.byName[[2]string{vmID, name}]
	if !ok {
		return 0, NotFound
	}
	return tok, OK
}

// Enqueue appends data and returns who must be told the queue is ready.
func (q *Queues) Enqueue(tok uint32, data []byte) (QueueOwner, Status) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qu, ok := q.byTok[tok]
	if !ok {
		return QueueOwner{}, NotFound
	}
	qu.items = append(qu.items, append([]byte(nil), data...))
	return qu.owner, OK
}

// Dequeue pops the oldest item: NotFound for an unknown token, Empty when the
// queue holds nothing.
func (q *Queues) Dequeue(tok uint32) ([]byte, Status) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qu, ok := q.byTok[tok]
	if !ok {
		return nil, NotFound
	}
	if len(qu.items) == 0 {
		return nil, Empty
	}
	item := qu.items[0]
	qu.items[0] = nil
	qu.items = qu.items[1:]
	return item, OK
}
