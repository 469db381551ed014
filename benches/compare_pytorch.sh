#!/usr/bin/env bash
# genosift's CPU backbone against PyTorch on one batch of 16 real-read chunks (≈ 460 tokens each)
# through a random GENA-LM-base checkpoint, PyTorch in the modes a user would pick (float32 with the
# attention written out and with SDPA, bfloat16 with SDPA, autocast bfloat16): tokens/s of each,
# the CPU model and flags, their ratios, and the largest
# relative difference of the [CLS] vectors (details: benches/compare_pytorch.py).
#
# Needs PyPI (torch is large: the Linux wheel pulls NVIDIA runtime packages, several GB) the first
# time; the virtual environment is kept in $GENOSIFT_TORCH_VENV (default
# ~/.cache/genosift-torch-venv). Not part of CI.
#
# Usage: benches/compare_pytorch.sh [THREADS] [ROUNDS] [--burn]   (defaults 2 and 3; --burn also
# times genosift on burn's Flex backend, GENOSIFT_CPU_KERNEL=burn, in the same rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
rounds=${2:-3}
venv=${GENOSIFT_TORCH_VENV:-$HOME/.cache/genosift-torch-venv}
if ! "$venv/bin/python" -c 'import torch, numpy, safetensors, tokenizers' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch numpy safetensors tokenizers
fi
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" benches/compare_pytorch.py --genosift "${CARGO_TARGET_DIR:-target}/release/genosift" --work "$work" \
  --threads "$threads" --rounds "$rounds" "${@:3}"
