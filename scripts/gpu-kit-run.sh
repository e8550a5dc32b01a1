#!/usr/bin/env bash
# Runs the GPU bench kit made by scripts/gpu-pack.sh (copied into the kit as run.sh).
#   bash run.sh [CONFIGS] [-- extra bench/resnet.ts args]
# CONFIGS: size:batch[,size:batch...] (default 112:8,112:32,112:64); VARIANT=resnet50.
# Prints tfjs-webgpu's figures, then PyTorch's on the same card when python3 has torch
# with CUDA, then both side by side. Logs go to $OUT (or /tmp) as bench.log / torch.log.
set -uo pipefail
kit=$(cd "$(dirname "$0")" && pwd)
configs=${1:-112:8,112:32,112:64}
shift || true
[ "${1:-}" = "--" ] && shift
out=${OUT:-/tmp}
# The Vulkan loader, unpacked into the kit (no root, nothing written to /).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  mkdir -p "$kit/vulkan"
  for f in "$kit"/debs/*.deb; do dpkg-deb -x "$f" "$kit/vulkan" 2>/dev/null || (cd "$kit/vulkan" && ar p "$f" data.tar.xz | tar -xJ); done
  export LD_LIBRARY_PATH="$kit/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA containers often keep the driver's Vulkan manifest outside the loader's search path.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json; do
    [ -f "$f" ] && ! ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json >/dev/null 2>&1 && export VK_DRIVER_FILES=$f && break
  done
fi
node=$kit/node
[ -x "$node" ] || { xz -dc "$kit/node.xz" > "$node.tmp" && chmod +x "$node.tmp" && mv "$node.tmp" "$node"; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} DAG_WEBGPU_CACHE_DIR=${DAG_WEBGPU_CACHE_DIR:-/tmp/dag-webgpu-kit}
: > "$out/bench.log"
for c in ${configs//,/ }; do
  "$node" "$kit/bench.mjs" --backend "${BACKEND:-webgpu}" --variant "${VARIANT:-resnet50}" --size "${c%%:*}" --batch "${c##*:}" --no-kernels "$@" 2>&1 \
    | grep -v -e '^Warning: max' -e '^ *at ' | tee -a "$out/bench.log"
done
: > "$out/torch.log"
if command -v python3 >/dev/null && python3 -c 'import torch, torchvision, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  PYTHONUNBUFFERED=1 python3 "$kit/torch_resnet.py" --configs "$configs" --variant "${VARIANT:-resnet50}" 2>&1 | tee "$out/torch.log"
else
  echo "(no PyTorch with CUDA here: tfjs-webgpu figures only)"
fi
echo
echo "side by side (images/s; 'summary' lines of both logs):"
awk '/^summary /{k=""; for(i=2;i<=NF;i++){split($i,a,"="); v[a[1]]=a[2]} key=v["variant"] "@" v["size"] " b" v["batch"]; if(v["backend"]=="torch"){ti[key]=v["infer_ips"]; tt[key]=v["train_ips"]} else {wi[key]=v["infer_ips"]; wt[key]=v["train_ips"]; wd[key]=v["dispatches"]; if(!(key in seen)){order[++n]=key; seen[key]=1}} delete v}
  END{printf "%-22s %14s %14s %14s %14s %12s\n","config","webgpu infer","torch infer","webgpu train","torch train","dispatches"; for(i=1;i<=n;i++){k=order[i]; printf "%-22s %14s %14s %14s %14s %12s\n",k,wi[k],(k in ti?ti[k]:"-"),wt[k],(k in tt?tt[k]:"-"),wd[k]}}' "$out/bench.log" "$out/torch.log"
