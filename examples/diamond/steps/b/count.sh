#!/bin/sh
# count.sh WORDS_DIR OUT_FILE TOP: the TOP most frequent words.
set -eu
cat "$1"/* | sort | uniq -c | sort -k1,1nr -k2 | head -n "$3" > "$2"
sleep 1
