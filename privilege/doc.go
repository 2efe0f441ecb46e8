// Package privilege will hold the RBAC and ABAC engines with explained
// decisions and a three-tier cache (see the privilege issue). Nothing is
// implemented yet.
//
// Pure evaluation logic here must not import gin, gorm, go-redis or nacos.
package privilege
