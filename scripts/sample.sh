#!/usr/bin/env bash
# The README's main job: batch scoring of the shipped sample. Builds sluice, runs the
# examples/batchscoring pipeline (300 images → a CNN → Parquet), shows the run's record, then
# reads the Parquet back with DuckDB (an independent reader) and prints the accuracy.
# Run it twice to see the step reused.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
go build -o bin/sluice ./cmd/sluice
bin/sluice run examples/batchscoring/pipeline.yaml "$@"
id=$(bin/sluice runs list --limit 1 | awk 'NR==2 {print $1}')
bin/sluice runs show "$id"
echo
bin/sluice datasets show score-sample.predictions:latest
out=$(bin/sluice datasets show score-sample.predictions:latest | awk '/^Path:/ {print $2}')
echo
node scripts/read-predictions.mjs "$out"
