// Package deploytest checks the deployment files at the repository root
// (docker-compose.yml, Dockerfile) against the code, since no Docker engine
// is available to run them in CI. It has tests only and must not be imported.
package deploytest
