"""Two (or more) genosift binaries' encoder forward on the same model and chunks, alternating.

Usage: python3 benches/ab_embed.py MODEL FASTA THREADS ROUNDS BINARY BINARY [BINARY ...]

Each round runs every binary twice: `embed -q -m MODEL -t THREADS` on an empty FASTA (start and
load) and on FASTA (start, load and the forward), with GENOSIFT_PRECISION from the environment
(set it: bf16 or f32). A binary's forward in a round is the second time less the first. Prints
each binary's medians and, against the first binary, the sorted per-round ratios of the forward
time and their median: a round runs the binaries back to back, so a slow spell of a shared machine
touches both sides of its ratio. Also prints each binary's fastest whole run less its fastest load.
The TSVs of the binaries' last rounds are compared, so a changed result shows.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    model, fasta, threads, rounds = sys.argv[1:5]
    binaries = sys.argv[5:]
    work = tempfile.mkdtemp()
    empty = os.path.join(work, "empty.fa")
    with open(empty, "w") as f:
        f.write(">empty\nACGT\n")

    def run(binary, path, out):
        t0 = time.perf_counter()
        cmd = [binary, "embed", "-q", "-m", model, "-t", threads, path, "-o", out]
        subprocess.run(cmd, check=True)
        return time.perf_counter() - t0

    whole = {b: [] for b in binaries}
    load = {b: [] for b in binaries}
    outs = {b: os.path.join(work, f"{i}.tsv") for i, b in enumerate(binaries)}
    for _ in range(int(rounds)):
        for b in binaries:
            load[b].append(run(b, empty, os.path.join(work, "e.tsv")))
            whole[b].append(run(b, fasta, outs[b]))
    forward = {b: [w - l for w, l in zip(whole[b], load[b])] for b in binaries}
    for b in binaries:
        print(
            f"{b}: whole {statistics.median(whole[b]):.2f} s, load {statistics.median(load[b]):.2f}"
            f" s, forward {statistics.median(forward[b]):.2f} s (medians); fastest whole less "
            f"fastest load {min(whole[b]) - min(load[b]):.2f} s"
        )
    first = binaries[0]
    for b in binaries[1:]:
        ratios = sorted(x / y for x, y in zip(forward[b], forward[first]))
        same = open(outs[b]).read() == open(outs[first]).read()
        print(
            f"{b} / {first}, forward: {' '.join(f'{r:.2f}' for r in ratios)}; median "
            f"{statistics.median(ratios):.3f}; embeddings {'identical' if same else 'DIFFER'}"
        )


if __name__ == "__main__":
    main()
