#!/usr/bin/env bash
# Makes TorchSharp 0.107 load on systems whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04), without touching
# the system or the NuGet cache: restores the twin's packages (libtorch-cpu-linux-x64 2.10.0, about 600 MB), then
# writes a private copy of libLibTorchSharp.so to artifacts/torchsharp-native/ in which
#   - the requirement of symbol version GLIBCXX_3.4.32 is weak (weak_version.py), and
#   - a one-function library (ios_base_library_init.cpp, built here with g++) is linked in (patchelf --add-needed)
#     to provide std::ios_base_library_init(), the only GCC 13 symbol the library uses.
# LibTorch.cs loads this copy when the stock one does not load. On a system with GCC 13's libstdc++ it does nothing.
# Usage: bash src/MMEureka.TorchSharp/Native/prepare.sh   (or: bash environment/setup.sh --torchsharp)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$root/artifacts/torchsharp-native"
version=0.107.0
need=GLIBCXX_3.4.32

# awk reads all of ldconfig's output (an early exit would kill ldconfig with SIGPIPE, fatal under pipefail).
libstdcxx="$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found {print $NF; found = 1}')"
if [ -n "$libstdcxx" ] && grep -qa "$need" "$libstdcxx"; then
  echo "torchsharp: $libstdcxx has $need; TorchSharp loads as shipped, nothing to prepare"
  exit 0
fi
echo "torchsharp: ${libstdcxx:-libstdc++.so.6} lacks $need (GCC 13); preparing a private copy of libLibTorchSharp.so in $out"

missing=()
command -v patchelf >/dev/null || missing+=(patchelf)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" != 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
stock="$packages/torchsharp/$version/runtimes/linux-x64/native/libLibTorchSharp.so"
if [ ! -f "$stock" ]; then
  echo "torchsharp: restoring src/MMEureka.TorchSharp (TorchSharp $version + libtorch-cpu-linux-x64 2.10.0, about 600 MB)"
  dotnet restore "$root/src/MMEureka.TorchSharp" -v q
fi
[ -f "$stock" ] || { echo "torchsharp: $stock not found after restore" >&2; exit 1; }

tmp="$(mktemp -d "$root/artifacts/torchsharp-native.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$root/artifacts"; mktemp -d "$root/artifacts/torchsharp-native.tmp.XXXXXX"; })"
trap 'rm -rf "$tmp"' EXIT
g++ -shared -fPIC -O2 -o "$tmp/libmmeureka_glibcxx_shim.so" "$here/ios_base_library_init.cpp"
cp "$stock" "$tmp/libLibTorchSharp.so"
chmod u+w "$tmp/libLibTorchSharp.so"
/usr/bin/env python3 "$here/weak_version.py" "$tmp/libLibTorchSharp.so" "$need"
# libtorch itself is loaded first by LibTorch.cs (from the app's own copy), so the copy only needs its shim beside it.
patchelf --add-needed libmmeureka_glibcxx_shim.so --set-rpath '$ORIGIN' "$tmp/libLibTorchSharp.so"
echo "TorchSharp $version, from $stock, prepared $(date -u +%FT%TZ)" > "$tmp/SOURCE"
chmod 755 "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "torchsharp: ready: $out/libLibTorchSharp.so (check: dotnet artifacts/bin/MMEureka.TorchSharp/release/MMEureka.TorchSharp.dll status)"
