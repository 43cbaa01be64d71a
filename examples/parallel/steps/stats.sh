#!/bin/sh
# stats.sh LISTING: the per-mini-batch program of examples/parallel (ParallelRunStep's contract).
# LISTING names one file per line (absolute paths). For each file, in order, print one line:
#   "<lines> lines, <words> words, <bytes> bytes, first word: <word>"
# or "ERROR: <why>" to fail that file alone (here: an empty file).
# Needs only POSIX sh and coreutils (wc, head, cut). $SLOW (seconds per file) slows it down for
# demos and tests; with $SIDE set, each file handled is also appended to that file.
set -u
while IFS= read -r f; do
  if [ -n "${SLOW:-}" ]; then sleep "$SLOW"; fi
  if [ -n "${SIDE:-}" ]; then printf '%s\n' "$f" >> "$SIDE"; fi
  if [ ! -s "$f" ]; then echo "ERROR: empty file"; continue; fi
  set -- $(wc -l -w -c < "$f")
  first=$(head -n 1 "$f" | cut -d ' ' -f 1)
  echo "$1 lines, $2 words, $3 bytes, first word: $first"
done < "$1"
