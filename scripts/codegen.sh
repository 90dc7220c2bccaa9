#!/usr/bin/env bash
# Regenerates every language's code from protos/ (the one source of truth for the wire contract).
#   scripts/codegen.sh          write into the tree
#   scripts/codegen.sh OUTDIR   write into OUTDIR instead (tests diff it against the committed files)
# Python uses grpcio-tools' bundled protoc (matches the protobuf runtime pip installs); C# and C++ use
# Debian's protoc 3.21 and grpc_cpp_plugin (match libprotobuf-dev / libgrpc++-dev and Google.Protobuf >= 3.21).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-.}
PROTOS=(protos/animgen/v1/clip.proto protos/animgen/v1/service.proto)
PYTHON=${PYTHON:-python}

# --- Python: server/animgen/v1 (import package animgen.v1) ---
py_out="$ROOT/server"
mkdir -p "$py_out/animgen/v1"
"$PYTHON" -m grpc_tools.protoc -Iprotos --python_out="$py_out" --pyi_out="$py_out" \
  --grpc_python_out="$py_out" "${PROTOS[@]}"

# --- C#: unity_package/Editor/Generated (messages by protoc, client stubs by our own generator) ---
if [ -d unity_package ]; then
  cs_out="$ROOT/unity_package/Editor/Generated"
  mkdir -p "$cs_out"
  protoc -Iprotos --csharp_out="$cs_out" --csharp_opt=internal_access "${PROTOS[@]}"
  "$PYTHON" scripts/gen_csharp_client.py "$cs_out"
fi

# --- C++: unreal_plugin/Source/AnimGenClientCore/Generated ---
if [ -d unreal_plugin ]; then
  cpp_out="$ROOT/unreal_plugin/Source/AnimGenClientCore/Generated"
  mkdir -p "$cpp_out"
  protoc -Iprotos --cpp_out="$cpp_out" --grpc_out="$cpp_out" \
    --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" "${PROTOS[@]}"
fi
