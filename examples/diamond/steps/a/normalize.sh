#!/bin/sh
# normalize.sh IN_DIR OUT_DIR: one lower-case word per line, per input file.
set -eu
for f in "$1"/*; do
  tr -cs 'A-Za-z' '\n' < "$f" | tr 'A-Z' 'a-z' | sed '/^$/d' > "$2/$(basename "$f")"
done
