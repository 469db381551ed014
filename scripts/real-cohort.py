#!/usr/bin/env python3
"""Cuts the real human pieces of the development cohort out of the extracted Debian packages.

Called by scripts/real-cohort.sh (see its header for what this builds and what it is not):

    scripts/real-cohort.py PKGS_DIR BASE_DIR Y_SET

PKGS_DIR holds one `dpkg-deb -x` tree per Debian package (PKGS_DIR/<package>/usr/...) and the
strnaming wheel (PKGS_DIR/strnaming/STRNAMING_WHEEL). Y_SET is the male-specific Y of the cohort:
`euchromatic` (the 30 GRCh38 pieces of the strnaming wheel), `satellite` (the Yq12 contig of
neobio) or `both`. Writes
BASE_DIR/human.fa (autosomes, then chrX, then chrY records; upper case, 80 columns),
BASE_DIR/pieces.tsv (provenance of every record) and BASE_DIR/shares.txt (the Y and X shares,
also printed). Every piece is cut at its source coordinates (1-based, inclusive), upper-cased,
split at runs of >= 100 N (assembly gaps: reads are not drawn from them), trimmed of leading and
trailing N, and sub-pieces under 1 kb are dropped; a record's name carries the source coordinates
of what it holds. Records named chrX... are X, chrY... are Y, the others autosomes (the rule of
`genosift simulate --genome`). Standard library only (Python 3.11).
"""

import gzip
import os
import re
import sys
import zipfile

MIN_GAP = 100  # N runs at least this long split a piece
MIN_PIECE = 1_000  # sub-pieces shorter than this are dropped
WIDEN = 50_000  # bp added on each side of an X gametolog window

# The PyPI wheel with euchromatic GRCh38 chrY: strnaming (Netherlands Forensic Institute,
# LGPL-3.0-or-later), a forensic STR naming tool that caches Ensembl's GRCh38 sequence around its
# STR loci as strnaming/data/refseq-Y-K.txt.gz: one line of 12,288 bases, chrY
# K*12,288+1 - (K+1)*12,288 (its refseq_cache.py; checked against the package's own repeat map of
# chrY, reference-structures-Y.bin.gz, and published Y-STR and amelogenin primers).
STRNAMING_WHEEL = "strnaming-1.2.1-py3-none-any.whl"
STRNAMING_PIECE = 12_288
STRNAMING_PIECES = 30

# package=version and the file each source comes from (paths inside the package).
SOURCES = {
    "neobio": ("neobio=0.0.20030929-6", "usr/lib/neobio/data/human_chromosome_y.txt"),
    "cnvkit": (
        "cnvkit=0.9.9-2+b1",
        "usr/share/doc/cnvkit/examples/test/formats/chrM-Y-trunc.hg19.fa",
    ),
    "smalt-examples": (
        "smalt-examples=0.7.6-12",
        "usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz",
    ),
    "vt-examples": ("vt-examples=0.57721+ds-3", "usr/share/doc/vt/examples/ref/20.fa.gz"),
    "hisat2": ("hisat2=2.2.1-4+b2", "usr/share/doc/hisat2/examples/reference/22_20-21M.fa"),
    "augustus-doc": (
        "augustus-doc=3.5.0+dfsg-2",
        "usr/share/doc/augustus/tutorial-cgp/data/genomes/hg38.fa",
    ),
    "ngmlr": (
        "ngmlr=0.2.7+git20210816.a2a31fb+dfsg-2+b1",
        "usr/share/doc/ngmlr/examples/data/test_1/ref_chr6_140kb.fa",
    ),
}

# Each source record: (package, record id, expected length, chromosome, source coordinate of
# the record's first base, build). A length that differs stops the script.
RECORDS = {
    "Y_contig": (
        "neobio", "gi|13626247|ref|NT_025975.2|HsY_26131", 98_295, "NT_025975.2", 1,
        "NCBI RefSeq contig",
    ),
    # The cnvkit test file's chrY is not hg19 chrY 1-24,316: its base 1 is hg19 chrY 9,501 (the
    # NA12878 BAM beside it, aligned to full hg19, maps its reads there with an offset of exactly
    # 9,500), so 501-14,900 is chrY 10,001-24,400, the start of PAR1; then 700 N, 7,366 bp of
    # other sequence ending in (TTAGGG)n, and 1,350 N.
    "Y_cnvkit": ("cnvkit", "chrY", 24_316, "chrY", 9_501, "hg19"),
    "X": ("smalt-examples", "X", 69_999_930, "chrX", 1, "GRCh37"),
    "chr20": ("vt-examples", "20", 63_025_520, "chr20", 1, "GRCh37"),
    "chr22": ("hisat2", "22:20000001-21000000", 1_000_000, "chr22", 20_000_001, "GRCh37"),
    "chr16": ("augustus-doc", "chr16", 210_155, "chr16", 186_964, "hg38"),
    # The header says 6:112,565,266-112,706,826 (hs37d5), a 141,561-bp span; the record is 1,909 bp
    # shorter, so its coordinates are approximate.
    "chr6": ("ngmlr", "6", 139_652, "chr6", 112_565_266, "hs37d5 (GRCh37)"),
}

# X gametolog windows (GRCh37, 1-based inclusive, before widening by WIDEN on each side).
X_GENES = [
    ("PRKX", 3_520_001, 3_650_000),
    ("NLGN4X", 5_800_001, 6_150_000),
    ("TBL1X", 9_430_001, 9_690_000),
    ("AMELX", 11_300_001, 11_330_000),
    ("EIF1AX", 20_140_001, 20_170_000),
    ("ZFX", 24_160_001, 24_240_000),
    ("USP9X_DDX3X", 40_940_001, 41_210_000),
    ("KDM6A", 44_730_001, 44_980_000),
    ("KDM5C", 53_220_001, 53_260_000),
]

# The pieces after chr20 (whose length depends on the Y: see main), in output order: (name
# prefix, source record, start, end in source coordinates, whether the record's name gets the
# coordinates (otherwise the piece must stay one record), part of the male-specific Y, note).
PIECES = [
    ("chr22", "chr22", 20_000_001, 21_000_000, True, False, ""),
    ("chr16", "chr16", 186_964, 397_118, True, False, "16p13.3"),
    ("chr6_ngmlr_140kb", "chr6", 112_565_266, 112_565_266 + 139_652 - 1, False, False,
     "whole record; header 6:112,565,266-112,706,826 (141,561 bp) but the record is 139,652 bp: "
     "source coordinates approximate"),
    ("chrX_PAR1", "X", 60_001, 1_060_000, True, False, "start of PAR1"),
] + [
    (f"chrX_{gene}", "X", a - WIDEN, b + WIDEN, True, False,
     f"gametolog window ±{WIDEN // 1000} kb")
    for gene, a, b in X_GENES
]
SATELLITE = ("chrY_NT_025975", "Y_contig", 1, 98_295, False, True,
             "Yq12 heterochromatin (DYZ1/DYZ2 satellites)")
Y_PAR = ("chrY_PAR1", "Y_cnvkit", 10_001, 24_400, True, False,
         "PAR1 start; file bases 501-14,900; identical to X up to SNPs (checked)")
Y_SETS = ("euchromatic", "satellite", "both")


def fail(msg):
    sys.exit(f"real-cohort.py: error: {msg}")


def read_fasta(path):
    """{first word of the header: sequence} (headers whose first word repeats: the first wins)."""
    opener = gzip.open if path.endswith(".gz") else open
    recs, name, buf = {}, None, []
    with opener(path, "rt") as f:
        for line in f:
            if line.startswith(">"):
                if name is not None:
                    recs.setdefault(name, "".join(buf))
                name, buf = line[1:].split()[0], []
            else:
                buf.append(line.strip())
    if name is not None:
        recs.setdefault(name, "".join(buf))
    return recs


def split_at_gaps(seq, start):
    """Sub-pieces (source start, sequence) of `seq` (whose first base is at `start`) between runs
    of >= MIN_GAP N, trimmed of N at both ends."""
    out, at = [], 0
    for m in list(re.finditer(f"N{{{MIN_GAP},}}", seq)) + [None]:
        end = m.start() if m else len(seq)
        part = seq[at:end]
        lead = len(part) - len(part.lstrip("N"))
        part = part.strip("N")
        if len(part) >= MIN_PIECE:
            out.append((start + at + lead, part))
        if m:
            at = m.end()
    return out


def strnaming_pieces(pkgs):
    """(record name, sequence, provenance row) of each GRCh38 chrY piece in the strnaming wheel."""
    path = os.path.join(pkgs, "strnaming", STRNAMING_WHEEL)
    if not os.path.exists(path):
        fail(f"{path} missing (is strnaming==1.2.1 downloaded?)")
    out = []
    with zipfile.ZipFile(path) as z:
        names = sorted(
            (int(m.group(1)), n)
            for n in z.namelist()
            if (m := re.fullmatch(r"strnaming/data/refseq-Y-(\d+)\.txt\.gz", n))
        )
        if len(names) != STRNAMING_PIECES:
            fail(f"{path}: {len(names)} chrY pieces, expected {STRNAMING_PIECES}")
        for k, n in names:
            seq = gzip.decompress(z.read(n)).decode("ascii").strip().upper()
            if len(seq) != STRNAMING_PIECE or set(seq) - set("ACGT"):
                fail(f"{path}: {n} is not {STRNAMING_PIECE:,} bases of ACGT")
            s, e = k * STRNAMING_PIECE + 1, (k + 1) * STRNAMING_PIECE
            name = f"chrY_{s}_{e}"
            row = [name, "strnaming==1.2.1 (PyPI)", f"{STRNAMING_WHEEL}:{n}", f"chrY:{s}-{e}",
                   "GRCh38", str(len(seq)), str(len(seq)),
                   "male-specific euchromatic Y (Ensembl sequence cached by strnaming)"]
            out.append((name, seq, row))
    return out


def kind(name):
    return "Y" if name.startswith("chrY") else "X" if name.startswith("chrX") else "A"


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in Y_SETS:
        fail(f"usage: real-cohort.py PKGS_DIR BASE_DIR {'|'.join(Y_SETS)}")
    pkgs, base, y_set = sys.argv[1:]
    # With the 369 kb of euchromatic Y, 30 Mb of chr20 instead of 7 keeps the male-specific Y
    # share near a real male's (0.5%, not 1.9%).
    chr20 = ("chr20", "chr20", 30_000_001, 60_000_000 if y_set != "satellite" else 37_000_000,
             True, False, "")
    pieces = [chr20] + PIECES + ([SATELLITE] if y_set != "euchromatic" else []) + [Y_PAR]
    os.makedirs(base, exist_ok=True)

    cache = {}
    seqs = {}
    for key, (pkg, rid, length, _, _, _) in RECORDS.items():
        path = os.path.join(pkgs, pkg, SOURCES[pkg][1])
        if path not in cache:
            if not os.path.exists(path):
                fail(f"{path} missing (is {SOURCES[pkg][0]} extracted?)")
            cache[path] = read_fasta(path)
        rec = cache[path].get(rid)
        if rec is None:
            fail(f"{path}: no record {rid}")
        if len(rec) != length:
            fail(f"{path}: record {rid} is {len(rec):,} bp, expected {length:,}")
        seqs[key] = rec.upper()
    cache.clear()

    records, rows = [], []
    for prefix, src, a, b, coords, specific, note in pieces:
        pkg, rid, length, chrom, first, build = RECORDS[src]
        seq = seqs[src][a - first : b - first + 1]
        if len(seq) != b - a + 1:
            fail(f"{prefix}: {chrom}:{a}-{b} runs past the end of {rid}")
        n = seq.count("N")
        if prefix.startswith("chrX_") and prefix != "chrX_PAR1" and n > len(seq) // 100:
            fail(f"{prefix}: {chrom}:{a}-{b} is {n:,} N of {len(seq):,} bp (expected non-N)")
        parts = split_at_gaps(seq, a)
        if not parts:
            fail(f"{prefix}: {chrom}:{a}-{b} is all N")
        if not coords and len(parts) != 1:
            fail(f"{prefix}: {chrom}:{a}-{b} has assembly gaps (expected one record)")
        for s, part in parts:
            e = s + len(part) - 1
            name = f"{prefix}_{s}_{e}" if coords else prefix
            records.append((name, part, specific))
            non_n = len(part) - part.count("N")
            rows.append([name, SOURCES[pkg][0], "/" + SOURCES[pkg][1], f"{chrom}:{s}-{e}", build,
                         str(len(part)), str(non_n), note])

    if y_set != "satellite":
        for name, seq, row in strnaming_pieces(pkgs):
            records.append((name, seq, True))
            rows.append(row)

    # The chrY PAR piece must be the X's PAR1 (GRCh37 chrX 60,001-74,400 = hg19 chrY 10,001-24,400).
    ypar = next(p for n, p, _ in records if n.startswith("chrY_PAR1"))
    xpar = seqs["X"][60_000 : 60_000 + len(ypar)]
    diff = sum(p != q for p, q in zip(ypar, xpar))
    identity = 1 - diff / len(ypar)
    if identity < 0.99:
        fail(f"chrY PAR piece only {identity:.2%} identical to chrX 60,001-{60_000 + len(ypar):,}")
    # The bases of the cnvkit chrY outside the piece are N where the header comment says.
    yc = seqs["Y_cnvkit"]
    if set(yc[:500]) != {"N"} or set(yc[14_900:15_600]) != {"N"}:
        fail("cnvkit chrY: N runs not at 1-500 and 14,901-15,600 (a different file?)")

    names = [n for n, _, _ in records]
    if len(set(names)) != len(names):
        fail("duplicate record names")
    tmp = os.path.join(base, "human.fa.partial")
    with open(tmp, "w") as w:
        for name, seq, _ in records:
            w.write(f">{name}\n")
            for i in range(0, len(seq), 80):
                w.write(seq[i : i + 80] + "\n")
    with open(os.path.join(base, "pieces.tsv"), "w") as w:
        w.write("record\tpackage\tfile\tsource\tbuild\tbp\tnon_n_bp\tnote\n")
        for r in rows:
            w.write("\t".join(r) + "\n")

    bp = {"A": 0, "X": 0, "Y": 0}
    for name, seq, _ in records:
        bp[kind(name)] += len(seq)
    ms_y = sum(len(s) for _, s, sp in records if sp)
    male = 2 * bp["A"] + bp["X"] + bp["Y"]
    female = 2 * bp["A"] + 2 * bp["X"]
    lines = [
        f"male-specific Y: {y_set}",
        f"records: {len(records)} ({sum(kind(n) == 'A' for n in names)} autosomal, "
        f"{sum(kind(n) == 'X' for n in names)} chrX, {sum(kind(n) == 'Y' for n in names)} chrY)",
        f"haploid bp: autosomes {bp['A']:,}, X {bp['X']:,}, Y {bp['Y']:,} "
        f"(male-specific {ms_y:,}, PAR {bp['Y'] - ms_y:,})",
        f"male diploid genome {male:,} bp: Y share {bp['Y'] / male:.3%} "
        "(as simulate's species.tsv), "
        f"male-specific Y share {ms_y / male:.3%} "
        "(real human: about 0.4% counting GRCh38's assembled bases, 1% with T2T-Y)",
        f"X/autosome ratio {bp['X'] / bp['A']:.1%} (real human: 5.4%); "
        f"X share of a female diploid genome {2 * bp['X'] / female:.1%} (real: 5.1%)",
        f"chrY PAR piece vs chrX 60,001-{60_000 + len(ypar):,}: {len(ypar) - diff:,}/{len(ypar):,} "
        f"bases identical ({identity:.4%})",
    ]
    with open(os.path.join(base, "shares.txt"), "w") as w:
        w.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(base, "human.fa"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
