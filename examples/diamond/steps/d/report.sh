#!/bin/sh
# report.sh COUNTS LENGTHS OUT_DIR: joins both statistics into one report.
set -eu
{ echo "# top words"; cat "$1"; echo "# word lengths"; cat "$2"; } > "$3/report.txt"
