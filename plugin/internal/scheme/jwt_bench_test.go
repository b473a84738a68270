// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credgate/credgate/plugin/internal/stamp"
)

func BenchmarkJWTVerify(b *testing.B) {
	v, _ := NewJWT(JWTOptions{Providers: []JWTProvider{{Keys: hmacSet(b, "k1", secretK1)}}})
	r := req("authorization", "Bearer "+mint(b, jwt.SigningMethodHS256, secretK1, "k1", claimsAt(testNow, nil)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, deny := v.Verify(r, stamp.Of(testNow)); deny != nil {
			b.Fatal(deny)
		}
	}
}
