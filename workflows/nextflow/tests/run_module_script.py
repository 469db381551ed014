#!/usr/bin/env python3
"""Run the Nextflow module's script: and stub: blocks with bash, without Nextflow.

    python3 workflows/nextflow/tests/run_module_script.py --genosift target/debug/genosift

Nextflow cannot be installed where CI runs, so this does what Nextflow would do with one task of
modules/genosift/predict/main.nf, closely enough that the module's command line and the tool can
never drift apart unnoticed:

  1. reads the process's sections (directives, input:, output:, script:, stub:);
  2. evaluates the `def x = ...` lines above each script with a small evaluator of the Groovy
     subset modules use (strings, GStrings, `a ?: b`, `c ? a : b`, `!`, `&&`, `||`, `==`, property
     access on task/meta); anything else is an error, so the test cannot silently skip logic;
  3. interpolates the triple-quoted script as a Groovy GString (escapes, ${expr}, $name) and
     strips its indentation, as Nextflow does;
  4. stages the inputs (reads, BAM indexes, CRAM reference and .fai) as symbolic links in a fresh
     work directory, with `genosift` (the build under test) on PATH, and runs the script with
     `bash -euo pipefail` (the example pipeline's process.shell);
  5. checks every declared output: `path(...)` patterns must match a file, `eval(...)` commands
     must succeed (the genosift one must print the version of the binary under test);
  6. checks the contents: the calls table's header, its one row, the sample name, the call; the
     groups table's header; the JSON summary; the MultiQC table. With the bundled demo model
     (--species human): the demo BAMs with their indexes are read in random order and stop early
     with the right call (male, female) and the same row as genosift run on the BAM by hand; a
     sorted BAM without its index is refused with --stop-when-confident and read whole without
     it; a CRAM (made here from the demo BAM against a samtools consensus of it) is decoded with
     the reference (the BAM's row when read whole) and read in random order with its .crai;
     several files are one sample; a broken BAM fails the task; and every sample of the example
     pipeline's test sample sheet, with the test profile's ext.args, gets the call its name says;
  7. checks meta.yml against main.nf (inputs, output names, version commands, topics).

samtools is needed only to make the CRAM test input.

Exit status 0 when every check passes; the last line is 'N passed, N failed'.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEXTFLOW_DIR = HERE.parent
REPO = NEXTFLOW_DIR.parent.parent
MODULE = NEXTFLOW_DIR / "modules" / "genosift" / "predict"

# Columns the checks read; the full headers are taken from the binary under test (empty input).
CALLS_COLUMNS = ["sample", "species", "n_records", "n_groups", "call"]
CALLS = {"male", "female", "no-call"}


class Unsupported(Exception):
    """The module uses Groovy this evaluator does not understand: extend the evaluator."""


# --------------------------------------------------------------------------------------------
# Groovy subset: values are str, int, bool, None, list (of str) or dict.

def to_groovy_string(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # a list of staged paths prints blank-separated (Nextflow)
        return " ".join(to_groovy_string(v) for v in value)
    return str(value)


def truthy(value) -> bool:
    return not (value is None or value is False or value == "" or value == [] or value == {} or value == 0)


TOKEN = re.compile(
    r"""\s*(?:
        (?P<str1>'(?:[^'\\]|\\.)*')
      | (?P<str2>"(?:[^"\\]|\\.)*")
      | (?P<num>\d+)
      | (?P<op>\?:|\?|:|\(|\)|\.|==|!=|&&|\|\||!)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def tokenize(src: str):
    pos, out = 0, []
    src = src.rstrip()
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise Unsupported(f"cannot read Groovy expression at: {src[pos:]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def unescape_single(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class Parser:
    def __init__(self, tokens, env):
        self.t, self.i, self.env = tokens, 0, env

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise Unsupported(f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self):
        value = self.ternary()
        if self.i != len(self.t):
            raise Unsupported(f"unexpected {self.peek()[1]!r} in Groovy expression")
        return value

    def ternary(self):
        cond = self.or_()
        if self.peek()[1] == "?:":
            self.take()
            other = self.ternary()
            return cond if truthy(cond) else other
        if self.peek()[1] == "?":
            self.take()
            a = self.ternary()
            self.take(":")
            b = self.ternary()
            return a if truthy(cond) else b
        return cond

    def or_(self):
        v = self.and_()
        while self.peek()[1] == "||":
            self.take()
            w = self.and_()
            v = truthy(v) or truthy(w)
        return v

    def and_(self):
        v = self.eq()
        while self.peek()[1] == "&&":
            self.take()
            w = self.eq()
            v = truthy(v) and truthy(w)
        return v

    def eq(self):
        v = self.unary()
        if self.peek()[1] in ("==", "!="):
            op = self.take()[1]
            w = self.unary()
            return (v == w) if op == "==" else (v != w)
        return v

    def unary(self):
        if self.peek()[1] == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self):
        v = self.primary()
        while self.peek()[1] == ".":
            self.take()
            kind, name = self.take()
            if kind != "ident":
                raise Unsupported(f"property name expected after '.', found {name!r}")
            if self.peek()[1] == "(":
                raise Unsupported(f"method call .{name}(...) is not supported")
            if isinstance(v, dict):
                v = v.get(name)
            elif v is None:
                raise Unsupported(f"property .{name} of null (NullPointerException in Groovy)")
            else:
                raise Unsupported(f"property .{name} of a {type(v).__name__} is not supported")
        return v

    def primary(self):
        kind, text = self.take()
        if kind == "str1":
            return unescape_single(text[1:-1])
        if kind == "str2":
            return interpolate(text[1:-1], self.env)
        if kind == "num":
            return int(text)
        if kind == "ident":
            if text in ("null", "true", "false"):
                return {"null": None, "true": True, "false": False}[text]
            if self.peek()[1] == "(":
                raise Unsupported(f"function call {text}(...) is not supported")
            if text not in self.env:
                raise Unsupported(f"unknown variable {text!r}")
            return self.env[text]
        if text == "(":
            v = self.ternary()
            self.take(")")
            return v
        raise Unsupported(f"unexpected {text!r} in Groovy expression")


def evaluate(expr: str, env: dict):
    return Parser(tokenize(expr), env).parse()


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "$": "$", '"': '"', "'": "'"}


def interpolate(s: str, env: dict) -> str:
    """A Groovy GString: backslash escapes, ${expr}, $name(.name)*."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            nxt = s[i + 1] if i + 1 < len(s) else ""
            if nxt == "\n":  # line continuation inside a triple-quoted string
                i += 2
            elif nxt in ESCAPES:
                out.append(ESCAPES[nxt])
                i += 2
            elif nxt == "u":
                out.append(chr(int(s[i + 2 : i + 6], 16)))
                i += 6
            else:
                raise Unsupported(f"unknown escape \\{nxt} in a Groovy string")
        elif c == "$" and s.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(s) and depth:
                depth += {"{": 1, "}": -1}.get(s[j], 0)
                j += 1
            if depth:
                raise Unsupported("unclosed ${ in a Groovy string")
            out.append(to_groovy_string(evaluate(s[i + 2 : j - 1], env)))
            i = j
        elif c == "$":
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*").match(s, i + 1)
            if not m:
                raise Unsupported(f"illegal string body character after dollar sign: {s[i:i + 10]!r}")
            out.append(to_groovy_string(evaluate(m.group(0), env)))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------
# The process definition

SECTION = re.compile(r"^\s*(input|output|when|script|shell|exec|stub):\s*$")


def read_process(path: Path) -> dict:
    text = path.read_text()
    m = re.search(r"^process\s+(\w+)\s*\{\s*$", text, re.M)
    if not m:
        raise SystemExit(f"{path}: no process definition")
    body = text[m.end() :]
    body = body[: body.rstrip().rfind("}")]
    sections = {"directives": []}
    current = "directives"
    for line in body.splitlines():
        sm = SECTION.match(line)
        if sm:
            current = sm.group(1)
            sections[current] = []
        else:
            sections[current].append(line)
    if "shell" in sections or "exec" in sections:
        raise Unsupported("shell:/exec: blocks are not supported")
    return {"name": m.group(1), **{k: "\n".join(v) for k, v in sections.items()}}


def split_script(block: str):
    """The Groovy lines above the script string, and the string's raw body."""
    m = re.search(r'^[ \t]*"""[ \t]*\n(.*?)^[ \t]*"""[ \t]*$', block, re.M | re.S)
    if not m:
        raise Unsupported('the script is not one triple-double-quoted string ("""...""")')
    return block[: m.start()], m.group(1), block[m.end() :]


def run_preamble(preamble: str, env: dict):
    for raw in preamble.splitlines():
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        m = re.match(r"^(?:def\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$", line)
        if not m or m.group(2).strip().startswith("="):
            raise Unsupported(f"script preamble line not supported: {line!r}")
        env[m.group(1)] = evaluate(m.group(2), env)


def render(block: str, env: dict) -> str:
    preamble, body, rest = split_script(block)
    if rest.strip():
        raise Unsupported(f"code after the script string: {rest.strip()!r}")
    run_preamble(preamble, env)
    return textwrap.dedent(interpolate(body, env))


OUTPUT_LINE = re.compile(r"emit:\s*(\w+)")
PATH_PAT = re.compile(r"""path\(\s*(?P<q>["'])(?P<pat>.*?)(?P=q)\s*\)""")
EVAL_PAT = re.compile(r"""eval\(\s*(?:"(?P<d>(?:[^"\\]|\\.)*)"|'(?P<s>(?:[^'\\]|\\.)*)')\s*\)""")
VAL_PAT = re.compile(r"""val\(\s*'(?P<s>[^']*)'\s*\)""")


def read_outputs(block: str):
    outputs = []
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        em = OUTPUT_LINE.search(line)
        if not em:
            raise Unsupported(f"output without emit: {line!r}")
        paths = [(m.group("q"), m.group("pat")) for m in PATH_PAT.finditer(line)]
        evals = [(m.group("d"), m.group("s")) for m in EVAL_PAT.finditer(line)]
        vals = [m.group("s") for m in VAL_PAT.finditer(line)]
        outputs.append(
            {
                "emit": em.group(1),
                "paths": paths,
                "evals": evals,
                "tool": vals[0] if vals else None,
                "optional": re.search(r"optional:\s*true", line) is not None,
                "topic": (re.search(r"topic:\s*(\w+)", line) or [None, None])[1],
            }
        )
    return outputs


def eval_command(ev, env) -> str:
    double, single = ev
    return interpolate(double, env) if double is not None else unescape_single(single)


# --------------------------------------------------------------------------------------------
# Checks

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, detail: str = ""):
        if ok:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            self.failed += 1
            print(f"  FAIL  {what}" + (f"\n        {detail}" if detail else ""))
        return ok


def read_tsv(path: Path):
    return [line.split("\t") for line in path.read_text().splitlines()]


def stage(workdir: Path, source: Path) -> str:
    link = workdir / source.name
    if link.exists() or link.is_symlink():
        raise SystemExit(f"input name collision while staging: {source.name}")
    link.symlink_to(source.resolve())
    return source.name


def path_value(names):
    """A path() input as the script sees it: one file is a path, several a list, none `[]`."""
    return names[0] if len(names) == 1 else list(names)


def make_env(meta, reads, model, cpus, ext, index=(), fasta=None, fai=None):
    return {
        "meta": dict(meta),
        "task": {"cpus": cpus, "ext": dict(ext), "process": "GENOSIFT_PREDICT", "attempt": 1},
        "reads": path_value(reads),
        "index": path_value(index),
        "model": model,
        "meta2": {"id": "reference"} if fasta else {},
        "fasta": fasta if fasta else [],
        "fai": fai if fai else [],
    }


def run_case(res, proc, outputs, name, *, block, meta, reads, model, ext, bindir, scratch, version,
             index=(), fasta=None, fai=None, expect_fail=False):
    print(f"\n[{name}]")
    workdir = scratch / name
    workdir.mkdir()
    staged = [stage(workdir, r) for r in reads]
    staged_index = [stage(workdir, i) for i in index]
    model_name = stage(workdir, model)
    env = make_env(
        meta, staged, model_name, 2, ext, index=staged_index,
        fasta=stage(workdir, fasta) if fasta else None, fai=stage(workdir, fai) if fai else None,
    )
    script = render(proc[block], env)
    (workdir / ".command.sh").write_text(script)
    path_env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    with open(workdir / ".command.out", "w") as out, open(workdir / ".command.err", "w") as err:
        rc = subprocess.run(["bash", "-euo", "pipefail", ".command.sh"], cwd=workdir, env=path_env, stdout=out, stderr=err).returncode
    stderr = (workdir / ".command.err").read_text()
    if expect_fail:
        res.check(rc != 0, f"{block}: fails (exit {rc}): {stderr.strip().splitlines()[-1] if stderr.strip() else ''}", f"exit 0; stderr:\n{stderr[-2000:]}")
        return None
    if not res.check(rc == 0, f"{block}: exits 0", f"exit {rc}; script:\n{script}\nstderr:\n{stderr[-3000:]}"):
        return None
    found = {}
    for o in outputs:
        for _q, pat in o["paths"]:
            pattern = interpolate(pat, env)
            hits = sorted(glob.glob(str(workdir / pattern)))
            found[o["emit"]] = [Path(h) for h in hits]
            res.check(bool(hits) or o["optional"], f"output {o['emit']}: {pattern} exists", f"no match in {sorted(p.name for p in workdir.iterdir())}")
            res.check(len(hits) <= 1, f"output {o['emit']}: {pattern} matches one file", f"matches {hits}")
        for ev in o["evals"]:
            cmd = eval_command(ev, env)
            p = subprocess.run(["bash", "-c", cmd], cwd=workdir, env=path_env, capture_output=True, text=True)
            got = p.stdout.strip()
            ok = p.returncode == 0 and got != "" and "\n" not in got
            res.check(ok, f"output {o['emit']}: eval {cmd!r} -> {got!r}", f"exit {p.returncode}, stderr {p.stderr.strip()!r}")
            if o["tool"] == "genosift":
                res.check(got == version, f"output {o['emit']}: version is the binary's ({version})", f"got {got!r}")
    return workdir, env, found


def tool_headers(genosift: Path, model: Path, scratch: Path):
    """The calls and groups headers this genosift writes (empty input: header and a no-call row)."""
    calls, groups = scratch / "empty.calls.tsv", scratch / "empty.groups.tsv"
    subprocess.run(
        [str(genosift), "predict", "-m", str(model), "--species", "human", "-q", "-o", str(calls), "--groups", str(groups), "-"],
        stdin=subprocess.DEVNULL, check=True,
    )
    return read_tsv(calls)[0], read_tsv(groups)[0]


def check_real_outputs(res, found, sample, mqc_placeholder, headers):
    calls_header, groups_header = headers
    calls = read_tsv(found["calls"][0])
    res.check(calls[0] == calls_header, "calls: header as genosift writes it", f"got {calls[0]}, genosift: {calls_header}")
    res.check(len(calls) == 2, "calls: one row", f"got {len(calls) - 1} rows")
    row = dict(zip(calls[0], calls[1]))
    res.check(row.get("sample") == sample, f"calls: sample is meta.id ({sample})", f"got {row.get('sample')!r}")
    res.check(row.get("call") in CALLS, f"calls: call in {sorted(CALLS)}", f"got {row.get('call')!r}")
    groups = read_tsv(found["groups"][0])
    res.check(groups[0] == groups_header, "groups: header as genosift writes it", f"got {groups[0]}, genosift: {groups_header}")
    res.check(len(groups) - 1 == int(row.get("n_groups", -1)), "groups: one row per scored group")
    summary = json.loads(found["summary"][0].read_text())
    res.check(summary.get("summary", {}).get("sample") == sample, "summary: JSON with the sample")
    res.check(summary.get("summary", {}).get("call") == row.get("call"), "summary: same call as the table")
    mqc = found["mqc"][0].read_text()
    res.check(mqc.startswith("#"), "mqc: MultiQC header comments", repr(mqc[:200]))
    if not mqc_placeholder:
        res.check(sample in mqc, "mqc: holds the sample", repr(mqc[:400]))
    return row


def check_meta_yml(res, proc, outputs):
    import yaml  # PyYAML: in the CI venv (a snakemake dependency)

    print("\n[meta.yml and environment.yml]")
    meta = yaml.safe_load((MODULE / "meta.yml").read_text())
    res.check(meta.get("name") == "genosift_predict", "meta.yml: name")
    inputs = [ln.strip() for ln in proc["input"].splitlines() if ln.strip() and not ln.strip().startswith("//")]
    res.check(len(meta.get("input", [])) == len(inputs), f"meta.yml: {len(inputs)} inputs as main.nf")
    for line, documented in zip(inputs, meta.get("input", [])):
        names = re.findall(r"(?:val|path)\(\s*(\w+)", line) if line.startswith("tuple") else [line.split()[-1]]
        keys = [list(e)[0] for e in documented] if isinstance(documented, list) else list(documented)
        res.check(keys == names, f"meta.yml: input {names} as main.nf", f"got {keys}")
    emits = [o["emit"] for o in outputs]
    res.check(list(meta.get("output", {})) == emits, "meta.yml: outputs named as main.nf's emits", f"{list(meta.get('output', {}))} vs {emits}")
    topic_entries = []
    for o in outputs:
        if not o["evals"]:
            continue
        cmd = eval_command(o["evals"][0], {})
        entry = meta["output"].get(o["emit"], [[]])[0]
        keys = [list(e)[0] for e in entry]
        res.check(keys == ["${task.process}", o["tool"], cmd], f"meta.yml: {o['emit']} documents {cmd!r}", f"got {keys}")
        if o["topic"] == "versions":
            topic_entries.append(keys)
    documented = [[list(e)[0] for e in entry] for entry in meta.get("topics", {}).get("versions", [])]
    res.check(documented == topic_entries, "meta.yml: topics.versions lists every versions output")
    envfile = yaml.safe_load((MODULE / "environment.yml").read_text())
    res.check(envfile.get("channels") == ["conda-forge", "bioconda"], "environment.yml: channels conda-forge, bioconda")
    res.check(all("=" in d for d in envfile.get("dependencies", [])), "environment.yml: versions pinned")


def expected_call(sample: str):
    """The call a demo sample's name says (demo_female_bam: female), or None."""
    for call in ("female", "male"):  # female first: "male" is in "female"
        if call in sample.split("_"):
            return call
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genosift", required=True, help="the genosift binary under test")
    ap.add_argument(
        "--model", default=str(REPO / "test-data" / "models" / "demo"),
        help="a model calibrated for human that calls the demo reads right (default: the bundled demo model)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    args = ap.parse_args()

    genosift = Path(args.genosift).resolve()
    model = Path(args.model).resolve()
    demo = REPO / "test-data" / "models" / "demo"
    male_bam, female_bam = demo / "demo-male.sorted.bam", demo / "demo-female.sorted.bam"
    male_bai, female_bai = Path(f"{male_bam}.bai"), Path(f"{female_bam}.bai")
    male_fq = demo / "demo-male.fq.gz"
    reads_dir = REPO / "test-data" / "reads"
    sry_bam = reads_dir / "ngsbits_sry.MALE.Illumina.hg19.bam"
    sry_fastq = reads_dir / "ngsbits_sry.MALE.Illumina.hg19.primary.fastq.gz"
    female = reads_dir / "ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.primary.fastq.gz"
    for p in (genosift, model, male_bam, male_bai, female_bam, female_bai, male_fq, sry_bam, sry_fastq, female):
        if not p.exists():
            raise SystemExit(f"missing: {p}")
    if shutil.which("samtools") is None:
        raise SystemExit("samtools is not on PATH (apt-get install samtools): it makes the CRAM test input")

    version = subprocess.run([str(genosift), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if not version.startswith("genosift "):
        raise SystemExit(f"unexpected `genosift --version`: {version!r}")
    version = version.split(" ", 1)[1]
    mqc_placeholder = os.environ.get("GENOSIFT_MQC_SHIM") == "1"

    res = Results()
    proc = read_process(MODULE / "main.nf")
    outputs = read_outputs(proc["output"])
    print(f"module {MODULE.relative_to(REPO)}: process {proc['name']}, genosift {version} at {genosift}")

    print("\n[directives and interface]")
    res.check(re.search(r'^\s*tag\s+"\$\{meta\.id\}"\s*$', proc["directives"], re.M) is not None, 'tag "${meta.id}"')
    res.check(re.search(r"^\s*label\s+'process_\w+'\s*$", proc["directives"], re.M) is not None, "a process_* label")
    res.check("--threads ${task.cpus}" in proc["script"], "script passes --threads ${task.cpus}")
    res.check("task.ext.args" in proc["script"] and "task.ext.prefix" in proc["script"], "script reads task.ext.args and task.ext.prefix")
    res.check([o["emit"] for o in outputs][:4] == ["calls", "groups", "summary", "mqc"], "outputs calls, groups, summary, mqc")
    res.check(any(o["tool"] == "genosift" and o["topic"] == "versions" and o["evals"] for o in outputs), "genosift version via eval() into the versions topic")
    cargo_version = re.search(r'^version\s*=\s*"([^"]+)"', (REPO / "Cargo.toml").read_text(), re.M).group(1)
    containers = re.findall(r"^\s*container\s+['\"]([^'\"]+)['\"]", proc["directives"], re.M)
    res.check(containers == [f"genosift/genosift:{cargo_version}"], f"container tag is Cargo.toml's version ({cargo_version})", f"got {containers}")
    config_tags = re.findall(r"genosift/genosift:([\w.-]+)", (NEXTFLOW_DIR / "nextflow.config").read_text())
    res.check(
        bool(config_tags) and all(t in (cargo_version, f"{cargo_version}-cuda") for t in config_tags),
        f"nextflow.config's image tags are Cargo.toml's version", f"got {config_tags}",
    )
    help_text = subprocess.run([str(genosift), "predict", "--help"], capture_output=True, text=True).stdout

    def knows(flag):
        return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text) is not None

    rendered = render(proc["script"], make_env({"id": "x"}, ["r.cram"], "m", 1, {}, fasta="ref.fa", fai="ref.fa.fai"))
    for flag in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", rendered))):
        res.check(knows(flag) or mqc_placeholder and flag == "--mqc", f"genosift predict knows {flag} (module script)")
    res.check("--reference ref.fa" in rendered, "a reference FASTA becomes --reference")
    res.check(
        re.search(r"\bsamtools\b|\|", rendered) is None and rendered.rstrip().endswith("r.cram"),
        "no samtools and no pipe: the reads files are genosift's arguments", rendered,
    )
    # The example pipeline's ext.args (nextflow.config) and the SLURM/GPU flags it adds.
    config_text = (NEXTFLOW_DIR / "nextflow.config").read_text()
    ext_args = re.search(r"ext\.args\s*=\s*\{(.*?)\}\s*\n\s*publishDir", config_text, re.S)
    res.check(ext_args is not None, "nextflow.config: GENOSIFT_PREDICT ext.args found")
    for flag in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", ext_args.group(1) if ext_args else ""))):
        res.check(knows(flag), f"genosift predict knows {flag} (nextflow.config ext.args)")
    test_args = re.search(r"test\s*\{.*?params\.genosift_args\s*=\s*'([^']*)'", config_text, re.S)
    res.check(test_args is not None, "nextflow.config: the test profile sets params.genosift_args")
    test_args = test_args.group(1) if test_args else ""
    for flag in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", test_args))):
        res.check(knows(flag), f"genosift predict knows {flag} (test profile genosift_args)")

    with tempfile.TemporaryDirectory(prefix="genosift-nf-module-") as tmp:
        scratch = Path(tmp)
        bindir = scratch / "bin"
        bindir.mkdir()
        (bindir / "genosift").symlink_to(genosift)
        inputs = scratch / "inputs"
        inputs.mkdir()

        # A second, different FASTQ for the multi-file cases: the first 400 NA12878 reads, plain
        # and gzipped.
        small = inputs / "na12878_400.fastq"
        small_gz = inputs / "na12878_400.fq.gz"
        with gzip.open(female, "rt") as src:
            head = "".join(line for _, line in zip(range(1600), src))
        small.write_text(head)
        with gzip.open(small_gz, "wt") as dst:
            dst.write(head)

        # The demo male BAM without its index beside it, and as a CRAM against a reference (a
        # samtools consensus of the BAM: any FASTA works if writer and reader use the same one).
        bare_bam = inputs / "demo-male.noindex.bam"
        shutil.copyfile(male_bam, bare_bam)
        ref_fa, cram = inputs / "demo_reference.fa", inputs / "demo-male.sorted.cram"
        for cmd in (
            ["samtools", "consensus", "-a", "--show-ins", "no", "-f", "fasta", "-o", str(ref_fa), str(male_bam)],
            ["samtools", "faidx", str(ref_fa)],
            ["samtools", "view", "-C", "-T", str(ref_fa), "-o", str(cram), str(male_bam)],
            ["samtools", "index", str(cram)],
        ):
            subprocess.run(cmd, check=True, capture_output=True)
        ref_fai, crai = Path(f"{ref_fa}.fai"), Path(f"{cram}.crai")

        def direct(extra, files):
            """genosift run by hand on the files: the row the module must reproduce."""
            p = subprocess.run(
                [str(genosift), "predict", "-m", str(model), "-t", "2", "-q", *extra, *map(str, files)],
                capture_output=True, text=True,
            )
            if p.returncode != 0:
                raise SystemExit(f"genosift on {[f.name for f in files]} failed:\n{p.stderr}")
            return dict(zip(*[line.split("\t") for line in p.stdout.splitlines()]))

        headers = tool_headers(genosift, model, scratch)
        print(f"genosift's calls header: {' '.join(headers[0])}")
        res.check(all(c in headers[0] for c in CALLS_COLUMNS), f"calls header has {CALLS_COLUMNS}", f"got {headers[0]}")
        common = dict(model=model, bindir=bindir, scratch=scratch, version=version)
        early = "--species human --stop-when-confident"

        # Sorted BAMs with their indexes: random order, early stop, the right call.
        for sample, bam, bai, call in (("demo_male", male_bam, male_bai, "male"), ("demo_female", female_bam, female_bai, "female")):
            got = run_case(res, proc, outputs, f"{sample}_bam", block="script", meta={"id": sample}, reads=[bam], index=[bai], ext={"args": early}, **common)
            if got:
                row = check_real_outputs(res, got[2], sample, mqc_placeholder, headers)
                summary = json.loads(got[2]["summary"][0].read_text())["summary"]
                res.check(row["call"] == call, f"{bam.name} + index: call {call}", f"got {row['call']!r}")
                res.check(summary.get("input", {}).get("order") == "random", "read in random order through the staged index", f"got {summary.get('input')}")
                res.check(summary.get("stopped_early") is True, f"--stop-when-confident stopped early ({row['n_records']} records)", f"stopped_early {summary.get('stopped_early')!r}")
                ref = {**direct(early.split() + ["--sample", sample], [bam]), "sample": sample}
                res.check(row == ref, "same row as genosift on the BAM by hand", f"{row} vs {ref}")

        # The reported sex from the sample sheet (meta.sex): sex_check ok when it agrees; a swapped
        # sample is a mismatch, and with --fail-on-mismatch the task fails.
        got = run_case(res, proc, outputs, "meta_sex_ok", block="script", meta={"id": "reported", "sex": "M"}, reads=[male_bam], index=[male_bai], ext={"args": early}, **common)
        if got:
            row = check_real_outputs(res, got[2], "reported", mqc_placeholder, headers)
            res.check((row.get("expected_sex"), row.get("sex_check")) == ("male", "ok"), "meta.sex M: expected_sex male, sex_check ok", f"got {row.get('expected_sex')!r}, {row.get('sex_check')!r}")
        got = run_case(res, proc, outputs, "meta_sex_swapped", block="script", meta={"id": "swapped", "sex": "female"}, reads=[male_bam], index=[male_bai], ext={"args": early}, **common)
        if got:
            row = check_real_outputs(res, got[2], "swapped", mqc_placeholder, headers)
            res.check(row.get("sex_check") == "mismatch", "meta.sex female on a male: sex_check mismatch", f"got {row.get('sex_check')!r}")
        run_case(res, proc, outputs, "meta_sex_fail_on_mismatch", block="script", meta={"id": "swapped", "sex": "female"}, reads=[male_bam], index=[male_bai], ext={"args": early + " --fail-on-mismatch"}, expect_fail=True, **common)

        # A sorted BAM without its index: refused with --stop-when-confident, read whole without.
        whole = None
        run_case(res, proc, outputs, "bam_no_index_early", block="script", meta={"id": "noindex"}, reads=[bare_bam], ext={"args": early}, expect_fail=True, **common)
        got = run_case(res, proc, outputs, "bam_no_index_whole", block="script", meta={"id": "noindex"}, reads=[bare_bam], ext={"args": "--species human"}, **common)
        if got:
            row = check_real_outputs(res, got[2], "noindex", mqc_placeholder, headers)
            summary = json.loads(got[2]["summary"][0].read_text())["summary"]
            res.check(row["call"] == "male", "sorted BAM without index, read whole: call male", f"got {row['call']!r}")
            res.check(summary.get("stopped_early") is False and summary.get("input", {}).get("order") == "file", "read whole, in file order", f"{summary.get('input')}, stopped_early {summary.get('stopped_early')!r}")
            whole = {k: v for k, v in row.items() if k != "sample"}

        # CRAM with the reference and its .fai: read whole, the same row as the BAM it was made
        # from; with its .crai, in random order until the call is confident.
        got = run_case(
            res, proc, outputs, "cram_whole", block="script", meta={"id": "cram"}, reads=[cram], fasta=ref_fa, fai=ref_fai,
            ext={"args": "--species human"}, **common,
        )
        if got:
            row = check_real_outputs(res, got[2], "cram", mqc_placeholder, headers)
            res.check("--reference demo_reference.fa" in (got[0] / ".command.sh").read_text(), "the staged FASTA is --reference")
            res.check(row["call"] == "male", "CRAM + reference: call male", f"got {row['call']!r}")
            if whole:
                row = {k: v for k, v in row.items() if k != "sample"}
                res.check(row == whole, "CRAM gives the same row as the BAM it was made from", f"{row} vs {whole}")
        got = run_case(
            res, proc, outputs, "cram_index_early", block="script", meta={"id": "cram"}, reads=[cram], index=[crai],
            fasta=ref_fa, fai=ref_fai, ext={"args": early}, **common,
        )
        if got:
            row = check_real_outputs(res, got[2], "cram", mqc_placeholder, headers)
            summary = json.loads(got[2]["summary"][0].read_text())["summary"]
            res.check(row["call"] == "male", "CRAM + .crai + reference: call male", f"got {row['call']!r}")
            res.check(summary.get("input", {}).get("order") == "random", "read in random order through the staged .crai", f"got {summary.get('input')}")
            res.check(summary.get("stopped_early") is True, f"--stop-when-confident stopped early ({row['n_records']} records)", f"stopped_early {summary.get('stopped_early')!r}")
            ref = {**direct(early.split() + ["--sample", "cram", "--reference", str(ref_fa)], [cram]), "sample": "cram"}
            res.check(row == ref, "same row as genosift on the CRAM by hand", f"{row} vs {ref}")
        run_case(res, proc, outputs, "cram_no_reference", block="script", meta={"id": "cram"}, reads=[cram], ext={"args": "--species human"}, expect_fail=True, **common)

        # Several files are one sample: the same row as genosift on the same files by hand, and
        # the records of both.
        got = run_case(
            res, proc, outputs, "two_fastq_ext", block="script", meta={"id": "two_fastq", "species": "human"},
            reads=[sry_fastq, small], ext={"args": "--species human --batch-groups 2 --quiet", "prefix": "custom_prefix"}, **common,
        )
        if got:
            res.check(all(p[0].name.startswith("custom_prefix") for p in got[2].values() if p), "ext.prefix names the files")
            row = check_real_outputs(res, got[2], "two_fastq", mqc_placeholder, headers)
            ref = direct(["--species", "human", "--batch-groups", "2", "--sample", "two_fastq"], [sry_fastq, small])
            res.check(row == ref, "gzipped + plain FASTQ: the row genosift gives on both files by hand", f"{row} vs {ref}")
            res.check(row["n_records"] == str(409 + 400), "both read: 409 + 400 records", f"got {row['n_records']}")
            res.check("--batch-groups 2 --quiet" in (got[0] / ".command.sh").read_text(), "ext.args reaches the command line")

        got = run_case(res, proc, outputs, "bam_and_fastq", block="script", meta={"id": "mixed"}, reads=[sry_bam, small_gz], ext={"args": "--species human"}, **common)
        if got:
            row = check_real_outputs(res, got[2], "mixed", mqc_placeholder, headers)
            ref = direct(["--species", "human", "--sample", "mixed"], [sry_bam, small_gz])
            res.check(row == ref, "BAM + gzipped FASTQ: the row genosift gives on both files by hand", f"{row} vs {ref}")
            n_bam = direct(["--species", "human"], [sry_bam])["n_records"]
            res.check(row["n_records"] == str(int(n_bam) + 400), f"both read: {n_bam} + 400 records", f"got {row['n_records']}")

        # --max-groups on an indexed BAM + a FASTQ: genosift stops reading; nothing fails.
        got = run_case(
            res, proc, outputs, "max_groups", block="script", meta={"id": "early"}, reads=[female_bam, male_fq], index=[female_bai],
            ext={"args": "--species human --max-groups 2"}, **common,
        )
        if got:
            row = check_real_outputs(res, got[2], "early", mqc_placeholder, headers)
            res.check(row["n_groups"] == "2", "--max-groups 2: two groups, then genosift stops reading", f"got {row['n_groups']}")

        # A broken input fails the task, even when a later file reads fine.
        broken = inputs / "broken.bam"
        broken.write_bytes(b"this is not a BAM file\n" * 100)
        run_case(res, proc, outputs, "broken_bam", block="script", meta={"id": "broken"}, reads=[broken, sry_fastq], ext={"args": "--species human"}, expect_fail=True, **common)

        got = run_case(res, proc, outputs, "stub", block="stub", meta={"id": "stubbed"}, reads=[male_bam], index=[male_bai], ext={"prefix": "stub_prefix"}, **common)
        if got:
            res.check(all(p and p[0].name.startswith("stub_prefix") for p in got[2].values()), "stub: ext.prefix names the files")

        # The example pipeline's test profile: its sample sheet, grouped by sample as main.nf does,
        # with the ext.args nextflow.config gives each sample (--device, --species, genosift_args).
        print("\n[example pipeline test sample sheet]")
        sheet = NEXTFLOW_DIR / "tests" / "samplesheet.csv"
        lines = sheet.read_text().splitlines()
        header = lines[0].split(",")
        res.check(header[:2] == ["sample", "reads"] and set(header) <= {"sample", "reads", "index", "species"}, "samplesheet.csv: header sample,reads[,index][,species]", f"got {header}")
        samples = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            entry = samples.setdefault(row["sample"], {"reads": [], "index": [], "species": row.get("species", "")})
            for key in ("reads", "index"):
                if row.get(key):
                    path = (sheet.parent / row[key]).resolve()
                    res.check(path.exists(), f"samplesheet.csv: {row[key]} exists (relative to the sheet)")
                    entry[key].append(path)
        for sample, entry in samples.items():
            sample_args = " ".join(a for a in ["--device cpu", f"--species '{entry['species']}'" if entry["species"] else "", test_args] if a)
            got = run_case(
                res, proc, outputs, f"sheet_{sample}", block="script", meta={"id": sample, "species": entry["species"]},
                reads=entry["reads"], index=entry["index"], ext={"args": sample_args}, **common,
            )
            call = expected_call(sample)
            res.check(call is not None, f"{sample}: the name says male or female")
            if got and call:
                row = check_real_outputs(res, got[2], sample, mqc_placeholder, headers)
                res.check(row["call"] == call, f"{sample}: call {call}", f"got {row['call']!r}")

        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="genosift-nf-module-kept-"))
            shutil.copytree(scratch, kept, symlinks=True, dirs_exist_ok=True)
            print(f"\nwork directories kept in {kept}")

    check_meta_yml(res, proc, outputs)

    print(f"\n{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Unsupported as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
