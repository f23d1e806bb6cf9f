#!/usr/bin/env bash
# The Jupyter-side checks of `mmeureka kernel` (issue 15), against the Release build in artifacts/:
#   1. jupyter_kernel_test's KernelTests (protocol conformance, message schemas);
#   2. scripted interrupt (message and SIGINT), shutdown, and start-up timing (interrupt_shutdown.py);
#   3. every notebook in notebooks/ executed through Jupyter with our kernel, tiny preset (`jupyter execute`, and
#      nbclient writing the executed copies to runs/kernel/jupyter/);
#   4. those outputs compared cell for cell with `mmeureka notebook run`'s (compare_outputs.py).
# The kernelspec is installed into a temporary prefix found through JUPYTER_PATH: nothing of the user's changes.
# usage: tests/kernel/run_kernel_checks.sh [RUNNER_OUT_DIR]
#   RUNNER_OUT_DIR: executed notebooks of `mmeureka notebook run --param preset=tiny` to compare with (CI passes
#   runs/notebooks); without it the runner is run here into runs/kernel/runner.
# Skips (exit 0, with the reason) when Debian's jupyter packages are missing; CI installs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
here=tests/kernel

if ! missing=$($PY - <<'PYEOF'
import importlib.util, sys
need = {"jupyter_client": "python3-jupyter-client", "nbclient": "python3-nbclient", "nbformat": "python3-nbformat",
        "jupyter_kernel_test": "python3-jupyter-kernel-test"}
gone = [pkg for mod, pkg in need.items() if importlib.util.find_spec(mod) is None]
print(" ".join(gone))
sys.exit(1 if gone else 0)
PYEOF
) || [ ! -x /usr/bin/jupyter-execute ]; then
  echo "SKIP kernel checks: missing Debian packages: ${missing:-jupyter-client (jupyter-execute)}; apt-get install jupyter-client jupyter-core python3-nbclient python3-jupyter-kernel-test"
  exit 0
fi
exe=artifacts/bin/MMEureka.Cli/release/MMEureka.Cli
[ -x "$exe" ] || { echo "error: $exe not found; run 'dotnet build -c Release' first" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export JUPYTER_PATH="$tmp/share/jupyter" JUPYTER_RUNTIME_DIR="$tmp/runtime" JUPYTER_DATA_DIR="$tmp/data" JUPYTER_CONFIG_DIR="$tmp/config"
export MMEUREKA_KERNEL_NAME=mmeureka-csharp
./mmeureka kernel install --prefix "$tmp" --name "$MMEUREKA_KERNEL_NAME"
jupyter kernelspec list | grep -q "^ *$MMEUREKA_KERNEL_NAME " || { echo "error: jupyter does not list the kernelspec" >&2; exit 1; }

status=0
step() { echo; echo "== $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"; }

step "jupyter_kernel_test KernelTests"
(cd "$here" && $PY -m unittest -v test_kernel_protocol) || status=1

step "interrupt, SIGINT, shutdown, start-up time"
$PY "$here/interrupt_shutdown.py" || status=1

shopt -s nullglob; nbs=(notebooks/*.ipynb); shopt -u nullglob
if [ ${#nbs[@]} -gt 0 ]; then
  export MMEUREKA_PRESET=tiny
  step "jupyter execute --kernel_name=$MMEUREKA_KERNEL_NAME (tiny preset)"
  for nb in "${nbs[@]}"; do
    start=$(date +%s)
    if jupyter execute --kernel_name="$MMEUREKA_KERNEL_NAME" --startup_timeout=60 --timeout=1800 "$nb" 2> "$tmp/execute.log"; then
      echo "ok   jupyter execute $nb ($(( $(date +%s) - start )) s)"
    else
      echo "FAIL jupyter execute $nb"; tail -20 "$tmp/execute.log"; status=1
    fi
  done

  step "executed copies through Jupyter, compared with mmeureka notebook run"
  $PY "$here/execute_notebooks.py" "$MMEUREKA_KERNEL_NAME" runs/kernel/jupyter "${nbs[@]}" || status=1
  runner=${1:-}
  if [ -z "$runner" ]; then
    runner=runs/kernel/runner
    ./mmeureka notebook run "${nbs[@]}" --param preset=tiny --out "$runner" > "$tmp/runner.log" || { tail -20 "$tmp/runner.log"; status=1; }
  fi
  names=(); for nb in "${nbs[@]}"; do names+=("$(basename "$nb")"); done
  $PY "$here/compare_outputs.py" "$runner" runs/kernel/jupyter "${names[@]}" || status=1
fi

echo
[ $status -eq 0 ] && echo "kernel checks: all passed" || echo "kernel checks: FAILED"
exit $status
