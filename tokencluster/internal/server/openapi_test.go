// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"os"
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// TestOpenAPIListsEveryPath keeps tokencluster/openapi.yaml in step with the wire contract.
func TestOpenAPIListsEveryPath(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := tokenapi.PathAdmin
	for _, p := range []string{tokenapi.PathOAuthToken, tokenapi.PathSessionToken, tokenapi.PathSessionToken + "/{token}",
		tokenapi.PathPublicKeyToken, tokenapi.PathPublicKeyTokenAlias, tokenapi.PathPartnerToken, tokenapi.PathCustomerLogin, tokenapi.PathSSO,
		tokenapi.PathIntrospect, tokenapi.PathVerify, tokenapi.PathRevocations, tokenapi.PathHealth,
		a + "/{collection}", a + "/{collection}/{id}", a + "/{collection}/{id}/rotate", a + "/users/{id}/sso"} {
		if !strings.Contains(string(doc), "\n  "+p+":\n") {
			t.Errorf("openapi.yaml lacks path %s", p)
		}
	}
	kinds := []string{tokenapi.KindOAuth2, tokenapi.KindSession, tokenapi.KindAPIKey, tokenapi.KindUserAPIKey,
		tokenapi.KindPublicKey, tokenapi.KindPublicKeyToken, tokenapi.KindDomainKey, tokenapi.KindSSO, tokenapi.KindHMACKey}
	if enum := "enum: [" + strings.Join(kinds, ", ") + "]"; !strings.Contains(string(doc), enum) {
		t.Errorf("openapi.yaml lacks the Kind %s", enum)
	}
}
