#!/usr/bin/env bash
# System packages the tests use as real readers and peers of our files: FFmpeg, headless Blender, mono and
# NUnit (Unity's engine-free C#), gRPC C++ (the Unreal client core), the Khronos glTF Validator, three.js and three-vrm (npm).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg blender python3-numpy mono-mcs libnunit-cil-dev nunit-console
              libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc cmake g++ libgtest-dev
              pkg-config openssl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# three.js: its BVHLoader and GLTFLoader read our files as web viewers do (tests/tools/three_import.mjs); pixiv's
# three-vrm plays our .vrma on VRM avatars (tests/tools/vrm_play.mjs).
if [ ! -f build/node/node_modules/gltf-validator/package.json ] || [ ! -f build/node/node_modules/three/package.json ] \
    || [ ! -f build/node/node_modules/@pixiv/three-vrm-animation/package.json ]; then
  mkdir -p build/node
  npm install --silent --no-audit --no-fund --prefix build/node gltf-validator@2.0.0-dev.3.10 three@0.160.0 \
    @pixiv/three-vrm@3.5.5 @pixiv/three-vrm-animation@3.5.5
fi
