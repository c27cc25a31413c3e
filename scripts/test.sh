#!/usr/bin/env bash
# The project's test command (README, .ci/run). Tests run against real
# components: an embedded NATS server, on-disk Bleve indexes and a real Ollama
# serving the project's own embedding model. `attune setup` makes sure both
# exist first (Ollama is built once per machine, the model trained once; both
# cached under ~/.cache/attune), so no test has to build them under its timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== setup: Ollama and the embedding model"
go run ./cmd/attune setup

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

echo "== go test"
# -race on the packages with concurrency; the rest without (faster).
racy="./ingest/... ./cmd/... ./embed/"
go test -race -timeout 30m $racy
go test -timeout 30m $(go list ./... | grep -v -e '/ingest' -e '/cmd/' -e '/embed$')

echo "== fuzz (bounded; FUZZTIME per target, default 15s)"
# Hostile input must never crash a worker: event decoding, the NLP stage and
# the search query parser are fuzzed for a bounded time on every run. A
# failing input is saved under the package's testdata/fuzz and replayed by
# plain `go test` from then on.
fuzztime=${FUZZTIME:-15s}
go test -run '^$' -fuzz '^FuzzDecodeEvent$' -fuzztime "$fuzztime" .
go test -run '^$' -fuzz '^FuzzAnalyzeHostile$' -fuzztime "$fuzztime" ./nlp
go test -run '^$' -fuzz '^FuzzRedactFindings$' -fuzztime "$fuzztime" ./nlp
go test -run '^$' -fuzz '^FuzzSearchQuery$' -fuzztime "$fuzztime" ./index
