// SPDX-License-Identifier: Apache-2.0

package gcguard

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/internal/slots"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

// VMIdentity is a random identity of this VM (its slot's owner), made on
// first use. A VM is single-threaded. It tells VMs apart and is no secret:
// math/rand/v2's generator (ChaCha8, seeded by the runtime from the host's
// random_get) is enough, and crypto/rand would link its DRBG for it.
func VMIdentity() string {
	if vmID == "" {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], rand.Uint64())
		vmID = hex.EncodeToString(b[:])
	}
	return vmID
}

var vmID string

// Store is the proxy's shared data (slots.Store).
type Store = slots.Store

// MaxSlots bounds the per-VM stat names: VMs beyond it share the name
// "overflow".
const MaxSlots = 64

// Slot timing: a VM renews its slot at most every slotRenew, and a slot not
// renewed for slotStale may be taken by a new VM (its VM is gone, e.g. after
// a configuration change replaced the VMs).
const (
	slotRenew = 10 * time.Second
	slotStale = 2 * time.Minute
)

const slotPrefix = "credgate/v1/vm/"

// Slot gives a VM a small stable number for its per-VM stats, claimed in the
// proxy's shared data, since Envoy does not tell a VM which worker it is.
type Slot struct {
	store   Store
	nonce   string
	index   int // -1: overflow
	renewed stamp.Stamp
}

// ClaimSlot claims the first free or stale slot for the VM identified by
// nonce (random, unique per VM).
func ClaimSlot(store Store, nonce string, now time.Time) *Slot {
	s := &Slot{store: store, nonce: nonce, index: -1}
	s.claim(now)
	return s
}

// Name is the slot's label: "0" to "63", or "overflow".
func (s *Slot) Name() string {
	if s.index < 0 {
		return "overflow"
	}
	return strconv.Itoa(s.index)
}

func (s *Slot) value(now time.Time) []byte {
	return []byte(s.nonce + " " + strconv.FormatInt(now.Unix(), 10))
}

func (s *Slot) claim(now time.Time) {
	s.index, s.renewed = -1, stamp.Of(now)
	for i := 0; i < MaxSlots; i++ {
		key := slotPrefix + strconv.Itoa(i)
		v, cas, found, err := s.store.Get(key)
		if err != nil {
			return
		}
		if found {
			owner, beat, ok := parseSlot(v)
			if ok && owner != s.nonce && now.Sub(beat) < slotStale {
				continue
			}
		} else {
			cas = 0
		}
		if s.store.Set(key, s.value(now), cas) != nil {
			continue
		}
		// A cas of 0 cannot fail when another VM wrote first; reading our
		// own value back tells who won.
		if v, _, _, err := s.store.Get(key); err == nil {
			if owner, _, ok := parseSlot(v); ok && owner == s.nonce {
				s.index = i
				return
			}
		}
	}
}

// Renew keeps the slot alive; a VM that lost its slot (it was idle past
// slotStale and another VM took it) claims a new one.
func (s *Slot) Renew(now time.Time) {
	if now.Sub(s.renewed.Time()) < slotRenew {
		return
	}
	if s.index < 0 {
		s.claim(now)
		return
	}
	key := slotPrefix + strconv.Itoa(s.index)
	v, cas, found, err := s.store.Get(key)
	if err != nil {
		return
	}
	if owner, _, ok := parseSlot(v); !found || !ok || owner != s.nonce || s.store.Set(key, s.value(now), cas) != nil {
		s.claim(now)
		return
	}
	s.renewed = stamp.Of(now)
}

func parseSlot(v []byte) (owner string, beat time.Time, ok bool) {
	owner, ts, ok := strings.Cut(string(v), " ")
	if !ok {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return owner, time.Unix(sec, 0), true
}
