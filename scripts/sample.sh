#!/usr/bin/env bash
# The README's main job: builds sluice and runs the shipped sample pipeline, then shows what it
# recorded. Run it twice to see every step reused.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
go build -o bin/sluice ./cmd/sluice
bin/sluice run examples/diamond/pipeline.yaml "$@"
id=$(bin/sluice runs list --limit 1 | awk 'NR==2 {print $1}')
bin/sluice runs show "$id"
echo
bin/sluice datasets show diamond-report:latest
cat "$(bin/sluice datasets show diamond-report:latest | awk "/^Path:/ {print \$2}")/report.txt"
