// SPDX-License-Identifier: Apache-2.0

// Package feedsim simulates many plugin VMs following a token cluster's
// revocation feed over loopback HTTP, each doing what the plugin's poller
// (plugin/internal/filter/revoke.go) does: a tick every poll period; on a
// tick with no call in flight, GET /v1/revocations (first without since, to
// learn the head; then since=<next>, with wait=<seconds> when long-polls
// are on) with the plugin's call timeout (timeout_ms, plus the wait and 5 s); a
// behind answer restarts from next. It records, per VM, when its cursor
// moved, so that revocation latency can be computed afterwards.
package feedsim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// Config is one simulation.
type Config struct {
	// BaseURL is the token cluster, e.g. http://127.0.0.1:9090.
	BaseURL string
	// VerifyToken is sent as the bearer token.
	VerifyToken string
	// VMs is the number of simulated VMs.
	VMs int
	// Poll is the tick period (the plugin's revocation_poll_ms, 500 ms).
	Poll time.Duration
	// Timeout is the call timeout (the plugin's timeout_ms, 1 s).
	Timeout time.Duration
	// Wait is the long-poll wait (revocation_wait_seconds); 0: short polls.
	Wait time.Duration
	// Ramp spreads the VMs' starts, as a fleet of proxies starts over time
	// rather than 10,000 workers connecting in the same instant (which only
	// measures the listen backlog). Default: 1,000 VMs a second.
	Ramp time.Duration
}

// move is a VM's cursor reaching a position at a time.
type move struct {
	pos uint64
	at  time.Time
}

type vm struct {
	mu     sync.Mutex
	cursor string
	moves  []move
	// conn is the VM's keep-alive connection (nil until the first call,
	// and after a failed one), read through br; only the VM's goroutine
	// uses them.
	conn net.Conn
	br   *bufio.Reader
}

// Sim is a running simulation. Each VM holds one keep-alive HTTP/1.1
// connection of its own, as a proxy worker's cluster connection, and reads
// answers with net/http's parser but without its client transport (two
// goroutines and channel hand-offs per connection), so that on a shared
// machine the simulator's own CPU weighs less on the cluster's latency.
type Sim struct {
	cfg      Config
	host     string // host:port of BaseURL
	vms      []*vm
	sent     atomic.Uint64
	errors   atomic.Uint64
	timeouts atomic.Uint64
	behind   atomic.Uint64
	followed atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Start launches the VMs over cfg.Ramp, each at a random phase of its tick.
func Start(cfg Config) *Sim {
	if cfg.Ramp == 0 {
		cfg.Ramp = time.Duration(cfg.VMs) * time.Millisecond
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		panic(fmt.Sprintf("feedsim: base URL %q is not http://host:port", cfg.BaseURL))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sim{cfg: cfg, host: u.Host, cancel: cancel}
	t0 := time.Now()
	for i := range cfg.VMs {
		v := &vm{}
		s.vms = append(s.vms, v)
		at := t0.Add(cfg.Ramp * time.Duration(i) / time.Duration(cfg.VMs))
		s.wg.Go(func() {
			defer v.close()
			s.run(ctx, v, at)
		})
	}
	return s
}

// Stop ends every VM and waits for them.
func (s *Sim) Stop() {
	s.cancel()
	s.wg.Wait()
}

func (v *vm) close() {
	if v.conn != nil {
		_ = v.conn.Close()
		v.conn, v.br = nil, nil
	}
}

// Sent is the number of feed calls sent so far.
func (s *Sim) Sent() uint64 { return s.sent.Load() }

// Errors is the number of failed feed calls (timeouts included).
func (s *Sim) Errors() uint64 { return s.errors.Load() }

// Timeouts is the number of failed calls that timed out.
func (s *Sim) Timeouts() uint64 { return s.timeouts.Load() }

// Behind is the number of behind answers.
func (s *Sim) Behind() uint64 { return s.behind.Load() }

// Following is the number of VMs that know their position.
func (s *Sim) Following() int { return int(s.followed.Load()) }

// run is one VM: the plugin's OnTick calls pollRevocations, which sends
// nothing while a call is in flight. A blocking call here plays the
// in-flight flag: the next tick after the answer sends the next call.
func (s *Sim) run(ctx context.Context, v *vm, at time.Time) {
	start := at.Add(rand.N(s.cfg.Poll))
	tick := start
	for {
		if d := time.Until(tick); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			return
		}
		s.poll(ctx, v)
		// The first tick after now.
		n := time.Since(start)/s.cfg.Poll + 1
		tick = start.Add(n * s.cfg.Poll)
	}
}

func (s *Sim) poll(ctx context.Context, v *vm) {
	path := tokenapi.PathRevocations
	timeout := s.cfg.Timeout
	v.mu.Lock()
	cursor := v.cursor
	v.mu.Unlock()
	if cursor != "" {
		path += "?" + tokenapi.RevocationsSince + "=" + cursor
		if s.cfg.Wait > 0 {
			path += "&" + tokenapi.RevocationsWait + "=" + strconv.Itoa(int(s.cfg.Wait/time.Second))
			timeout += s.cfg.Wait + 5*time.Second // the plugin's longPollGrace
		}
	}
	s.sent.Add(1)
	body, status, err := s.call(ctx, v, path, timeout)
	if err != nil {
		v.close()
		if ctx.Err() == nil {
			s.errors.Add(1)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.timeouts.Add(1)
			}
		}
		return
	}
	now := time.Now()
	var ans tokenapi.RevocationsResponse
	if status != http.StatusOK || json.Unmarshal(body, &ans) != nil || ans.Next == "" {
		if ctx.Err() == nil {
			s.errors.Add(1)
		}
		return
	}
	pos, err := Seq(ans.Next)
	if err != nil {
		s.errors.Add(1)
		return
	}
	if ans.Behind {
		s.behind.Add(1)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cursor == "" {
		s.followed.Add(1)
	}
	if v.cursor != ans.Next {
		v.moves = append(v.moves, move{pos: pos, at: now})
	}
	v.cursor = ans.Next
}

// call sends one GET on the VM's connection (dialled when it has none) and
// reads the answer, all within timeout; a cancelled ctx ends it too.
func (s *Sim) call(ctx context.Context, v *vm, path string, timeout time.Duration) ([]byte, int, error) {
	if v.conn == nil {
		c, err := net.DialTimeout("tcp", s.host, 5*time.Second)
		if err != nil {
			return nil, 0, err
		}
		v.conn, v.br = c, bufio.NewReaderSize(c, 4096)
	}
	c := v.conn
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, 0, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + s.host + "\r\nAccept: application/json\r\n"
	if s.cfg.VerifyToken != "" {
		req += "Authorization: Bearer " + s.cfg.VerifyToken + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return nil, 0, err
	}
	resp, err := http.ReadResponse(v.br, nil)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, 0, err
	}
	if resp.Close {
		v.close()
	}
	return body, resp.StatusCode, nil
}

// Seq is the sequence in a cursor ("<epoch>:<seq>:<tag>"), which the
// simulation reads to tell how far a VM got; a VM itself treats the cursor
// as opaque.
func Seq(cursor string) (uint64, error) {
	_, seq, _ := strings.Cut(cursor, ":")
	if !strings.Contains(cursor, ":") {
		seq = cursor
	}
	seq, _, _ = strings.Cut(seq, ":")
	return strconv.ParseUint(seq, 10, 64)
}

// Latencies returns, for a revocation that made the feed reach target after
// it was sent at sent, how long each VM took to get there; missing counts
// the VMs that never did.
func (s *Sim) Latencies(target uint64, sent time.Time) (lat []time.Duration, missing int) {
	for _, v := range s.vms {
		v.mu.Lock()
		i := slices.IndexFunc(v.moves, func(m move) bool { return m.pos >= target && !m.at.Before(sent) })
		if i < 0 {
			missing++
		} else {
			lat = append(lat, v.moves[i].at.Sub(sent))
		}
		v.mu.Unlock()
	}
	return lat, missing
}

// Reached reports how many VMs' cursors are at or past target.
func (s *Sim) Reached(target uint64) int {
	n := 0
	for _, v := range s.vms {
		v.mu.Lock()
		if len(v.moves) > 0 && v.moves[len(v.moves)-1].pos >= target {
			n++
		}
		v.mu.Unlock()
	}
	return n
}

// Quantile returns the q-quantile (0..1) of d, sorting it.
func Quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(q * float64(len(d)-1))
	return d[i]
}

// String describes the configuration.
func (c Config) String() string {
	mode := "short polls"
	if c.Wait > 0 {
		mode = fmt.Sprintf("long-polls (wait %v)", c.Wait)
	}
	return fmt.Sprintf("%d VMs, %s, tick %v", c.VMs, mode, c.Poll)
}
