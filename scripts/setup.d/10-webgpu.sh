# WebGPU on a machine without a GPU: Dawn (the `webgpu` npm package) needs a Vulkan driver. Debian 12's
# own Mesa (22.3) is too old for Dawn; Mesa 25 from bookworm-backports gives it the software `llvmpipe`
# adapter, on which the WebGPU kernels and a small `DAG_BACKEND=webgpu` run are tested.
# (Sourced by scripts/setup.sh, which provides apt_install.)
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list
  apt_updated=0
fi
apt_install libvulkan1
if ! dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q bpo; then
  [ "$apt_updated" = 1 ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
