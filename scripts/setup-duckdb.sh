#!/usr/bin/env bash
# Installs DuckDB for Node (npm @duckdb/node-api, prebuilt) into .tools/duckdb: the independent
# Parquet reader of the sample script and of the batch-scoring tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.5.6-r.1
dir=.tools/duckdb
if [ -f "$dir/node_modules/@duckdb/node-api/package.json" ] && grep -q "\"version\": \"$version\"" "$dir/node_modules/@duckdb/node-api/package.json"; then
  exit 0
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
(cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error "@duckdb/node-api@$version")
