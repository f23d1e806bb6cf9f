#!/usr/bin/env bash
# Optional OS packages, idempotent. Nothing here is needed to build; they add speed and peers:
#   libopenblas0-pthread  OpenBLAS backend for matrix products (MMEUREKA_BLAS=openblas)
#   python3-nbformat      validates executed notebooks
#   jupyter-client, jupyter-core, python3-nbclient   run the notebooks in Jupyter with the .net-csharp kernel (CI)
#   python3-torch         PyTorch 1.13 CPU for parity checks and side-by-side benchmarks (skipped with --ci)
#   chromium              renders charts in headless screenshots (skipped with --ci)
set -euo pipefail
# Separate, opt-in step: bash environment/setup.sh --torchsharp (does only this). TorchSharp 0.107's native library
# needs GCC 13's libstdc++ (GLIBCXX_3.4.32) for one symbol; on Debian 12 / Ubuntu 22.04 this restores the twin
# (libtorch, about 600 MB) and prepares a patched private copy in artifacts/torchsharp-native/ (patchelf, g++) rather
# than asking users to upgrade the system's C++ runtime. Nothing else in the project needs it.
if [ "${1:-}" = "--torchsharp" ]; then exec bash "$(dirname "$0")/../src/MMEureka.TorchSharp/Native/prepare.sh"; fi
ci=0; [ "${1:-}" = "--ci" ] && ci=1
pkgs=(libopenblas0-pthread python3-nbformat jupyter-client jupyter-core python3-nbclient python3-jupyter-kernel-test)
[ $ci = 0 ] && pkgs+=(python3-torch python3-numpy chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" != 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
# Offline plotly.js for the notebook reports and chart pictures (without it reports load plotly.js from the CDN).
here="$(cd "$(dirname "$0")" && pwd)"
if [ -d "$here/node_modules/plotly.js-dist-min" ]; then :
elif command -v npm >/dev/null; then npm install --prefix "$here" --no-audit --no-fund --silent
else echo "npm not found: notebook reports will load plotly.js from the CDN"; fi
echo "environment: ${pkgs[*]} present"
