#!/usr/bin/env bash
# ast-grep over exactly the files stateless-lint analysed (one path per line in LIST).
#   usage: scan.sh RULES JOBS LIST
set -euo pipefail
mapfile -t files <"$3"
exec ast-grep scan -r "$1" --json=compact -j "$2" "${files[@]}"
