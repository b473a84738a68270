// SPDX-License-Identifier: Apache-2.0

package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Durability. Redis replicates asynchronously: a master acknowledges a write
// before any replica has it, and a failover that promotes a replica loses what
// the replica had not received. For the writes a security reviewer cares
// about (a revocation, an issued credential, a record change, a single-use
// token consumed) the store sends the write and then WAIT numreplicas timeout
// on the same connection of the master that owns the key, and reports success
// only when enough replicas acknowledged it. A failover then promotes a
// replica that has the write (Sentinel and Redis Cluster both promote the
// most up-to-date replica), so nothing the token cluster acknowledged is lost,
// as long as no more than WaitReplicas-1 of those replicas are lost too.
//
// WAIT is not sent through the cluster client's command routing: without a
// key it would go to a random (or every) node and count replicas of writes
// made on other connections. durable pins the write and the WAIT to one
// connection of the key's master instead.

// durable runs the commands queued by queue on the master that owns key, in
// one pipeline on one connection, followed by WAIT when the store waits for
// replicas. It returns an error when the master cannot be reached or too few
// replicas acknowledged; each queued command reports its own result.
// queue is called again on a retry (a slot that moved, a master that
// changed, a script the node did not know: load is then true and scripts are
// sent in full). Retries happen only for answers that mean "not executed".
func (s *Store) durable(ctx context.Context, key string, queue func(p goredis.Pipeliner, load bool)) error {
	load := false
	var err error
	for attempt := range 6 {
		if attempt > 0 {
			if cc, ok := s.rdb.(*goredis.ClusterClient); ok {
				cc.ReloadState(ctx)
			}
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(time.Duration(attempt*attempt) * 50 * time.Millisecond):
			}
		}
		var c *goredis.Client
		c, err = s.master(ctx, key)
		if err != nil {
			if retryable(err) {
				continue
			}
			return err
		}
		pipe := c.Pipeline()
		queue(pipe, load)
		var wait *goredis.Cmd
		if s.waitReplicas > 0 {
			wait = pipe.Do(ctx, "WAIT", s.waitReplicas, s.waitTimeout.Milliseconds())
		}
		cmds, _ := pipe.Exec(ctx)
		again := false
		for _, cmd := range cmds {
			switch e := cmd.Err(); {
			case e == nil || errors.Is(e, goredis.Nil):
			case strings.HasPrefix(e.Error(), "NOSCRIPT"):
				load, again = true, true
			case retryable(e):
				err, again = e, true
			}
		}
		if again {
			continue
		}
		if wait == nil {
			return nil
		}
		n, err := wait.Int64()
		if err != nil {
			return err
		}
		if n < int64(s.waitReplicas) {
			return fmt.Errorf("%w: %d of %d within %s", ErrNotReplicated, n, s.waitReplicas, s.waitTimeout)
		}
		return nil
	}
	if err == nil {
		err = errors.New("redis: write not executed after retries")
	}
	return err
}

// master returns the client of the master that owns key.
func (s *Store) master(ctx context.Context, key string) (*goredis.Client, error) {
	switch c := s.rdb.(type) {
	case *goredis.ClusterClient:
		return c.MasterForKey(ctx, key)
	case *goredis.Client: // a single node, or the Sentinel-managed master
		return c, nil
	default:
		return nil, fmt.Errorf("redis: unsupported client %T", s.rdb)
	}
}

// script queues sc: by digest (EVALSHA), or in full after a NOSCRIPT answer.
func (s *Store) script(ctx context.Context, p goredis.Pipeliner, load bool, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	if load {
		return sc.Eval(ctx, p, keys, args...)
	}
	return sc.EvalSha(ctx, p, keys, args...)
}

// retryable reports answers after which the command was certainly not
// executed: redirections and cluster or replica states of a failover, and
// connections that could not be opened.
func retryable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "LOADING", "MASTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
