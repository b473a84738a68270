// SPDX-License-Identifier: Apache-2.0

package jose

import "testing"

// BenchmarkVerify measures signature verification alone (no parsing, no
// claims), per algorithm, with a 2048-bit RSA key and e = 65537. The module
// runs it as Wasm: `GOOS=wasip1 GOARCH=wasm go test -c` and a Wasm runtime
// give the numbers that matter; native ones use bigmod's assembly.
func BenchmarkVerify(b *testing.B) {
	k := newTestKeys(b)
	set := mustSet(b, k.jwks(true), true)
	for _, c := range []struct{ alg, kid string }{{HS256, "hs"}, {RS256, "rsa"}, {ES256, "ec"}, {EdDSA, "ed"}} {
		tok, err := Parse(k.sign(b, c.alg, c.kid, nil))
		if err != nil {
			b.Fatal(err)
		}
		key, _ := set.Lookup(c.kid, true)
		b.Run(c.alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tok.Verify(key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
