// Package archtest pins who may import whom: domain packages stay free of
// adapters and frameworks, adapters do not import each other, and the SDK
// never reaches into the server. It has only tests.
package archtest
