"""reftrace lint rules for workflows/nextflow (run by .ci/workflows.sh).

    reftrace lint --rules workflows/nextflow/tests/lint_rules.py --directory workflows/nextflow

reftrace parses every *.nf and *.config file under the directory (a file that does not parse fails
the run) and calls each @rule on every parsed .nf file and each @configrule on every .config file.
`rule`, `configrule`, `LintError` and `LintWarning` are injected by reftrace when it loads this file.
Errors fail the run; warnings are printed.
"""

# nf-core's resource labels (what the example nextflow.config gives resources to).
STANDARD_LABELS = {
    "process_single",
    "process_low",
    "process_medium",
    "process_high",
    "process_long",
    "process_high_memory",
}


def _container_names(container):
    if container.format.name == "SIMPLE":
        return [container.simple_name] if container.simple_name else []
    return [n for n in (container.true_name, container.false_name) if n]


@rule  # noqa: F821
def one_standard_resource_label(module, results):
    """Each process has exactly one nf-core resource label, so configs can size it."""
    for process in module.processes:
        labels = [label.value for label in process.labels]
        standard = [label for label in labels if label in STANDARD_LABELS]
        if len(standard) != 1:
            results.errors.append(
                LintError(  # noqa: F821
                    process.line,
                    f"process {process.name}: needs exactly one of {sorted(STANDARD_LABELS)}, has {labels}",
                )
            )


@rule  # noqa: F821
def has_tag(module, results):
    """Each process tags its tasks (the sample id in the log and the trace)."""
    for process in module.processes:
        if not process.tags:
            results.errors.append(LintError(process.line, f"process {process.name}: no tag directive"))  # noqa: F821


@rule  # noqa: F821
def container_pinned(module, results):
    """Containers carry an explicit tag other than latest, and contain no spaces."""
    for process in module.processes:
        for container in process.containers:
            for name in _container_names(container):
                last = name.rsplit("/", 1)[-1]
                if " " in name:
                    results.errors.append(LintError(container.line, f"container '{name}' contains a space"))  # noqa: F821
                elif name.endswith(".sif"):
                    continue
                elif ":" not in last or last.endswith(":latest"):
                    results.errors.append(
                        LintError(container.line, f"container '{name}' needs a pinned tag (not latest)")  # noqa: F821
                    )


@rule  # noqa: F821
def module_has_software(module, results):
    """A module (modules/**/main.nf) declares both a conda environment and a container."""
    if "/modules/" not in "/" + module.path.replace("\\", "/"):
        return
    for process in module.processes:
        if not process.condas:
            results.errors.append(LintError(process.line, f"process {process.name}: no conda directive"))  # noqa: F821
        if not process.containers:
            results.errors.append(LintError(process.line, f"process {process.name}: no container directive"))  # noqa: F821


def _value_uses_params_outside_closure(value):
    return bool(value.params) and not value.in_closure


@configrule  # noqa: F821
def params_in_closures(config, results):
    """Process directives in a config that read params are closures (evaluated per task, after
    the command line and every -c config have set the params)."""
    scopes = []
    for process_scope in config.process_scopes:
        scopes.append(process_scope.directives)
        scopes.extend(named.directives for named in process_scope.named_scopes)
    for directives in scopes:
        for directive in directives:
            if directive.options:
                for option in directive.options:
                    if directive.name == "publishDir" and option.name == "mode":
                        continue
                    if _value_uses_params_outside_closure(option.value):
                        results.errors.append(
                            LintError(  # noqa: F821
                                option.line_number,
                                f"{directive.name}.{option.name} reads params outside a closure",
                            )
                        )
            elif _value_uses_params_outside_closure(directive.value):
                results.errors.append(
                    LintError(directive.line_number, f"{directive.name} reads params outside a closure")  # noqa: F821
                )
