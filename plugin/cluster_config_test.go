// SPDX-License-Identifier: Apache-2.0

package main

// clusterConfig accepts every scheme on the seed APIs' own paths, against the
// demo credentials in tokencluster/testdata/credentials.json.
const clusterConfig = `{
  "token_cluster": {"cluster": "token_cluster", "authority": "tokencluster", "timeout_ms": 2000, "revocation_poll_ms": 200,
                    "verify_token": "test-verify-token-0123456789abcdef"},
  "cache": {"negative_ttl_seconds": 1},
  "jwt": {"issuer": "credgate-tokencluster", "leeway_seconds": 5,
          "remote_jwks": {"cluster": "token_cluster", "path": "/v1/jwks", "include_secrets": true}},
  "routes": [
    {"name": "issuance", "match": {"regex": "^/(token|v0/tokens|tokens|v2/token(/.*)?)$"}, "anonymous": true},
    {"name": "designs", "match": {"prefix": "/v1/designs"}, "schemes": ["oauth2_bearer"]},
    {"name": "order", "match": {"prefix": "/v2/order"}, "schemes": ["oauth2_bearer"],
     "options": {"oauth2_bearer": {"access_type": "S2S", "require_one_of_codes": ["visitorcode", "customercode"]}}},
    {"name": "reseller-orders", "match": {"prefix": "/Orders/Create"}, "schemes": ["jwt", "oauth2_bearer"]},
    {"name": "supplier", "match": {"prefix": "/Supplier/"}, "schemes": ["api_key"], "error_style": "platform",
     "options": {"api_key": {"tenant": {"header": "x-tenant"}, "allowed_tenants": ["acme", "globex"]}}},
    {"name": "payment", "match": {"prefix": "/Payment/"}, "schemes": ["api_key"], "error_style": "platform",
     "options": {"api_key": {"tenant": {"header": "x-tenant"}, "allowed_tenants": ["globex"]}}},
    {"name": "accountvaults", "match": {"prefix": "/v2/accountvaults"}, "schemes": ["hmac"],
     "options": {"hmac": {"replay_protection": true}}},
    {"name": "payform", "match": {"prefix": "/v2/payform"}, "schemes": ["hmac"]},
    {"name": "contactsso", "match": {"prefix": "/v2/contactsso"}, "schemes": ["sso"]},
    {"name": "contacts", "match": {"prefix": "/v2/contacts"}, "schemes": ["user_api_key", "oauth2_bearer"],
     "options": {"user_api_key": {"require_developer_id": true}, "oauth2_bearer": {"require_developer_id": true}}},
    {"name": "me", "match": {"prefix": "/v2/me"}, "schemes": ["session_token"]},
    {"name": "products-read", "match": {"prefix": "/v0/products", "methods": ["GET"]}, "schemes": ["public_key"], "error_style": "marketcloud"},
    {"name": "orders", "match": {"prefix": "/v0/orders"}, "schemes": ["public_key_token"], "error_style": "marketcloud"},
    {"name": "marketcloud", "match": {"prefix": "/v0/"}, "schemes": ["public_key_token"], "error_style": "marketcloud"},
    {"name": "paymentgateways", "match": {"prefix": "/paymentgateways"}, "schemes": ["domain_key"], "error_style": "znode",
     "options": {"domain_key": {"validate_auth_header": false}}},
    {"name": "znode-products", "match": {"prefix": "/products/"}, "schemes": ["domain_key"], "error_style": "znode"},
    {"name": "stale", "match": {"prefix": "/stale/"}, "schemes": ["api_key"], "fail_policy": "stale"},
    {"name": "health", "match": {"exact": "/healthz"}, "anonymous": true}
  ]
}`
