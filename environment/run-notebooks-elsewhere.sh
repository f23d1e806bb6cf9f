#!/usr/bin/env bash
# Runs every notebook, unmodified, in the real .NET Interactive as well: headless through dotnet-repl, and through
# Jupyter (nbclient) with the .net-csharp kernel of Microsoft.dotnet-interactive. Fails on any error output.
#   environment/run-notebooks-elsewhere.sh [--preset P] [NOTEBOOK...]     (default: tiny, notebooks/*.ipynb)
# Needs the tools pinned in .config/dotnet-tools.json (restored here), the Release build (./mmeureka builds it),
# and for the Jupyter half Debian's jupyter-client, jupyter-core and python3-nbclient (environment/setup.sh --ci).
# Executed copies go to runs/notebooks-repl/ and runs/notebooks-jupyter/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
preset=tiny
if [ "${1:-}" = "--preset" ]; then preset="$2"; shift 2; fi
if [ $# -gt 0 ]; then nbs=("$@"); else shopt -s nullglob; nbs=(notebooks/*.ipynb); shopt -u nullglob; fi
[ ${#nbs[@]} -gt 0 ] || { echo "no notebooks"; exit 0; }
export MMEUREKA_PRESET="$preset" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet tool restore >/dev/null
# The notebooks #r the Release build; the launcher builds it when missing or stale.
./mmeureka --version >/dev/null

# Error outputs of an executed notebook, one line each (none: prints nothing).
errors_of() {
  /usr/bin/python3 - "$1" <<'EOF'
import json, sys
nb = json.load(open(sys.argv[1], encoding="utf-8"))
for i, cell in enumerate(nb["cells"], 1):
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            print(f"cell {i}: {o.get('ename')}: {str(o.get('evalue'))[:400]}")
EOF
}

failed=0
mkdir -p runs/notebooks-repl runs/notebooks-jupyter
for nb in "${nbs[@]}"; do
  name="$(basename "$nb")"
  dir="$(cd "$(dirname "$nb")" && pwd)"
  out="$root/runs/notebooks-repl/$name"
  start=$SECONDS
  # The notebook's folder is the working directory, as in VS Code, so that its relative #r paths resolve.
  rc=0
  (cd "$dir" && dotnet tool run dotnet-repl --run "$dir/$name" --exit-after-run --output-path "$out" \
      > "$root/runs/notebooks-repl/$name.log" 2>&1) || rc=$?
  if [ $rc != 0 ] || [ ! -f "$out" ]; then
    echo "FAIL dotnet-repl $nb: exit code $rc (log: runs/notebooks-repl/$name.log)"; failed=1; continue
  fi
  errs="$(errors_of "$out")"
  if [ -n "$errs" ]; then echo "FAIL dotnet-repl $nb:"; echo "$errs" | sed 's/^/  /'; failed=1
  else echo "ok   dotnet-repl $nb ($((SECONDS - start)) s)"; fi
done

if /usr/bin/python3 -c "import nbclient" 2>/dev/null && command -v jupyter >/dev/null; then
  # Registers the .net-csharp kernel (its kernelspec runs `dotnet interactive`, found through the tool manifest
  # because the kernel starts in the notebook's folder, inside this repository).
  if ! jupyter kernelspec list 2>/dev/null | grep -q '^ *\.net-csharp '; then
    dotnet tool run dotnet-interactive jupyter install >/dev/null
  fi
  for nb in "${nbs[@]}"; do
    name="$(basename "$nb")"
    start=$SECONDS
    if /usr/bin/python3 - "$nb" "$root/runs/notebooks-jupyter/$name" <<'EOF'
import sys, os, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
src, dst = sys.argv[1], sys.argv[2]
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, kernel_name=".net-csharp", timeout=None, startup_timeout=600,
                        resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
try:
    # The kernel's own log (its web host's start-up lines) goes to a file beside the executed copy.
    with open(dst + ".log", "w") as log:
        client.execute(stdout=log, stderr=log)
except CellExecutionError as e:
    print(str(e).splitlines()[-1][:400] if str(e) else "cell failed")
finally:
    nbformat.write(nb, dst)
errors = [f"cell {i}: {o.get('ename')}: {str(o.get('evalue'))[:400]}"
          for i, c in enumerate(nb.cells, 1) for o in c.get("outputs", []) if o.get("output_type") == "error"]
for e in errors: print("  " + e)
sys.exit(1 if errors else 0)
EOF
    then echo "ok   jupyter .net-csharp $nb ($((SECONDS - start)) s)"
    else echo "FAIL jupyter .net-csharp $nb (runs/notebooks-jupyter/$name)"; failed=1; fi
  done
else
  echo "skipped: Jupyter (.net-csharp kernel) run needs jupyter-client, jupyter-core and python3-nbclient (environment/setup.sh --ci)"
fi
exit $failed
