// SPDX-License-Identifier: Apache-2.0

// Package envoy holds credgate's proxy configuration as code: the Envoy
// bootstrap (envoy.yaml) used by `make run`, the docker compose suite and the
// embedded gateway, and the Istio resources under istio/.
//
// The package has no Go API. Its tests validate every YAML file here with
// go-control-plane's protos (bootstrap → ValidateAll, every typed_config
// unpacked and validated), check the Istio resources' required fields, and
// start the real build/credgate.wasm on the hostcalls host with each embedded
// plugin configuration, so that the configuration users copy is the one the
// plugin accepts. They also load e2e/docker-compose.yml with compose-go.
package envoy
