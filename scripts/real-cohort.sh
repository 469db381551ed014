#!/usr/bin/env bash
# Builds a development cohort from REAL human sequence: a "human" reference cut from reference
# pieces that Debian bookworm packages ship as test or example data and from a PyPI wheel that
# caches GRCh38 chrY, and a `genosift simulate --genome human=…` cohort on it (12 train / 6 valid /
# 6 test individuals, each with its own SNPs, and the test split's karyotype specials; 150-bp and
# long reads, sorted BAM/CRAM for the test individuals). Nothing of it is committed: the packages
# are fetched with apt-get and pip from the registries, checked against the sha256 sums below, and
# cut by scripts/real-cohort.py (provenance of every record in OUT_DIR/base/pieces.tsv, shares in
# OUT_DIR/base/shares.txt).
#
# Sources (package=version: file → pieces; licence of the package, from its debian/copyright or
# its wheel's metadata; the sequences themselves are public reference assemblies — NCBI, GRC,
# UCSC, Ensembl):
#   strnaming=1.2.1 (PyPI wheel; LGPL-3.0-or-later; Netherlands Forensic Institute):
#     strnaming/data/refseq-Y-K.txt.gz, 30 pieces of 12,288 bp of GRCh38 chrY (Ensembl sequence
#     cached around Y-STR loci; piece K is chrY K*12,288+1 - (K+1)*12,288) between 3.26 and 23.79 Mb:
#     male-specific euchromatic Y, X-degenerate (AMELY, TBL1Y, USP9Y introns), X-transposed
#     (3.26-4.41 Mb, ~99% identical to Xq21, which is not among the X pieces) and ampliconic
#     parts → chrY_START_END (368,640 bp). With Y=euchromatic (the default) or both.
#   neobio=0.0.20030929-6 (GPL-2+; debian/ GPL-3): /usr/lib/neobio/data/human_chromosome_y.txt,
#     NCBI contig NT_025975.2 "Homo sapiens chromosome Y genomic contig", 98,295 bp, no N: Yq12
#     heterochromatin near PAR2, largely DYZ1/DYZ2 satellite → chrY_NT_025975. With Y=satellite
#     (the cohort of BENCHMARKS.md's first real-sequence figures) or both.
#   cnvkit=0.9.9-2+b1 (Apache-2.0): …/examples/test/formats/chrM-Y-trunc.hg19.fa, record chrY:
#     its bases 501–14,900 are hg19 chrY 10,001–24,400, the start of PAR1 → chrY_PAR1_10001_24400
#     (checked identical to chrX 60,001–74,400; not male-specific).
#   smalt-examples=0.7.6-12 (GPL-3): /usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz, GRCh37
#     chrX 1–69,999,930 → chrX_PAR1_* (60,001–1,060,000, split at its assembly gaps) and ±50-kb
#     windows around the X gametologs PRKX, NLGN4X, TBL1X, AMELX, EIF1AX, ZFX, USP9X+DDX3X, KDM6A,
#     KDM5C (3.2 Mb of X in all).
#   vt-examples=0.57721+ds-3 (MIT): /usr/share/doc/vt/examples/ref/20.fa.gz, GRCh37 chr20 →
#     chr20 30,000,001–60,000,000 (37,000,000 with Y=satellite), split at its assembly gaps.
#   hisat2=2.2.1-4+b2 (GPL-3+): …/examples/reference/22_20-21M.fa, GRCh37 chr22 20–21 Mb (two
#     records either side of its 100-kb gap).
#   augustus-doc=3.5.0+dfsg-2 (Artistic; debian/ GPL-3+): …/tutorial-cgp/data/genomes/hg38.fa,
#     hg38 chr16:186,964–397,118.
#   ngmlr=0.2.7+git20210816.a2a31fb+dfsg-2+b1 (Expat): …/examples/data/test_1/ref_chr6_140kb.fa,
#     hs37d5 chr6 near 112.6 Mb (139,652 bp).
# Measured (seed 1, Y=euchromatic): 31.2 Mb autosomal, 3.2 Mb X, 383 kb Y (368,640 male-specific,
# 14,400 PAR) per haploid set; male-specific Y 0.558% of a male diploid genome (0.580% with the
# PAR piece, the y_share_male of species.tsv); about 35 s on 2 cores; OUT_DIR holds 128 MB of
# .debs, 10 MB of wheel, 48 MB extracted, 34 MB base, 2.0 GB cohort. (Y=satellite: 7 Mb of chr20,
# male-specific Y 0.50%, 552 MB cohort.)
#
# What it is NOT: a stand-in for a real human genome. The euchromatic Y is 30 pieces of 12 kb
# (about 1.5% of GRCh38's assembled male-specific Y), without SRY, ZFY, DDX3Y, UTY, KDM5D or
# EIF1AY; the X is over-represented (X/autosome 10% per haploid set, real 5.4%) and mostly
# gametolog windows, so X reads, and with them X–Y gametolog confusion, are more frequent than in
# a real genome, while the Xq21 copy of the X-transposed Y pieces is missing (they look unique
# here). Use it to train and measure on real sequence, not to quote a real genome's accuracy.
#
# Usage: scripts/real-cohort.sh [OUT_DIR]     (default: /tmp/genosift-real)
# Environment: Y (the male-specific Y: euchromatic, the default; satellite; or both), SEED (cohort
# seed, default 1), SHORT_READS (default 20000), LONG_READS (default 20), GENOSIFT (a genosift
# binary to use instead of building target/release/genosift).
# Each step is skipped when its output exists (debs/*.deb, wheels/*.whl, pkgs/PKG, base/human.fa,
# cohort/samples.tsv); delete an output to redo its step (a base cut with another Y is refused).
# Needs apt-get (Debian bookworm sources, amd64 or an amd64 foreign architecture), dpkg-deb,
# sha256sum, python3 (>= 3.11) and pip.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/genosift-real}
seed=${SEED:-1}
short_reads=${SHORT_READS:-20000}
long_reads=${LONG_READS:-20}
y_set=${Y:-euchromatic}
case $y_set in
  euchromatic | satellite | both) ;;
  *) echo "error: Y=$y_set: expected euchromatic, satellite or both" >&2; exit 1 ;;
esac
start=$SECONDS

# package version architecture sha256 (of the .deb) file-we-need
packages=(
  "neobio 0.0.20030929-6 all 40a811f0aa4c4e3ce25b3a1b3deeaab2183a7bed8d4c52f3721dd9800ab88eec usr/lib/neobio/data/human_chromosome_y.txt"
  "cnvkit 0.9.9-2+b1 amd64 b773bb7977d6fc9462b53b684aa74b7bd980387e48df07461a504d12742fcda0 usr/share/doc/cnvkit/examples/test/formats/chrM-Y-trunc.hg19.fa"
  "smalt-examples 0.7.6-12 all ffb01b7ff91cd29bd45c980cdeea90d986146dd2e907fd9e365d3a8fa75b0751 usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz"
  "vt-examples 0.57721+ds-3 all 277c0ef50f4cda40f2dd837f90b6d837155ecd5b8889797683fe63375b017b56 usr/share/doc/vt/examples/ref/20.fa.gz"
  "hisat2 2.2.1-4+b2 amd64 350a7f690242019f023a74aad71983563b1381a72fe4eff24e9dabdb509dfb17 usr/share/doc/hisat2/examples/reference/22_20-21M.fa"
  "augustus-doc 3.5.0+dfsg-2 all 8427ef32b4f345dc336066215390572f242c79818bcb6a709df87b4be43fc71b usr/share/doc/augustus/tutorial-cgp/data/genomes/hg38.fa"
  "ngmlr 0.2.7+git20210816.a2a31fb+dfsg-2+b1 amd64 6591675d443c2efd8b0c8daae9583270e86ea6f5ff345ac895169b3575670104 usr/share/doc/ngmlr/examples/data/test_1/ref_chr6_140kb.fa"
)

# 1. Download (cached in OUT_DIR/debs), verify and extract (OUT_DIR/pkgs/PKG) each package.
mkdir -p "$out/debs" "$out/pkgs"
for p in "${packages[@]}"; do
  read -r name version arch sum file <<<"$p"
  deb="$out/debs/${name}_${version}_${arch}.deb"
  if [ ! -f "$deb" ]; then
    if ! (cd "$out/debs" && apt-get download -q "$name:$arch=$version"); then
      echo "error: cannot download $name:$arch=$version from the package registry" \
        "(Debian bookworm sources? apt-get update?)" >&2
      exit 1
    fi
    [ -f "$deb" ] || {
      echo "error: apt-get download $name:$arch=$version wrote no $deb" >&2
      exit 1
    }
  fi
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    echo "error: $deb: sha256 $got, expected $sum" \
      "(not the pinned build of $name=$version; delete it to download again)" >&2
    exit 1
  fi
  # Only the file we need and the package's copyright are kept.
  if [ ! -f "$out/pkgs/$name/$file" ]; then
    tmp="$out/pkgs/$name.partial"
    rm -rf "$out/pkgs/$name" "$tmp"
    mkdir -p "$tmp"
    dpkg-deb -x "$deb" "$tmp/all"
    [ -f "$tmp/all/$file" ] || { echo "error: $deb has no /$file" >&2; exit 1; }
    for f in "$file" "usr/share/doc/$name/copyright"; do
      mkdir -p "$tmp/keep/$(dirname "$f")"
      mv "$tmp/all/$f" "$tmp/keep/$f"
    done
    mv "$tmp/keep" "$out/pkgs/$name"
    rm -rf "$tmp"
  fi
done
echo "packages: ${#packages[@]} verified in $out/debs"

# 1b. The PyPI wheel with euchromatic GRCh38 chrY (cached in OUT_DIR/wheels, kept whole in
#     OUT_DIR/pkgs/strnaming).
wheel=strnaming-1.2.1-py3-none-any.whl
wheel_sum=b031630bdc54fb6273d9a45808451600b504417d5c7e639c8142420ef7ab4744
if [ "$y_set" != satellite ]; then
  mkdir -p "$out/wheels" "$out/pkgs/strnaming"
  if [ ! -f "$out/wheels/$wheel" ]; then
    python3 -m pip download -q --no-deps --only-binary :all: strnaming==1.2.1 -d "$out/wheels" ||
      { echo "error: cannot download strnaming==1.2.1 from PyPI" >&2; exit 1; }
  fi
  got=$(sha256sum "$out/wheels/$wheel" | cut -d' ' -f1)
  if [ "$got" != "$wheel_sum" ]; then
    echo "error: $out/wheels/$wheel: sha256 $got, expected $wheel_sum (delete it to download again)" >&2
    exit 1
  fi
  cp "$out/wheels/$wheel" "$out/pkgs/strnaming/$wheel"
  echo "wheel: $wheel verified"
fi

# 2. Cut the pieces: OUT_DIR/base/human.fa, pieces.tsv, shares.txt.
if [ -f "$out/base/human.fa" ] && ! grep -qx "male-specific Y: $y_set" "$out/base/shares.txt"; then
  echo "error: $out/base was cut with another Y ($(head -n 1 "$out/base/shares.txt")):" \
    "use another OUT_DIR, or delete $out/base and $out/cohort" >&2
  exit 1
fi
if [ -f "$out/base/human.fa" ]; then
  echo "base: $out/base/human.fa exists (delete it to cut again)"
  cat "$out/base/shares.txt"
else
  python3 scripts/real-cohort.py "$out/pkgs" "$out/base" "$y_set"
fi

# 3. The cohort.
if [ -f "$out/cohort/samples.tsv" ]; then
  echo "cohort: $out/cohort/samples.tsv exists (delete it to simulate again)"
else
  if [ -n "${GENOSIFT:-}" ]; then
    g=$GENOSIFT
  else
    cargo build --release --quiet
    g=target/release/genosift
  fi
  "$g" simulate --genome human="$out/base/human.fa" --out "$out/cohort" --seed "$seed" \
    --short-reads "$short_reads" --long-reads "$long_reads"
fi
echo "cohort: $(($(wc -l <"$out/cohort/samples.tsv") - 1)) individuals in $out/cohort/samples.tsv"
cat "$out/cohort/species.tsv"
du -sh "$out/debs" "$out/pkgs" "$out/base" "$out/cohort"
echo "done in $((SECONDS - start)) s"
