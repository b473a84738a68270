// SPDX-License-Identifier: Apache-2.0

package jose

import "math/bits"

// Modular arithmetic on public values, for the two verifications that need
// it: RSA's s^e mod n and ECDSA's scalar arithmetic modulo the P-256 order.
// math/big and crypto/rsa would do it too, but they (with the formatting
// code math/big links) cost about a third of a megabyte of module; this is
// Montgomery multiplication on 32-bit limbs, variable-time, which is fine
// because every input is public (a key, a signature, a digest). Tests check
// it against math/big and the verifications against crypto/rsa and
// crypto/ecdsa.

// modulus is an odd modulus m with what Montgomery multiplication needs.
type modulus struct {
	m     []uint32 // little-endian limbs
	m0inv uint32   // -m⁻¹ mod 2³²
	rr    []uint32 // R² mod m, R = 2^(32·len(m))
	size  int      // bytes of m, without leading zeros
}

// newModulus returns m (big-endian, no leading zero byte) as a modulus, or
// nil if m is even or zero.
func newModulus(b []byte) *modulus {
	if len(b) == 0 || b[0] == 0 || b[len(b)-1]&1 == 0 {
		return nil
	}
	n := (len(b) + 3) / 4
	md := &modulus{m: limbs(b, n), size: len(b)}
	// Newton's iteration doubles the correct low bits of m⁻¹ mod 2³² each
	// step: 1 → 2 → 4 → 8 → 16 → 32 (m is odd, so m·m ≡ 1 mod 8 already).
	x := md.m[0]
	for range 5 {
		x *= 2 - md.m[0]*x
	}
	md.m0inv = -x
	// R mod m: 2^(bits-1) is below m; double it up to 2^(32n).
	top := 32*(n-1) + bits.Len32(md.m[n-1])
	r := make([]uint32, n)
	r[(top-1)/32] = 1 << ((top - 1) % 32)
	for range 32*n - (top - 1) {
		md.double(r)
	}
	// R is 1 in Montgomery form and 2R is 2; raising 2 to the power 32n in
	// that form gives 2^(32n)·R = R² mod m.
	two := append([]uint32(nil), r...)
	md.double(two)
	rr, t := r, make([]uint32, n+2)
	for k, bit := 32*n, bits.Len(uint(32*n))-1; bit >= 0; bit-- {
		md.mulInto(rr, rr, rr, t)
		if k>>bit&1 != 0 {
			md.mulInto(rr, rr, two, t)
		}
	}
	md.rr = rr
	return md
}

// limbs reads big-endian b into n little-endian limbs (b must fit).
func limbs(b []byte, n int) []uint32 {
	z := make([]uint32, n)
	for i := range b {
		k := len(b) - 1 - i // byte index from the least significant end
		z[k/4] |= uint32(b[i]) << (8 * (k % 4))
	}
	return z
}

// bytes writes x as exactly size big-endian bytes (x must fit).
func (md *modulus) bytes(x []uint32) []byte {
	out := make([]byte, md.size)
	for k := range md.size {
		out[md.size-1-k] = byte(x[k/4] >> (8 * (k % 4)))
	}
	return out
}

// fromBytes reads big-endian b as a value below m; ok is false if b has
// more bytes than m or its value is not below m.
func (md *modulus) fromBytes(b []byte) (x []uint32, ok bool) {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > 4*len(md.m) {
		return nil, false
	}
	x = limbs(b, len(md.m))
	return x, less(x, md.m)
}

// reduceOnce reads big-endian b, of at most m's byte length, and subtracts m
// once if needed: exact for values below 2m (a digest or a coordinate
// modulo a 256-bit group order). ok is false for longer input or a value
// still not below m.
func (md *modulus) reduceOnce(b []byte) (x []uint32, ok bool) {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > 4*len(md.m) {
		return nil, false
	}
	x = limbs(b, len(md.m))
	if !less(x, md.m) {
		sub(x, md.m)
	}
	return x, less(x, md.m)
}

// less reports x < y for equal-length limb slices.
func less(x, y []uint32) bool {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

// sub sets x = x - y (mod 2^(32·len)) and returns the borrow.
func sub(x, y []uint32) uint32 {
	var borrow uint64
	for i := range x {
		d := uint64(x[i]) - uint64(y[i]) - borrow
		x[i] = uint32(d)
		borrow = (d >> 32) & 1
	}
	return uint32(borrow)
}

// double sets r = 2r mod m, for r < m.
func (md *modulus) double(r []uint32) {
	var carry uint32
	for i := range r {
		c := r[i] >> 31
		r[i] = r[i]<<1 | carry
		carry = c
	}
	if carry != 0 || !less(r, md.m) {
		sub(r, md.m)
	}
}

// mul returns a·b·R⁻¹ mod m for a, b < m (CIOS Montgomery multiplication).
func (md *modulus) mul(a, b []uint32) []uint32 {
	z := make([]uint32, len(md.m))
	md.mulInto(z, a, b, make([]uint32, len(md.m)+2))
	return z
}

// mulInto sets z = a·b·R⁻¹ mod m, using t (len(m)+2 limbs) as scratch; z may
// be a or b. Each row adds a·b[i] and u·m, u chosen so that the low limb
// cancels, in one pass (FIOS); t stays below 2m.
func (md *modulus) mulInto(z, a, b, t []uint32) {
	n := len(md.m)
	m := md.m[:n]
	a, b, t = a[:n], b[:n], t[:n+1]
	clear(t)
	for i := range n {
		bi := uint64(b[i])
		s1 := uint64(t[0]) + uint64(a[0])*bi
		u := uint64(uint32(s1) * md.m0inv)
		s2 := uint64(uint32(s1)) + u*uint64(m[0])
		c1, c2 := s1>>32, s2>>32
		for j := 1; j < n; j++ {
			s1 = uint64(t[j]) + uint64(a[j])*bi + c1
			s2 = uint64(uint32(s1)) + u*uint64(m[j]) + c2
			t[j-1] = uint32(s2)
			c1, c2 = s1>>32, s2>>32
		}
		s1 = uint64(t[n]) + c1
		s2 = uint64(uint32(s1)) + c2
		t[n-1] = uint32(s2)
		t[n] = uint32(s1>>32 + s2>>32)
	}
	if t[n] != 0 || !less(t[:n], m) {
		sub(t[:n], m)
	}
	copy(z, t[:n])
}

// mulMod returns a·b mod m for a, b < m.
func (md *modulus) mulMod(a, b []uint32) []uint32 { return md.mul(md.mul(a, b), md.rr) }

// exp returns x^e mod m for x < m, e big-endian.
func (md *modulus) exp(x []uint32, e []byte) []uint32 {
	n := len(md.m)
	t := make([]uint32, n+2)
	one := make([]uint32, n)
	one[0] = 1
	xm := make([]uint32, n)
	md.mulInto(xm, x, md.rr, t) // x·R
	acc := make([]uint32, n)
	md.mulInto(acc, one, md.rr, t) // R, which is 1 in Montgomery form
	started := false               // no squaring of 1 for the leading zero bits
	for _, b := range e {
		for bit := 7; bit >= 0; bit-- {
			if started {
				md.mulInto(acc, acc, acc, t)
			}
			if b>>bit&1 != 0 {
				md.mulInto(acc, acc, xm, t)
				started = true
			}
		}
	}
	md.mulInto(acc, acc, one, t)
	return acc
}

func isZero(x []uint32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}
