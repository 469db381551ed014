#!/usr/bin/env bash
# Static genosift (musl) in a FROM-scratch OCI image, built with podman.
#
#   containers/build-static.sh                 # image genosift/genosift:<version>-static
#   IMAGE=registry.example.org/genosift:static containers/build-static.sh
#   podman run --rm -v "$PWD:/data:Z" -w /data genosift/genosift:0.1.0-static \
#       predict -m MODEL_DIR reads.fastq.gz -o calls.tsv
#
# Needs: rustup, podman, and the musl target (`rustup target add x86_64-unknown-linux-musl`, done
# below; it downloads the target's standard library, so this is not run in CI, which cannot fetch
# it). genosift's dependencies are pure Rust, so no musl C toolchain is needed; if one ever is,
# `apt-get install musl-tools`.
#
# What the image is and is not:
#   - one file, /genosift, plus the image metadata: no shell, no samtools, no /tmp. Pipe
#     alignments in from the host: samtools fastq -F 0x900 x.bam | podman run -i --rm ... predict -m /data/MODEL -
#   - not for Nextflow or Snakemake, which run their commands with bash inside the container:
#     use containers/Dockerfile (Debian slim, with samtools) for workflows.
#   - the entrypoint is genosift, so arguments start at the subcommand.
#   - musl's allocator is slower than glibc's under many threads; for large runs prefer the
#     Debian image or a native build.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${TARGET:-x86_64-unknown-linux-musl}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
IMAGE=${IMAGE:-genosift/genosift:${VERSION}-static}

rustup target add "$TARGET"
cargo build --release --locked --target "$TARGET"
bin=target/$TARGET/release/genosift

# Static: no dynamic section entries naming shared libraries.
if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
    echo "error: $bin links shared libraries:" >&2
    readelf -d "$bin" | grep NEEDED >&2
    exit 1
fi
"$bin" --version

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$bin" "$context/genosift"
cat > "$context/Containerfile" <<CONTAINERFILE
FROM scratch
COPY genosift /genosift
USER 10001:10001
WORKDIR /data
LABEL org.opencontainers.image.title="genosift" \\
      org.opencontainers.image.description="genosift ${VERSION}, static musl build" \\
      org.opencontainers.image.licenses="MIT"
ENTRYPOINT ["/genosift"]
CMD ["--help"]
CONTAINERFILE
podman build --tag "$IMAGE" "$context"
podman run --rm "$IMAGE" --version
echo "built $IMAGE"
