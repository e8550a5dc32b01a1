#!/usr/bin/env bash
# Packs the GPU bench into a self-contained kit for a machine with no Node and no network
# (the project's GPU machine): Node itself (xz), one esbuild bundle of bench/resnet.ts with
# tfjs and our code inside, Dawn's linux-x64 binary from the `webgpu` package, the Vulkan
# loader (libvulkan1 .deb, unpacked there into the kit, not into /), the PyTorch peer
# bench/torch_resnet.py, and kit-run.sh. Must stay under 64 MiB.
#
#   bash scripts/gpu-pack.sh [KIT_DIR]          # default .gpu-kit (git-ignored)
#   bash .gpu-kit/run.sh [CONFIGS] [-- bench args]   # on the GPU machine (or here, on llvmpipe)
#
# CONFIGS: comma list of size:batch (default 112:8,112:32,112:64). When python3 can import
# torch with a CUDA card, run.sh also runs the PyTorch peer on the same configs and prints
# both side by side. docs/ml-runtime.md ("GPU bench kit") has the details.
set -euo pipefail
cd "$(dirname "$0")/.."
kit=${1:-.gpu-kit}
case "$kit" in /*) ;; *) grep -qx "/$kit/" .git/info/exclude 2>/dev/null || echo "/$kit/" >> "$(git rev-parse --git-common-dir)/info/exclude" ;; esac
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "gpu-pack: node_modules/webgpu is missing: run npm install" >&2; exit 2; }
rm -rf "$kit"
mkdir -p "$kit/node_modules/webgpu/dist/linux-x64" "$kit/debs"
# Dawn's binding, and the package.json files our backend choice resolves (versions, presence).
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$kit/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$kit/node_modules/webgpu/dist/linux-x64/"
for p in @tensorflow/tfjs-backend-webgpu @tensorflow/tfjs-core @tensorflow/tfjs @tensorflow/tfjs-backend-wasm; do
  mkdir -p "$kit/node_modules/$p" && node -e 'const p=require(process.argv[1]);require("fs").writeFileSync(process.argv[2],JSON.stringify({name:p.name,version:p.version}))' "$PWD/node_modules/$p/package.json" "$kit/node_modules/$p/package.json"
done
# One ESM bundle; `webgpu` stays external (its index.js loads dawn.node beside it).
npx --no-install esbuild bench/resnet.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile="$kit/bench.mjs" --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --log-level=error --banner:js="import { createRequire as __dagRequire } from 'module'; const require = __dagRequire(import.meta.url);"
xz -T0 -6 -c "$(command -v node)" > "$kit/node.xz"
# The Vulkan loader for amd64 (the GPU driver itself comes with the machine).
lists=$(mktemp -d)
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
mkdir -p "$lists/partial"
apt-get $o update -qq >/dev/null 2>&1 || true
(cd "$kit/debs" && apt-get $o download libvulkan1 >/dev/null 2>&1) || { echo "gpu-pack: could not download libvulkan1 (apt)" >&2; exit 1; }
rm -rf "$lists"
cp scripts/gpu-kit-run.sh "$kit/run.sh"
cp bench/torch_resnet.py "$kit/"
size=$(du -sm "$kit" | cut -f1)
echo "gpu-pack: $kit is ${size} MiB ($(ls "$kit" | tr '\n' ' '))"
[ "$size" -lt 64 ] || { echo "gpu-pack: over the 64 MiB limit" >&2; exit 1; }
