// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// demoJWTFor signs a token with envoy.yaml's demo key for another subject
// and tenant than demoJWT's customer.
func demoJWTFor(sub, tenant string) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "tenant": tenant, "scope": "profile", "iss": "credgate-tokencluster",
		"iat": time.Now().Add(-time.Minute).Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "demo-2026-01"
	s, err := tok.SignedString([]byte("demo-jwt-signing-secret-0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	return s
}
