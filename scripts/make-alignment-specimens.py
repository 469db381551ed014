#!/usr/bin/env python3
"""Writes the bad SAM/BAM specimens of test-data/bad (issue 16), each with one problem:

  truncated.bam        the real ngs-bits BAM (test-data/reads) cut inside a BGZF block
  bad_magic.bam        BGZF data that starts 'BAM\\2' instead of 'BAM\\1'
  header_mismatch.bam  a record on reference #5 of a header that lists one
  header_mismatch.sam  a record on chr2 of a header that lists chr1 only

Run from the repository root: python3 scripts/make-alignment-specimens.py
"""
import struct
import zlib
from pathlib import Path

BAD = Path("test-data/bad")


def bgzf_block(data: bytes) -> bytes:
    """One BGZF block: a gzip member with the BC extra field giving its size."""
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = comp.compress(data) + comp.flush()
    size = 18 + len(deflated) + 8
    header = struct.pack("<BBBBIBBHBBHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, size - 1)
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data))


EOF_BLOCK = bgzf_block(b"")


def bam(n_ref_names, records) -> bytes:
    text = b"@HD\tVN:1.6\tSO:unsorted\n" + b"".join(
        b"@SQ\tSN:%s\tLN:1000\n" % n for n in n_ref_names
    )
    out = b"BAM\x01" + struct.pack("<i", len(text)) + text + struct.pack("<i", len(n_ref_names))
    for n in n_ref_names:
        out += struct.pack("<i", len(n) + 1) + n + b"\x00" + struct.pack("<i", 1000)
    for ref_id, name, seq in records:
        codes = {c: i for i, c in enumerate(b"=ACMGRSVTWYHKDBN")}
        packed = bytes(
            (codes[seq[i]] << 4) | (codes[seq[i + 1]] if i + 1 < len(seq) else 0)
            for i in range(0, len(seq), 2)
        )
        body = struct.pack(
            "<iiBBHHHIiii", ref_id, 99, len(name) + 1, 60, 4680, 1, 0, len(seq), -1, -1, 0
        )
        body += name + b"\x00" + struct.pack("<I", len(seq) << 4) + packed + b"\x1e" * len(seq)
        out += struct.pack("<i", len(body)) + body
    return out


def main():
    real = Path("test-data/reads/ngsbits_sry.MALE.Illumina.hg19.bam").read_bytes()
    (BAD / "truncated.bam").write_bytes(real[:20000])
    (BAD / "bad_magic.bam").write_bytes(bgzf_block(b"BAM\x02" + bytes(64)) + EOF_BLOCK)
    data = bam([b"chr1"], [(0, b"r1", b"ACGTACGTAC"), (5, b"r2", b"ACGTACGTAC")])
    (BAD / "header_mismatch.bam").write_bytes(bgzf_block(data) + EOF_BLOCK)
    (BAD / "header_mismatch.sam").write_bytes(
        b"@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:1000\n"
        b"r1\t0\tchr1\t100\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII\n"
        b"r2\t0\tchr2\t100\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII\n"
    )


if __name__ == "__main__":
    main()
