#!/bin/sh
# lengths.sh WORDS_DIR OUT_FILE: histogram of word lengths.
set -eu
cat "$1"/* | awk '{ n[length($0)]++ } END { for (l in n) print l, n[l] }' | sort -n > "$2"
sleep 1
