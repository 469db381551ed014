"""genosift's CPU backbone against a PyTorch one on the same random GENA-LM-base checkpoint.

Run through benches/compare_pytorch.sh, which makes the virtual environment (torch, numpy,
safetensors, tokenizers from PyPI) and builds the release binary.

1. Writes a checkpoint in the Hugging Face layout of gena-lm-bert-base-t2t (config.json of
   GENA-LM.md §1.1, model.safetensors with keys `bert.*` as the public MLM checkpoint, random
   seeded weights; LayerNorm weights jittered around 1 so that a swapped gamma/beta shows), and
   tokenizer.json from test-data/gena-tiny.
2. Packs the bundled NA12878 reads into 3,072-bp chunks as `predict` does (reads joined by 10 N)
   and takes the first 16 (about 460 tokens each) as one batch, written as a 16-record FASTA.
3. A: `genosift embed -t T` on those 16 records (one forward pass of 16; the process's wall time,
   and that time minus the wall time of the same command on an empty input, i.e. without process
   start and checkpoint loading). B: the same batch, tokenized with the same tokenizer.json, through
   a PyTorch encoder written from GENA-LM.md §1.4 (pre-LN BERT, no final LayerNorm), forward only,
   torch.set_num_threads(T). Alternating A B A B for the given number of rounds.
4. Prints tokens/s of each (real tokens, [CLS] and [SEP] included, padding excluded), the ratio
   genosift / PyTorch, and max |genosift − torch| / max |torch| over the [CLS] vectors.
"""

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file
from tokenizers import Tokenizer

H, LAYERS, HEADS, FFN, VOCAB, MAX_POS, EPS, PAD = 768, 12, 12, 3072, 32000, 512, 1e-12, 3
CHUNKS = 16

CONFIG = {
    "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": H,
    "initializer_range": 0.02,
    "intermediate_size": FFN,
    "layer_norm_eps": EPS,
    "max_position_embeddings": MAX_POS,
    "model_type": "bert",
    "num_attention_heads": HEADS,
    "num_hidden_layers": LAYERS,
    "pad_token_id": PAD,
    "pre_layer_norm": True,
    "last_layer_norm": False,
    "position_embedding_type": "absolute",
    "type_vocab_size": 2,
    "vocab_size": VOCAB,
}


def make_weights(seed):
    """The backbone's state dict (torch layout: Linear weights [out, in]), keys under `bert.`."""
    rng = np.random.default_rng(seed)

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)

    w = {}
    p = "bert."
    w[p + "embeddings.word_embeddings.weight"] = normal(VOCAB, H)
    w[p + "embeddings.position_embeddings.weight"] = normal(MAX_POS, H)
    w[p + "embeddings.token_type_embeddings.weight"] = normal(2, H)

    def layer_norm(base):
        w[base + ".weight"] = 1.0 + normal(H, std=0.1)
        w[base + ".bias"] = normal(H)

    def linear(base, d_in, d_out):
        w[base + ".weight"] = normal(d_out, d_in)
        w[base + ".bias"] = normal(d_out)

    layer_norm(p + "embeddings.LayerNorm")
    for i in range(LAYERS):
        b = f"{p}encoder.layer.{i}"
        layer_norm(b + ".pre_attention_ln")
        for q in ("query", "key", "value"):
            linear(f"{b}.attention.self.{q}", H, H)
        linear(b + ".attention.output.dense", H, H)
        layer_norm(b + ".post_attention_ln")
        linear(b + ".intermediate.dense", H, FFN)
        linear(b + ".output.dense", FFN, H)
    return w


def torch_cls(w, ids, lengths):
    """GENA-LM.md §1.4 in PyTorch: [CLS] vectors of a padded batch `ids` [B, L]."""
    b, length = ids.shape
    hd = H // HEADS
    mask = torch.arange(length)[None, :] < lengths[:, None]
    ext = (~mask).float()[:, None, None, :] * torch.finfo(torch.float32).min
    p = "bert."
    x = (
        w[p + "embeddings.word_embeddings.weight"][ids]
        + w[p + "embeddings.position_embeddings.weight"][:length][None]
        + w[p + "embeddings.token_type_embeddings.weight"][0][None, None]
    )
    x = F.layer_norm(
        x, (H,), w[p + "embeddings.LayerNorm.weight"], w[p + "embeddings.LayerNorm.bias"], EPS
    )
    for i in range(LAYERS):
        k_ = f"{p}encoder.layer.{i}."

        def lin(name, t):
            return F.linear(t, w[k_ + name + ".weight"], w[k_ + name + ".bias"])

        def ln(name, t):
            return F.layer_norm(t, (H,), w[k_ + name + ".weight"], w[k_ + name + ".bias"], EPS)

        y = ln("pre_attention_ln", x)

        def heads(t):
            return t.view(b, length, HEADS, hd).transpose(1, 2)

        q = heads(lin("attention.self.query", y))
        k = heads(lin("attention.self.key", y))
        v = heads(lin("attention.self.value", y))
        scores = q @ k.transpose(-1, -2) / (hd**0.5) + ext
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, length, H)
        x = x + lin("attention.output.dense", a)
        z = ln("post_attention_ln", x)
        x = x + lin("output.dense", F.gelu(lin("intermediate.dense", z)))
    return x[:, 0]


def packed_chunks(fastq_gz, n, chunk_len=3072, sep=10):
    """The first `n` chunks `predict` makes of a read file: reads packed into `chunk_len`-bp
    chunks joined by `sep` N (README "Chunking"; the same rule as src/chunk.rs)."""
    chunks, buf = [], ""
    with gzip.open(fastq_gz, "rt") as f:
        for i, line in enumerate(f):
            if i % 4 != 1:
                continue
            rest, started = line.strip().upper(), False
            while rest:
                if not started:
                    if buf:
                        if chunk_len - len(buf) <= sep:
                            chunks.append(buf)
                            buf = ""
                        else:
                            buf += "N" * sep
                    started = True
                take = min(chunk_len - len(buf), len(rest))
                buf, rest = buf + rest[:take], rest[take:]
                if len(buf) == chunk_len:
                    chunks.append(buf)
                    buf = ""
                if len(chunks) == n:
                    return [(f"chunk{j}", c) for j, c in enumerate(chunks)]
    raise SystemExit(f"{fastq_gz}: fewer than {n} chunks")


def run_genosift(binary, model, fasta, out, threads, kernel="native"):
    env = dict(os.environ, GENOSIFT_CPU_KERNEL=kernel)
    t0 = time.perf_counter()
    subprocess.run(
        [binary, "embed", "-q", "-m", model, "-t", str(threads), fasta, "-o", out],
        check=True,
        env=env,
    )
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--genosift", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--burn",
        action="store_true",
        help="also time genosift with GENOSIFT_CPU_KERNEL=burn (burn's Flex backend) each round",
    )
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    model = os.path.join(args.work, "gena-base-random")
    os.makedirs(model, exist_ok=True)
    weights = make_weights(args.seed)
    with open(os.path.join(model, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    save_file(weights, os.path.join(model, "model.safetensors"), metadata={"format": "pt"})
    tok_path = os.path.join(args.repo, "test-data/gena-tiny/tokenizer.json")
    shutil.copy(tok_path, os.path.join(model, "tokenizer.json"))
    w = {k: torch.from_numpy(v) for k, v in weights.items()}

    reads = "test-data/reads/ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.primary.fastq.gz"
    recs = packed_chunks(os.path.join(args.repo, reads), CHUNKS)
    fasta = os.path.join(args.work, "chunks.fa")
    with open(fasta, "w") as f:
        for name, seq in recs:
            f.write(f">{name}\n{seq}\n")
    empty = os.path.join(args.work, "empty.fa")
    open(empty, "w").close()

    tok = Tokenizer.from_file(tok_path)
    tok.enable_truncation(max_length=MAX_POS)
    tok.no_padding()
    rows = [tok.encode(seq).ids for _, seq in recs]
    lengths = torch.tensor([len(r) for r in rows])
    longest = int(lengths.max())
    ids = torch.full((CHUNKS, longest), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    n_tokens = int(lengths.sum())
    bp = sum(len(s) for _, s in recs)
    print(
        f"batch: {CHUNKS} chunks, {bp} bp, {n_tokens} tokens "
        f"(mean {n_tokens / CHUNKS:.0f}, longest {longest}); {args.threads} threads; "
        f"torch {torch.__version__}",
        flush=True,
    )

    out = os.path.join(args.work, "embed.tsv")
    # Untimed warm-up of each (page cache, allocator), then A B alternating.
    run_genosift(args.genosift, model, empty, out, args.threads)
    with torch.inference_mode():
        torch_cls(w, ids[:1, :16], lengths[:1].clamp(max=16))
    load_s = []
    for _ in range(args.rounds):
        load_s.append(run_genosift(args.genosift, model, empty, out, args.threads))
    a_s, b_s, c_s = [], [], []
    ref = None
    out_burn = os.path.join(args.work, "embed-burn.tsv")
    for r in range(args.rounds):
        a_s.append(run_genosift(args.genosift, model, fasta, out, args.threads))
        t0 = time.perf_counter()
        with torch.inference_mode():
            ref = torch_cls(w, ids, lengths)
        b_s.append(time.perf_counter() - t0)
        if args.burn:
            c_s.append(run_genosift(args.genosift, model, fasta, out_burn, args.threads, "burn"))
        burn = f", genosift on burn-flex {c_s[-1]:.2f} s" if args.burn else ""
        print(
            f"round {r + 1}: genosift {a_s[-1]:.2f} s, PyTorch {b_s[-1]:.2f} s{burn}", flush=True
        )

    with open(out) as f:
        lines = f.read().splitlines()
    assert lines[0] == "name\tn_tokens\tembedding", lines[0]
    ours = []
    for i, line in enumerate(lines[1:]):
        name, nt, emb = line.split("\t")
        assert name == recs[i][0] and int(nt) == len(rows[i]), (name, nt, len(rows[i]))
        ours.append([float(x) for x in emb.split(",")])
    ours = torch.tensor(ours)
    theirs = ref.float()
    rel = float((ours - theirs).abs().max() / theirs.abs().max())

    load = statistics.median(load_s)
    a, b = statistics.median(a_s), statistics.median(b_s)
    a_fwd = a - load
    print(f"genosift start + load (empty input): median {load:.2f} s of {load_s}")
    print(
        f"genosift embed: median {a:.2f} s = {n_tokens / a:.0f} tokens/s end to end; "
        f"{a_fwd:.2f} s = {n_tokens / a_fwd:.0f} tokens/s without start + load"
    )
    print(f"PyTorch forward: median {b:.2f} s = {n_tokens / b:.0f} tokens/s")
    print(
        f"ratio genosift / PyTorch tokens/s: {b / a:.2f} end to end, "
        f"{b / a_fwd:.2f} without start + load"
    )
    if args.burn:
        c = statistics.median(c_s)
        print(
            f"genosift on burn-flex: median {c:.2f} s = {n_tokens / c:.0f} tokens/s end to end; "
            f"ratio burn-flex / PyTorch {b / c:.2f}, native / burn-flex {c / a:.2f}"
        )
    print(f"[CLS] max |genosift - torch| / max |torch|: {rel:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
