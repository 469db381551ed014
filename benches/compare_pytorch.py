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
   PyTorch runs in the modes a user who wants speed would pick (TORCH_MODES): float32 with the
   attention written out, float32 with scaled_dot_product_attention, bfloat16 weights and
   activations with SDPA, and float32 weights under torch.autocast(bfloat16) with SDPA.
4. Prints the CPU model and its relevant flags (/proc/cpuinfo), tokens/s of each (real tokens,
   [CLS] and [SEP] included, padding excluded), the ratio genosift / each PyTorch mode and to the
   fastest (of medians, and the median of the rounds' own ratios), and max |x − torch f32| /
   max |torch f32| over the [CLS] vectors for genosift and each mode.
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


def torch_cls(w, ids, lengths, sdpa=False):
    """GENA-LM.md §1.4 in PyTorch: [CLS] vectors of a padded batch `ids` [B, L]. `sdpa`: attention
    by F.scaled_dot_product_attention (PyTorch's fused kernel) instead of written out. The weights'
    dtype sets the activations' (bf16 weights: a bf16 forward)."""
    b, length = ids.shape
    hd = H // HEADS
    dtype = w["bert.embeddings.word_embeddings.weight"].dtype
    mask = torch.arange(length)[None, :] < lengths[:, None]
    ext = ((~mask).to(dtype)[:, None, None, :] * torch.finfo(dtype).min).to(dtype)
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
        if sdpa:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=ext.to(q.dtype))
        else:
            a = (q @ k.transpose(-1, -2) / (hd**0.5) + ext).softmax(-1) @ v
        a = a.transpose(1, 2).reshape(b, length, H)
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


def cpu_facts():
    """The CPU model and the flags that matter for these kernels, from /proc/cpuinfo."""
    model, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16",
              "amx_bf16", "amx_int8", "amx_tile"]
    return model, [f for f in wanted if f in flags]


# PyTorch modes a user who wants speed would pick: name -> (weights dtype, sdpa, autocast).
TORCH_MODES = {
    "f32-manual": (torch.float32, False, False),
    "f32-sdpa": (torch.float32, True, False),
    "bf16-sdpa": (torch.bfloat16, True, False),
    "autocast-bf16-sdpa": (torch.float32, True, True),
}


def torch_forward(mode, weights, ids, lengths):
    dtype, sdpa, autocast = TORCH_MODES[mode]
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        return torch_cls(weights[dtype], ids, lengths, sdpa=sdpa).float()


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
    by_dtype = {torch.float32: w, torch.bfloat16: {k: v.to(torch.bfloat16) for k, v in w.items()}}

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
    cpu, flags = cpu_facts()
    print(f"CPU: {cpu}; flags: {' '.join(flags) or 'none of the AVX-512/AMX ones'}", flush=True)

    out = os.path.join(args.work, "embed.tsv")
    # Untimed warm-up of each (page cache, allocator), then A B alternating.
    run_genosift(args.genosift, model, empty, out, args.threads)
    for mode in TORCH_MODES:
        torch_forward(mode, by_dtype, ids[:1, :16], lengths[:1].clamp(max=16))
    load_s = []
    for _ in range(args.rounds):
        load_s.append(run_genosift(args.genosift, model, empty, out, args.threads))
    a_s, c_s = [], []
    t_s = {mode: [] for mode in TORCH_MODES}
    cls = {}
    out_burn = os.path.join(args.work, "embed-burn.tsv")
    for r in range(args.rounds):
        a_s.append(run_genosift(args.genosift, model, fasta, out, args.threads))
        for mode in TORCH_MODES:
            t0 = time.perf_counter()
            cls[mode] = torch_forward(mode, by_dtype, ids, lengths)
            t_s[mode].append(time.perf_counter() - t0)
        if args.burn:
            c_s.append(run_genosift(args.genosift, model, fasta, out_burn, args.threads, "burn"))
        burn = f", genosift on burn-flex {c_s[-1]:.2f} s" if args.burn else ""
        torch_times = ", ".join(f"{m} {t[-1]:.2f} s" for m, t in t_s.items())
        print(f"round {r + 1}: genosift {a_s[-1]:.2f} s, PyTorch {torch_times}{burn}", flush=True)

    with open(out) as f:
        lines = f.read().splitlines()
    assert lines[0] == "name\tn_tokens\tembedding", lines[0]
    ours = []
    for i, line in enumerate(lines[1:]):
        name, nt, emb = line.split("\t")
        assert name == recs[i][0] and int(nt) == len(rows[i]), (name, nt, len(rows[i]))
        ours.append([float(x) for x in emb.split(",")])
    ours = torch.tensor(ours)
    theirs = cls["f32-manual"]

    def rel(x):
        return float((x - theirs).abs().max() / theirs.abs().max())

    load = statistics.median(load_s)
    a = statistics.median(a_s)
    a_fwd = a - load
    print(f"genosift start + load (empty input): median {load:.2f} s of {load_s}")
    print(
        f"genosift embed: median {a:.2f} s = {n_tokens / a:.0f} tokens/s end to end; "
        f"{a_fwd:.2f} s = {n_tokens / a_fwd:.0f} tokens/s without start + load"
    )
    for mode, times in t_s.items():
        b = statistics.median(times)
        print(
            f"PyTorch {mode}: median {b:.2f} s = {n_tokens / b:.0f} tokens/s; ratio genosift / "
            f"it {b / a:.2f} end to end, {b / a_fwd:.2f} without start + load; [CLS] vs "
            f"f32-manual {rel(cls[mode]):.2e}"
        )
    b = min(statistics.median(t) for t in t_s.values())
    fastest = min(t_s, key=lambda m: statistics.median(t_s[m]))
    print(f"fastest PyTorch mode: {fastest}; genosift / it {b / a_fwd:.2f} without start + load")
    # Each round ran both back to back, so a slow spell of a shared machine touches both sides of
    # a round's ratio: their median moves less than the ratio of medians.
    per_round = sorted(t / (g - load) for t, g in zip(t_s[fastest], a_s))
    print(
        f"rounds' ratios genosift / {fastest} without start + load: "
        f"{', '.join(f'{x:.2f}' for x in per_round)}; median {statistics.median(per_round):.2f}"
    )
    if args.burn:
        c = statistics.median(c_s)
        print(
            f"genosift on burn-flex: median {c:.2f} s = {n_tokens / c:.0f} tokens/s end to end; "
            f"ratio burn-flex / PyTorch {b / c:.2f}, native / burn-flex {c / a:.2f}"
        )
    print(f"[CLS] max |genosift - torch f32| / max |torch f32|: {rel(ours):.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
