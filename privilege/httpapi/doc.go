// Package httpapi is the privilege service's HTTP adapter: checks (one or
// a batch), what a subject may do and who may do something, the
// simulator, and the tenant's policy set — roles, members, policies and
// settings — with its history, rollback and the decision audit; the
// platform's roles, members and history under /api/v1/privilege.
//
// It translates between JSON and privilege's domain terms, authorizes
// every route by the principal the authentication middleware set
// (internal/httpx), and writes only through service.Write, which
// validates the whole policy set before anything is committed. It must
// not import gorm, go-redis or another adapter.
package httpapi
