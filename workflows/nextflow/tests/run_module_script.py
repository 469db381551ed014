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
  4. stages the inputs as symbolic links in a fresh work directory, with `genosift` (the build
     under test) and the system `samtools` on PATH, and runs the script with `bash -euo pipefail`
     (the example pipeline's process.shell);
  5. checks every declared output: `path(...)` patterns must match a file, `eval(...)` commands
     must succeed (the genosift one must print the version of the binary under test);
  6. checks the contents: the calls table's header, its one row, the sample name, the call; the
     groups table's header; the JSON summary; the MultiQC table; and that streaming the bundled
     BAM through the module gives the same call as running genosift on the bundled FASTQ that
     `samtools fastq -F 0x900` made from it;
  7. checks meta.yml against main.nf (inputs, output names, version commands, topics).

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


def make_env(meta, reads, model, fasta, cpus, ext):
    return {
        "meta": dict(meta),
        "task": {"cpus": cpus, "ext": dict(ext), "process": "GENOSIFT_PREDICT", "attempt": 1},
        "reads": reads if len(reads) > 1 else reads[0],
        "model": model,
        "meta2": {},
        "fasta": fasta if fasta else [],
    }


def run_case(res, proc, outputs, name, *, block, meta, reads, model, fasta, ext, bindir, scratch, version, expect_fail=False):
    print(f"\n[{name}]")
    workdir = scratch / name
    workdir.mkdir()
    staged = [stage(workdir, r) for r in reads]
    model_name = stage(workdir, model)
    env = make_env(meta, staged, model_name, stage(workdir, fasta) if fasta else None, 2, ext)
    script = render(proc[block], env)
    (workdir / ".command.sh").write_text(script)
    path_env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    with open(workdir / ".command.out", "w") as out, open(workdir / ".command.err", "w") as err:
        rc = subprocess.run(["bash", "-euo", "pipefail", ".command.sh"], cwd=workdir, env=path_env, stdout=out, stderr=err).returncode
    stderr = (workdir / ".command.err").read_text()
    if expect_fail:
        res.check(rc != 0, f"{block}: fails (exit {rc})", f"exit 0; stderr:\n{stderr[-2000:]}")
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
        [str(genosift), "predict", "-m", str(model), "-q", "-o", str(calls), "--groups", str(groups), "-"],
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
    n_inputs = len([ln for ln in proc["input"].splitlines() if ln.strip() and not ln.strip().startswith("//")])
    res.check(len(meta.get("input", [])) == n_inputs, f"meta.yml: {n_inputs} inputs as main.nf")
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genosift", required=True, help="the genosift binary under test")
    ap.add_argument("--model", default=str(REPO / "test-data" / "gena-tiny" / "classifier"))
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    args = ap.parse_args()

    genosift = Path(args.genosift).resolve()
    model = Path(args.model).resolve()
    reads_dir = REPO / "test-data" / "reads"
    bam = reads_dir / "ngsbits_sry.MALE.Illumina.hg19.bam"
    fastq = reads_dir / "ngsbits_sry.MALE.Illumina.hg19.primary.fastq.gz"
    female = reads_dir / "ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.primary.fastq.gz"
    for p in (genosift, model, bam, fastq, female):
        if not p.exists():
            raise SystemExit(f"missing: {p}")
    if shutil.which("samtools") is None:
        raise SystemExit("samtools is not on PATH (apt-get install samtools)")

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

    rendered = render(proc["script"], make_env({"id": "x"}, ["r.bam"], "m", None, 1, {}))
    for flag in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", rendered))):
        res.check(knows(flag) or mqc_placeholder and flag == "--mqc", f"genosift predict knows {flag} (module script)")
    # The example pipeline's ext.args (nextflow.config) and the SLURM/GPU flags it adds.
    config_text = (NEXTFLOW_DIR / "nextflow.config").read_text()
    ext_args = re.search(r"ext\.args\s*=\s*\{(.*?)\}\s*\n\s*publishDir", config_text, re.S)
    res.check(ext_args is not None, "nextflow.config: GENOSIFT_PREDICT ext.args found")
    for flag in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", ext_args.group(1) if ext_args else ""))):
        res.check(knows(flag), f"genosift predict knows {flag} (nextflow.config ext.args)")

    with tempfile.TemporaryDirectory(prefix="genosift-nf-module-") as tmp:
        scratch = Path(tmp)
        bindir = scratch / "bin"
        bindir.mkdir()
        (bindir / "genosift").symlink_to(genosift)

        # A second, different FASTQ for the multi-file cases: the first 400 female reads, plain
        # and gzipped.
        (scratch / "inputs").mkdir()
        small = scratch / "inputs" / "na12878_400.fastq"
        small_gz = scratch / "inputs" / "na12878_400.fq.gz"
        with gzip.open(female, "rt") as src:
            head = "".join(line for _, line in zip(range(1600), src))
        small.write_text(head)
        with gzip.open(small_gz, "wt") as dst:
            dst.write(head)

        # Reference: the tool on the bundled FASTQ (samtools fastq -F 0x900 of the bundled BAM).
        ref = subprocess.run([str(genosift), "predict", "-m", str(model), "-t", "2", "-q", "--sample", "sry_bam", str(fastq)], capture_output=True, text=True)
        if ref.returncode != 0:
            raise SystemExit(f"genosift on {fastq.name} failed:\n{ref.stderr}")
        ref_row = dict(zip(*[line.split("\t") for line in ref.stdout.splitlines()]))

        headers = tool_headers(genosift, model, scratch)
        print(f"genosift's calls header: {' '.join(headers[0])}")
        res.check(all(c in headers[0] for c in CALLS_COLUMNS), f"calls header has {CALLS_COLUMNS}", f"got {headers[0]}")
        common = dict(model=model, bindir=bindir, scratch=scratch, version=version)
        got = run_case(res, proc, outputs, "bam", block="script", meta={"id": "sry_bam"}, reads=[bam], fasta=None, ext={}, **common)
        if got:
            row = check_real_outputs(res, got[2], "sry_bam", mqc_placeholder, headers)
            res.check(row == ref_row, "BAM through the module = genosift on the bundled FASTQ", f"{row} vs {ref_row}")
            res.check(" -F 0x900 " in (got[0] / ".command.sh").read_text(), "BAM streamed through samtools fastq -F 0x900")

        got = run_case(
            res, proc, outputs, "two_fastq_ext", block="script", meta={"id": "two_fastq", "species": "human"},
            reads=[fastq, small], fasta=None, ext={"args": "--batch-groups 2 --quiet", "prefix": "custom_prefix"}, **common,
        )
        if got:
            res.check(all(p[0].name.startswith("custom_prefix") for p in got[2].values() if p), "ext.prefix names the files")
            row = check_real_outputs(res, got[2], "two_fastq", mqc_placeholder, headers)
            res.check(row["n_records"] == str(409 + 400), "gzipped + plain FASTQ read as one stream (409 + 400 records)", f"got {row['n_records']}")
            res.check("--batch-groups 2 --quiet" in (got[0] / ".command.sh").read_text(), "ext.args reaches the command line")

        got = run_case(res, proc, outputs, "bam_and_fastq", block="script", meta={"id": "mixed"}, reads=[bam, small_gz], fasta=None, ext={}, **common)
        if got:
            row = check_real_outputs(res, got[2], "mixed", mqc_placeholder, headers)
            res.check(row["n_records"] == str(409 + 400), "BAM + gzipped FASTQ read as one stream (409 + 400 records)", f"got {row['n_records']}")

        # --max-groups: genosift stops reading, the reader gets SIGPIPE; not an error.
        got = run_case(
            res, proc, outputs, "max_groups", block="script", meta={"id": "early"}, reads=[bam, female], fasta=None,
            ext={"args": "--max-groups 1"}, **common,
        )
        if got:
            row = check_real_outputs(res, got[2], "early", mqc_placeholder, headers)
            res.check(row["n_groups"] == "1", "--max-groups 1: one group, the reader's SIGPIPE tolerated", f"got {row['n_groups']}")

        # A reader that fails (not a BAM) fails the task, even when a later file reads fine.
        broken = scratch / "inputs" / "broken.bam"
        broken.write_bytes(b"this is not a BAM file\n" * 100)
        run_case(res, proc, outputs, "broken_bam", block="script", meta={"id": "broken"}, reads=[broken, fastq], fasta=None, ext={}, expect_fail=True, **common)

        got = run_case(res, proc, outputs, "stub", block="stub", meta={"id": "stubbed"}, reads=[bam], fasta=None, ext={"prefix": "stub_prefix"}, **common)
        if got:
            res.check(all(p and p[0].name.startswith("stub_prefix") for p in got[2].values()), "stub: ext.prefix names the files")

        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="genosift-nf-module-kept-"))
            shutil.copytree(scratch, kept, symlinks=True, dirs_exist_ok=True)
            print(f"\nwork directories kept in {kept}")

    check_meta_yml(res, proc, outputs)

    print("\n[example pipeline test sample sheet]")
    sheet = NEXTFLOW_DIR / "tests" / "samplesheet.csv"
    rows = [ln.split(",") for ln in sheet.read_text().splitlines()]
    res.check(rows[0][:2] == ["sample", "reads"], "samplesheet.csv: header sample,reads")
    for r in rows[1:]:
        res.check((sheet.parent / r[1]).exists(), f"samplesheet.csv: {r[1]} exists (relative to the sheet)")

    print(f"\n{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Unsupported as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
