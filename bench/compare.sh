#!/usr/bin/env bash
# Our engine next to PyTorch and next to OpenBLAS called from C, in one run on the same machine.
# Usage: bench/compare.sh [--no-build] [--quick] [--core N] [--checkpoint DIR]      (from anywhere; works in the repository root)
#   --core N: single-core comparison on core N (taskset): our engine then sees one processor and runs every op on
#   one thread, and PyTorch runs at torch=1,blas=1 only. For a machine that other jobs share.
#   --checkpoint DIR: the MiniVlm checkpoint both sides sample from (MiniVlm sampling rows); without it, a quick-preset
#   model initialised from seed 0 (mmeureka model init), written to the outputs folder.
# Exit status: 0 when every step ran (missed targets are reported, not fatal), non-zero when a step failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1 quick=() pin=() single=() checkpoint=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --quick) quick=(--quick) ;;
    --core)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "compare.sh: --core needs a core number, e.g. --core 1" >&2; exit 2; }
      command -v taskset >/dev/null || { echo "compare.sh: --core needs taskset (util-linux)" >&2; exit 2; }
      pin=(env OPENBLAS_NUM_THREADS=1 taskset -c "$2") single=(--single-thread); shift ;;
    --checkpoint)
      [ -f "${2:-}/model.safetensors" ] || { echo "compare.sh: --checkpoint needs a checkpoint folder (with model.safetensors), got '${2:-}'" >&2; exit 2; }
      checkpoint="$2"; shift ;;
    *) echo "compare.sh: unknown option $1 (use --no-build, --quick, --core N, --checkpoint DIR)" >&2; exit 2 ;;
  esac
  shift
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
if [ -z "$checkpoint" ]; then
  checkpoint="$out/vlm-quick"
  step "MiniVlm quick checkpoint (seed 0)" "$out/init.log" ./mmeureka model init --preset quick --seed 0 --out "$checkpoint"
fi
step "mmeureka bench engine" "$out/ours.json" "${pin[@]}" ./mmeureka bench engine --json --checkpoint "$checkpoint"
step "PyTorch reference" "$out/torch.json" "${pin[@]}" "$python" bench/torch_reference.py --json "${quick[@]}" "${single[@]}" --vlm-checkpoint "$checkpoint"

cblas_args=()
if [ -f bench/cblas_direct.c ]; then
  step "compile cblas_direct.c" "$out/gcc.log" gcc -O2 bench/cblas_direct.c -o /tmp/cblas_direct -l:libopenblas.so.0
  step "cblas_direct" "$out/cblas.json" "${pin[@]}" /tmp/cblas_direct
  cblas_args=(--cblas "$out/cblas.json")
else
  echo "compare: bench/cblas_direct.c not present; the openblas-ours/cblas rows will say missing" >&2
fi

echo
"$python" bench/compare_report.py --ours "$out/ours.json" --torch "$out/torch.json" "${cblas_args[@]}"

# --- libtorch 2.10 through TorchSharp (optional): our ratios against it beside those against PyTorch 1.13 above.
# Runs only where the twin is built (dotnet build src/MMEureka.TorchSharp -c Release, about 600 MB of libtorch) and
# loads (on Debian 12 / Ubuntu 22.04 after bash environment/setup.sh --torchsharp); otherwise one line says so.
twin=artifacts/bin/MMEureka.TorchSharp/release/MMEureka.TorchSharp
if [ -x "$twin" ] && [ "$build" = 1 ]; then
  step "dotnet build (TorchSharp twin)" "$out/build-twin.log" dotnet build -c Release src/MMEureka.TorchSharp -nologo -v q
fi
if [ -x "$twin" ] && "$twin" status > "$out/twin-status.txt" 2>&1; then
  twin_threads=(--threads 1,2); [ ${#single[@]} -gt 0 ] && twin_threads=(--threads 1)
  step "TorchSharp twin bench" "$out/twin.json" "${pin[@]}" "$twin" bench --json "${quick[@]}" "${twin_threads[@]}"
  echo
  # The twin's folder has its own copy of the engine; with --no-build (or after building only the solution, which
  # leaves the twin out) that copy can predate the engine measured above.
  if [ "artifacts/bin/MMEureka.TorchSharp/release/MMEureka.dll" -ot "artifacts/bin/MMEureka/release/MMEureka.dll" ]; then
    echo "warning: the twin's MMEureka.dll is older than artifacts/bin/MMEureka/release/MMEureka.dll: its 'ours*' rows measure"
    echo "         older engine code (rebuild with: dotnet build -c Release src/MMEureka.TorchSharp)"
  fi
  "$python" bench/compare_torchsharp.py --ours "$out/ours.json" --torch "$out/torch.json" --twin "$out/twin.json"
else
  echo
  echo "libtorch 2.10 column skipped: $( [ -x "$twin" ] && head -c 300 "$out/twin-status.txt" || echo "the TorchSharp twin is not built (dotnet build src/MMEureka.TorchSharp -c Release)")"
fi
