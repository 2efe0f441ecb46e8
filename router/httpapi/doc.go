// Package httpapi is the grey router's HTTP adapter: JSON handlers on gin
// for the admin API, resolve and report, plus health, readiness and
// metrics. It translates between HTTP and the router domain and maps domain
// error codes to statuses in one table (errors.go). It must not import gorm
// or go-redis.
package httpapi
