// SPDX-License-Identifier: Apache-2.0

// Package tokenapi is the wire contract between the credgate plugin and the
// token cluster: endpoint paths, request and response structs, JSON field
// names, credential kinds, reason codes and the credential digest.
//
// The plugin calls the verification endpoints from Wasm through
// proxy_http_call, so every response is a small, flat JSON object that can be
// decoded with gjson using the Field* constants.
//
// # Endpoints used by the plugin
//
//   - POST [PathIntrospect]: RFC 7662 introspection of OAuth2 access tokens
//     and session tokens. Form body: token, token_type_hint. Answer:
//     [IntrospectResponse]. Introspecting a session token slides its expiry.
//   - POST [PathVerify]: JSON [VerifyRequest] for every other credential kind.
//     Answer: [VerifyResponse].
//   - GET [PathRevocations]?since=<cursor>&limit=<n>&wait=<seconds>: the
//     revocation feed, [RevocationsResponse]. The plugin drops cached entries
//     whose digest ([Digest]) appears in the feed, then polls again with
//     Next. With wait the call is a long-poll held until a revocation
//     arrives; an answer with behind drops the whole cache.
//
// Every answer carries cache_ttl: how many seconds the caller may cache it.
// It is never past the credential's own expiry, and it is 0 for single-use
// credentials (sso).
//
// When the token cluster runs with --verify-token, these three endpoints
// require "Authorization: Bearer <verify token>".
//
// # Notes
//
//   - This package imports only the standard library.
//   - See https://www.rfc-editor.org/rfc/rfc7662 for introspection and
//     https://www.rfc-editor.org/rfc/rfc6749#section-4.4 for client credentials.
package tokenapi
