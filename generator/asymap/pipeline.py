"""``asymap run project.yaml``: the whole flow from one project file, resumable.

A project file names the model (or how to build it from the zoo), the cluster, calibration data,
the plan options, the output directory, the verify and build steps and the report: everything the
separate commands take as flags (docs/project-file.md maps every flag to its key). The flow runs
the same library functions as the commands, in the order of the flow:

    zoo (optional) -> plan -> generate -> verify -> build steps -> report

Resuming: after each step succeeds, its *fingerprint* (sha256 of the step's options and of the
contents of the files it reads) is stored in ``<output>.run.json`` beside the output directory. On
the next run a step whose fingerprint is unchanged and whose output still exists is skipped, so an
interrupted or failed run continues where it stopped, and editing the cluster re-runs the plan and
everything after it but not the zoo. The state file is written atomically after every step.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from asymap.errors import UserError
from asymap.util.fileio import atomic_write_text, check_output_dir
from asymap.util.progress import status

TOP_KEYS = ("name", "model", "zoo", "cluster", "calibration", "plan", "output", "generate", "verify", "build",
            "report")
ZOO_KEYS = {"name": str, "input_size": int, "width_mult": (int, float), "seed": int, "num_classes": int}
PLAN_KEYS = {"file": str, "boards": int, "util": (int, float), "sweep": bool, "pad": bool, "lane_split": bool}
GENERATE_KEYS = {"seed": int, "input": str, "allow_stale": bool}
VERIFY_KEYS = {"jobs": int, "input": str}
BUILD_KEYS = {"steps": list, "executor": str, "jobs": int, "platform": str, "tcl": bool, "boards": list,
              "cluster_build": bool}
STATE_SCHEMA = 1


@dataclass
class Project:
    """A validated project file; every path is absolute (relative ones are taken from the file's
    directory, so a project runs the same from any working directory)."""

    path: Path
    name: str
    model: Path
    cluster: str  # a path or a preset name (asymap.cluster.presets)
    output: Path
    plan_file: Path
    zoo: dict | None = None
    calibration: Path | None = None
    plan: dict = field(default_factory=dict)
    generate: dict = field(default_factory=dict)
    verify: dict | None = field(default_factory=dict)  # None: verify: false
    build: dict | None = None
    report: Path | None = None

    @property
    def state_file(self) -> Path:
        return self.output.parent / f"{self.output.name}.run.json"


def _section(where: str, data, key: str, types: dict) -> dict:
    v = data.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise UserError(f"{where}: '{key}' must be a mapping with keys {', '.join(types)}")
    for k, val in v.items():
        if k not in types:
            import difflib

            near = difflib.get_close_matches(str(k), list(types), n=1)
            hint = f"did you mean '{near[0]}'?" if near else f"allowed keys: {', '.join(types)}"
            raise UserError(f"{where}: unknown key '{key}.{k}'; {hint}")
        t = types[k]
        if val is not None and (isinstance(val, bool) and t is not bool or not isinstance(val, t)):
            raise UserError(f"{where}: '{key}.{k}' has the wrong type ({val!r})")
    return dict(v)


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate a project file; one-line UserError naming the file and key."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: project file not found; see docs/project-file.md for an example")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise UserError(f"{p}: not valid YAML{f' (line {line + 1})' if line is not None else ''}") from None
    where = str(p)
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping with keys model, cluster, output, ...")
    for k in data:
        if k not in TOP_KEYS:
            import difflib

            near = difflib.get_close_matches(str(k), TOP_KEYS, n=1)
            raise UserError(f"{where}: unknown key '{k}'; "
                            + (f"did you mean '{near[0]}'?" if near else f"allowed keys: {', '.join(TOP_KEYS)}"))
    for k in ("model", "cluster", "output"):
        if not isinstance(data.get(k), str) or not data[k]:
            raise UserError(f"{where}: '{k}' is required (a path{' or a preset name' if k == 'cluster' else ''})")
    base = p.resolve().parent

    def at(v: str) -> Path:  # normpath: messages show out/demo18, not examples/../out/demo18
        return Path(os.path.normpath(v if Path(v).is_absolute() else base / v))

    zoo = _section(where, data, "zoo", ZOO_KEYS) or None
    if zoo is not None and "name" not in zoo:
        raise UserError(f"{where}: 'zoo.name' is required when 'zoo' is given (e.g. resnet18)")
    plan = _section(where, data, "plan", PLAN_KEYS)
    gen = _section(where, data, "generate", GENERATE_KEYS)
    ver = data.get("verify", {})
    if ver is False:
        verify = None
    else:
        verify = _section(where, data, "verify", VERIFY_KEYS)
    build = _section(where, data, "build", BUILD_KEYS) or None
    if build is not None:
        from asymap.build.steps import STEPS

        steps = build.get("steps") or ["csim"]
        bad = [s for s in steps if s not in STEPS]
        if bad:
            raise UserError(f"{where}: 'build.steps' has unknown step {bad[0]!r}; use {', '.join(STEPS)}")
        build["steps"] = steps
        if build.get("executor", "local") not in ("local", "slurm"):
            raise UserError(f"{where}: 'build.executor' must be local or slurm, got {build['executor']!r}")
    for k in ("calibration", "report"):
        if data.get(k) is not None and not isinstance(data[k], str):
            raise UserError(f"{where}: '{k}' must be a path")
    cluster = data["cluster"]
    cl_path = at(cluster)
    if cl_path.exists() or "/" in cluster:
        cluster = str(cl_path)
    out = at(data["output"])
    return Project(
        path=p, name=str(data.get("name") or p.stem), model=at(data["model"]), cluster=cluster, output=out,
        plan_file=at(plan.pop("file")) if plan.get("file") else out.parent / f"{out.name}.plan.json",
        zoo=zoo, calibration=at(data["calibration"]) if data.get("calibration") else None, plan=plan,
        generate={**gen, **({"input": str(at(gen["input"]))} if gen.get("input") else {})},
        verify={**verify, **({"input": str(at(verify["input"]))} if verify and verify.get("input") else {})}
        if verify is not None else None,
        build=build, report=at(data["report"]) if data.get("report") else None,
    )


# --- fingerprints and state -----------------------------------------------------------------------
def _file_sha(path: Path | None) -> str | None:
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fingerprint(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _load_state(pr: Project) -> dict:
    try:
        data = json.loads(pr.state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("steps", {}) if isinstance(data, dict) and data.get("schema") == STATE_SCHEMA else {}


def _save_state(pr: Project, steps: dict) -> None:
    atomic_write_text(pr.state_file, json.dumps({"schema": STATE_SCHEMA, "project": str(pr.path), "steps": steps},
                                                indent=2, sort_keys=True) + "\n")


@dataclass
class RunResult:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ok: bool = True
    failed: str | None = None
    message: str = ""

    def as_dict(self) -> dict:
        return {"ran": self.ran, "skipped": self.skipped, "ok": self.ok, "failed": self.failed,
                "message": self.message}


def run_project(path: str | os.PathLike, quiet: bool = False, force: bool = False, print_fn=print) -> RunResult:
    """Run (or resume) the flow of a project file; ``force`` re-runs every step."""
    pr = load_project(path)
    if not pr.zoo and not pr.model.is_file():
        raise UserError(f"{pr.path}: model {pr.model} not found; fix 'model' or add a 'zoo' section to build it")
    # A project names where everything goes: the directories that hold the outputs are created.
    for d in {pr.output.parent, pr.plan_file.parent, pr.model.parent, *([pr.report.parent] if pr.report else [])}:
        d.mkdir(parents=True, exist_ok=True)
    state = {} if force else _load_state(pr)
    res = RunResult()
    names = (["zoo"] if pr.zoo else []) + ["plan", "generate"] + (["verify"] if pr.verify is not None else []) \
        + [f"build:{s}" for s in (pr.build or {}).get("steps", [])] + (["report"] if pr.report else [])
    total = len(names)

    def step(i: int, name: str, fp: str, outputs: list[Path], fn) -> bool:
        label = f"[{i}/{total}] {name}"
        if state.get(name) == fp and all(o.exists() for o in outputs):
            res.skipped.append(name)
            status(f"{label}: up to date", quiet)
            return True
        status(f"{label}: running", quiet)
        ok = fn()
        if not ok:
            res.ok, res.failed = False, name
            return False
        state[name] = fp
        _save_state(pr, state)
        res.ran.append(name)
        return True

    i = 0
    if pr.zoo:
        i += 1
        z = {"input_size": 224, "width_mult": 1.0, "seed": 0, "num_classes": 1000, **pr.zoo}

        def do_zoo() -> bool:
            from asymap.frontend.zoo import build_zoo_model
            from asymap.util.fileio import atomic_write_bytes

            check_output_dir(pr.model)
            m = build_zoo_model(z["name"], z["input_size"], z["width_mult"], z["seed"], z["num_classes"])
            atomic_write_bytes(pr.model, m.SerializeToString())
            return True
        if not step(i, "zoo", _fingerprint(zoo=z), [pr.model], do_zoo):
            return res
    if not pr.model.is_file():
        raise UserError(f"{pr.path}: model {pr.model} not found; fix 'model' or add a 'zoo' section to build it")
    from asymap.cluster.load import load_cluster

    cluster = load_cluster(pr.cluster)
    model_sha, cluster_sha = _file_sha(pr.model), cluster.sha256
    calib_sha = _file_sha(pr.calibration) if pr.calibration else None
    if pr.calibration and not pr.calibration.is_file():
        raise UserError(f"{pr.path}: calibration {pr.calibration} not found; fix 'calibration'")

    i += 1
    plan_opts = {"util": 0.8, "boards": None, "sweep": False, "pad": True, **pr.plan}

    def do_plan() -> bool:
        from asymap.codegen.deploy import plan_checks
        from asymap.frontend.onnx_import import load_model
        from asymap.partition.planner import plan

        check_output_dir(pr.plan_file)
        g = load_model(pr.model)
        p = plan(g, cluster, boards=plan_opts["boards"], util=plan_opts["util"], sweep=plan_opts["sweep"],
                 pad=plan_opts["pad"], model_path=str(pr.model), lane_split=plan_opts.get("lane_split", False),
                 calib=str(pr.calibration) if pr.calibration else None,  # recorded in plan.json model.calib
                 deployable=plan_checks(g, cluster))  # as 'asymap plan': a plan generate and the build accept
        atomic_write_text(pr.plan_file, p.to_json())
        print_fn(f"plan: {p.throughput_ips:.1f} images/s on {len(p.boards)} board(s), bottleneck {p.bottleneck} "
                 f"-> {pr.plan_file}")
        return True
    if not step(i, "plan", _fingerprint(model=model_sha, cluster=cluster_sha, opts=plan_opts, calib=calib_sha),
                [pr.plan_file], do_plan):
        return res

    i += 1
    gen = {"seed": 0, "input": None, "allow_stale": False, **pr.generate}

    def do_generate() -> bool:
        from asymap.codegen.project import generate, is_generated

        r = generate(str(pr.model), cluster, pr.output, plan=str(pr.plan_file), force=is_generated(pr.output),
                     quiet=quiet, input=gen["input"], seed=gen["seed"], allow_stale=gen["allow_stale"],
                     calib=str(pr.calibration) if pr.calibration else None)
        print_fn(f"generate: {len(r.boards)} board project(s) ({', '.join(r.boards)}) -> {r.out_dir}/")
        return True
    gen_fp = _fingerprint(model=model_sha, cluster=cluster_sha, plan=_file_sha(pr.plan_file), calib=calib_sha,
                          opts=gen, input=_file_sha(Path(gen["input"])) if gen["input"] else None)
    if not step(i, "generate", gen_fp, [pr.output / "chain.json"], do_generate):
        return res
    tree_fp = _file_sha(pr.output / "chain.json")

    if pr.verify is not None:
        i += 1
        vopts = {"jobs": None, "input": None, **pr.verify}

        def do_verify() -> bool:
            from asymap.util.lock import tree_lock
            from asymap.verify.runner import verify

            with tree_lock(pr.output, "run (verify)"):
                v = verify(pr.output, jobs=vopts["jobs"], input=vopts["input"], quiet=quiet)
            n = sum(b.tensors_checked for b in v.boards)
            if v.ok:
                print_fn(f"verify: PASS, {len(v.boards)} board(s), {n} tensor(s) bit-exact with the integer reference")
            else:
                res.message = f"verify: FAIL: {v.first_problem}"
                print_fn(res.message)
            return v.ok
        if not step(i, "verify", _fingerprint(tree=tree_fp, opts=vopts), [pr.output / "chain.json"], do_verify):
            return res

    for s in (pr.build or {}).get("steps", []):
        i += 1
        b = pr.build

        def do_build(s=s) -> bool:
            from asymap.build.runner import build
            from asymap.build.slurm import SlurmOptions
            from asymap.util.lock import tree_lock

            opts = SlurmOptions.from_build_section(cluster.build, str(cluster.path))
            with tree_lock(pr.output, f"run (build --step {s})"):
                r = build(pr.output, step=s, executor=b.get("executor", "local"), jobs=b.get("jobs"),
                          platform=b.get("platform"), tcl=bool(b.get("tcl")), resume=True, boards=b.get("boards"),
                          slurm_options=opts, quiet=quiet, print_fn=(lambda _m: None) if quiet else print_fn)
            print_fn(f"build {s}: {len(r.ran)} done, {len(r.failed)} failed, {len(r.skipped)} skipped")
            if not r.ok:
                res.message = f"build {s}: failed: {', '.join(r.failed)}"
            return r.ok
        bopts = {k: b.get(k) for k in ("executor", "platform", "tcl", "boards")}
        if not step(i, f"build:{s}", _fingerprint(tree=tree_fp, step=s, opts=bopts), [pr.output / "chain.json"],
                    do_build):
            return res

    if pr.report:
        i += 1

        def do_report() -> bool:
            from asymap.report.html import write_report

            data = write_report(pr.output, pr.report, quiet=True, cluster_path=cluster.path or None)
            print_fn(f"report: {pr.report} ({len(data.boards)} boards)")
            return True
        if not step(i, "report", _fingerprint(tree=tree_fp, plan=_file_sha(pr.plan_file), cluster=cluster_sha),
                    [pr.report], do_report):
            return res
    return res
