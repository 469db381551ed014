#!/usr/bin/env python3
"""Where a model's Y hits come from: which sequences of a genome give reads that score above the
calibrated threshold. A development aid for the detector (issue 17), not part of a call.

  scripts/hit-sources.py reads FASTA[,FASTA...] N SEED > reads.fa
      N reads of 150 bp drawn uniformly over the genome's sequences (by length), substitutions at
      0.005 per base, either strand, as the cohort's reads are; each named SEQUENCE:POS_I. Reads
      holding an N are skipped.
  genosift predict -m MODEL --needles needles.fa --needles-top T reads.fa > /dev/null
      (T at least the number of hits expected: the model's false-Y rate × N, with room)
  scripts/hit-sources.py tally reads.fa needles.fa LOGIT
      per source sequence: reads drawn, reads with a Y logit above LOGIT (the model's
      evidence.logit_threshold in genosift.json), their share; most hits first."""
import random
import re
import sys
from collections import Counter

READ_LEN = 150
ERROR_RATE = 0.005
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def read_fasta(paths):
    """(name, sequence) of every sequence longer than a read, in file order; the two haplotypes of
    an individual may name theirs alike."""
    seqs = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith(">"):
                    seqs.append((line[1:].split()[0], []))
                elif seqs:
                    seqs[-1][1].append(line.upper())
    joined = [(name, "".join(parts)) for name, parts in seqs]
    return [(name, seq) for name, seq in joined if len(seq) > READ_LEN]


def draw_reads(paths, n, seed):
    rng = random.Random(seed)
    seqs = read_fasta(paths)
    if not seqs:
        sys.exit(f"hit-sources: no sequence longer than {READ_LEN} bp in {','.join(paths)}")
    weights = [len(seq) for _, seq in seqs]
    out = sys.stdout
    for i in range(n):
        name, seq = rng.choices(seqs, weights)[0]
        pos = rng.randrange(len(seq) - READ_LEN + 1)
        read = [rng.choice("ACGT") if rng.random() < ERROR_RATE else b for b in seq[pos:pos + READ_LEN]]
        read = "".join(read)
        if rng.random() < 0.5:
            read = read.translate(COMPLEMENT)[::-1]
        if "N" not in read:
            out.write(f">{name}:{pos}_{i}\n{read}\n")


def source(record):
    return record.rsplit(":", 1)[0]


def tally(reads, needles, threshold):
    drawn = Counter()
    with open(reads) as f:
        for line in f:
            if line.startswith(">"):
                drawn[source(line[1:].strip())] += 1
    hits = Counter()
    with open(needles) as f:
        for line in f:
            if line.startswith(">"):
                logit = re.search(r"y_logit=(\S+)", line)
                record = re.search(r"records=(\S+)", line)
                if not (logit and record):
                    sys.exit(f"hit-sources: {needles}: not a --needles header: {line.strip()}")
                if float(logit.group(1)) > threshold:
                    hits[source(record.group(1))] += 1
    unknown = set(hits) - set(drawn)
    if unknown:
        sys.exit(f"hit-sources: {needles}: reads not drawn in {reads}: {sorted(unknown)[0]}")
    total_drawn, total_hits = sum(drawn.values()), sum(hits.values())
    print("source\treads\thits\thit_rate\tshare_of_hits")
    for name, h in hits.most_common():
        print(f"{name}\t{drawn[name]}\t{h}\t{h / drawn[name]:.5f}\t{h / total_hits:.3f}")
    print(f"all\t{total_drawn}\t{total_hits}\t{total_hits / max(total_drawn, 1):.5f}\t1.000")


def main(args):
    if len(args) == 4 and args[0] == "reads":
        draw_reads(args[1].split(","), int(args[2]), int(args[3]))
    elif len(args) == 4 and args[0] == "tally":
        tally(args[1], args[2], float(args[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
