#!/usr/bin/env bash
# Tests of examples/cluster, a module of its own (it needs NATS, which the
# root module must not require), so the root's `go test ./...` does not
# descend into it. Assumes .ci/install-peers.sh has run: Chromium, Node and
# testdata/peers/node_modules (ws, playwright-core); with CI set, a missing
# peer fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../examples/cluster"
export CI="${CI:-true}"

echo "== examples/cluster: gofmt, go vet"
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...

echo "== examples/cluster: go test -race ./...   (3 server processes, NATS, Node ws, Chromium)"
go test -race -count=1 -timeout 8m ./...
