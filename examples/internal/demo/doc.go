// Package demo is what the example processes under examples/ share: the
// flags and environment that say where greyrouter is and which credentials
// to use, the wiring of a service from the public SDK (sdk/auth,
// sdk/privilege, sdk/lane, sdk/router, sdk/registry), and the JSON answer
// the services give, so that a caller or a test sees every hop a request
// took.
//
// It is an example: it imports the SDK and nothing of the server (no
// router/httpapi, no stores, no internal/ packages), as a service outside
// this module would.
package demo
