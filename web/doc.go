// Package web will serve the embedded admin UI (see the admin UI issue).
// Nothing is implemented yet.
package web
