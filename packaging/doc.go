// Package packaging holds no code: its tests check the files shipped in
// this directory (the systemd unit, the systemd-resolved drop-in, the
// container and Kubernetes examples, the alert rules and the Grafana
// dashboard) against the static binary that `make static` builds.
package packaging
