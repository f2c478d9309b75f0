#!/usr/bin/env bash
# Runs the official Go client's own tests (github.com/hashicorp/consul/api
# and api/watch) against coredns-coord: testutil starts "consul agent", which
# is our stand-in (compat/consul), which execs coredns-coord with a Corefile
# made from testutil's configuration. Prints one line per test and the
# count; exits non-zero when fewer than COMPAT_MIN pass.
set -euo pipefail

API_VERSION=${API_VERSION:-v1.34.5}
COMPAT_MIN=${COMPAT_MIN:-0}
# The test files in scope: KV, Txn, Session, Lock, Semaphore, Catalog,
# Health, Agent, Status, Event, Operator (Raft, autopilot, keyring, usage,
# feature gates), Snapshot, Debug (pprof), ACL and the watch plans. Connect,
# mesh and multi-port tests are left out (features we do not have), and so
# are ACL replication, auth methods, binding rules and templated policies.
FILES="kv txn session lock semaphore catalog health agent status event operator_autopilot operator_raft operator_keyring operator_usage operator_feature_gate snapshot debug acl"
SKIP='Connect|Proxy|Gateway|Sidecar|Ingress|Mesh|Expose|MultiPort|ACLReplication|AuthMethod|BindingRule|Templated'

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
# A test binary that panics or times out leaves the agents it started
# running: stop whatever runs from this run's binary.
trap 'pkill -9 -f "^$work/bin/coredns-coord" 2>/dev/null || true; rm -rf "$work"' EXIT

cd "$root"
go build -o "$work/bin/coredns-coord" ./cmd/coredns-coord
go build -o "$work/bin/consul" ./compat/consul

src=$(go mod download -json "github.com/hashicorp/consul/api@$API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "compat: cannot download github.com/hashicorp/consul/api@$API_VERSION" >&2; exit 1; }
cp -r "$src" "$work/api"
chmod -R u+w "$work/api"

# makeClientWithConfig waits for a Connect CA whenever the server config
# enables Connect, which testutil does by default; we have no Connect, and
# the tests in scope do not use it.
sed -i 's/if enabled, ok := connectEnabled.(bool); ok && server.Config.Server && enabled {/if enabled, ok := connectEnabled.(bool); ok \&\& server.Config.Server \&\& enabled \&\& false {/' "$work/api/api_test.go"
grep -q 'enabled && false {' "$work/api/api_test.go" || { echo "compat: api_test.go changed; update the Connect patch" >&2; exit 1; }

# COMPAT_ONLY (a regular expression) narrows the run to matching tests.
names() { grep -ho '^func Test[A-Za-z0-9_]*' "$@" | sed 's/^func //' | grep -Ev "$SKIP" | grep -E "${COMPAT_ONLY:-.}" || true; }
api_tests=$(for f in $FILES; do names "$work/api/${f}_test.go"; done | paste -sd'|')
watch_tests=$(names "$work/api/watch/funcs_test.go" | paste -sd'|')

cd "$work/api"
out="$work/out.txt"
export PATH="$work/bin:$PATH" COREDNS_COORD="$work/bin/coredns-coord"
set +e
: >"$out"
[ -z "$api_tests" ] || go test -v -count=1 -timeout 15m -parallel "${COMPAT_PARALLEL:-4}" -run "^($api_tests)\$" . >>"$out" 2>&1
[ -z "$watch_tests" ] || go test -v -count=1 -timeout 5m -parallel "${COMPAT_PARALLEL:-4}" -run "^($watch_tests)\$" ./watch >>"$out" 2>&1
set -e
[ -n "${COMPAT_LOG:-}" ] && cp "$out" "$COMPAT_LOG"

count() { [ -z "$1" ] && echo 0 || tr '|' '\n' <<<"$1" | wc -l; }
want=$(( $(count "$api_tests") + $(count "$watch_tests") ))
grep -E '^--- (PASS|FAIL|SKIP): ' "$out" | sed 's/ (.*//' | sort -k3 || true
pass=$(grep -c '^--- PASS: ' "$out" || true)
fail=$(grep -c '^--- FAIL: ' "$out" || true)
if grep -q '^panic: ' "$out"; then echo "compat: a test panicked:"; grep -A5 '^panic: ' "$out" | head -20; fi
echo "compat: $pass of $want passed, $fail failed, $((want - pass - fail)) did not finish"
[ "$pass" -ge "$COMPAT_MIN" ]
