// Package sdk will be the Go SDK that calling services embed: router
// client, auth middleware and privilege middleware (see the SDK issue).
// Until they exist services call the HTTP API described in
// docs/openapi.yaml.
//
// Implemented so far: sdk/registry, which registers a service's own
// instance (through the router's API or Nacos), keeps it alive, and drains
// and deregisters it on shutdown.
//
// It imports domain types only: never the server's gin handlers or gorm.
package sdk
