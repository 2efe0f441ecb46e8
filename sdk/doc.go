// Package sdk will be the Go SDK that calling services embed: router
// client, auth middleware and privilege middleware (see the SDK issue).
// Nothing is implemented yet; until then services call the HTTP API
// described in docs/openapi.yaml.
//
// It imports domain types only: never the server's gin handlers or gorm.
package sdk
