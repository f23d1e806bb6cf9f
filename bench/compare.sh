#!/usr/bin/env bash
# Our engine next to PyTorch and next to OpenBLAS called from C, in one run on the same machine.
# Usage: bench/compare.sh [--no-build] [--quick]      (from anywhere; works in the repository root)
# Exit status: 0 when every step ran (missed targets are reported, not fatal), non-zero when a step failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1 quick=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --quick) quick=(--quick) ;;
    *) echo "compare.sh: unknown option $arg (use --no-build, --quick)" >&2; exit 2 ;;
  esac
done

# Debian's PyTorch lives in the system interpreter; a pyenv/venv python3 earlier on PATH usually lacks it.
python="${PYTHON:-}"
if [ -z "$python" ]; then
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then python=/usr/bin/python3; else python=python3; fi
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/mmeureka-compare.XXXXXX")"
echo "compare: outputs in $out" >&2

step() {  # step NAME OUTFILE COMMAND...: runs one step, stdout to OUTFILE, stops the script if it fails
  local name="$1" file="$2"; shift 2
  echo "compare: $name ..." >&2
  local rc=0
  "$@" > "$file" 2> "$file.err" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "compare: step '$name' failed (exit $rc); its output is in $file and $file.err:" >&2
    tail -n 20 "$file.err" "$file" >&2
    exit 1
  fi
}

if [ "$build" = 1 ]; then
  step "dotnet build" "$out/build.log" dotnet build -c Release src/MMEureka.Cli -nologo -v q
fi
step "mmeureka bench engine" "$out/ours.json" ./mmeureka bench engine --json
step "PyTorch reference" "$out/torch.json" "$python" bench/torch_reference.py --json "${quick[@]}"

cblas_args=()
if [ -f bench/cblas_direct.c ]; then
  step "compile cblas_direct.c" "$out/gcc.log" gcc -O2 bench/cblas_direct.c -o /tmp/cblas_direct -l:libopenblas.so.0
  step "cblas_direct" "$out/cblas.json" /tmp/cblas_direct
  cblas_args=(--cblas "$out/cblas.json")
else
  echo "compare: bench/cblas_direct.c not present; the openblas-ours/cblas rows will say missing" >&2
fi

echo
"$python" bench/compare_report.py --ours "$out/ours.json" --torch "$out/torch.json" "${cblas_args[@]}"
