"""Loading and validating a cluster file (DESIGN.md, "Cluster YAML").

A cluster is boards (by library type or with inline ``resources:``) and undirected links with a
bandwidth (Gbit/s) and a latency (ns). The topology must be connected: a pipeline can only use
boards that form a path of direct links. Every mistake a user can make is reported as one line
naming the file and the key, with the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from asymap.cluster.boards import SAFE_LOADER, BoardSpec, load_board_type, spec_from_dict, unknown_key
from asymap.errors import UserError
from asymap.util.numbers import check_finite

TOP_KEYS = ("name", "boards", "links", "host", "build")
BOARD_KEYS = ("name", "type", "resources", "clock_mhz", "platform")
LINK_KEYS = ("a", "b", "gbps", "latency_ns")
HOST_KEYS = ("name", "attach", "gbps", "latency_ns")
BUILD_TYPES = {"cpus": int, "mem_gb": (int, float), "time": (str, int), "partition": str}


@dataclass(frozen=True)
class Board:
    name: str
    spec: BoardSpec
    platform: str | None = None  # Vitis platform override (cluster YAML 'platform:'), see asymap.cluster.deploy
    deploy_raw: dict | None = None  # an inline board's 'resources: deploy:' block, validated by asymap.cluster.deploy

    @property
    def type(self) -> str:
        return self.spec.type


@dataclass(frozen=True)
class Link:
    """An undirected point-to-point link. The AXI-Stream data width of its kernels is 64 bits for
    line rates up to 25 Gbit/s and 512 bits above (100G MACs present 512-bit streams)."""

    a: str
    b: str
    gbps: float
    latency_ns: float = 0.0

    @property
    def width_bits(self) -> int:
        return 64 if self.gbps <= 25 else 512

    def seconds(self, nbytes: float) -> float:
        """Time one image's ``nbytes`` occupy the link: serialization plus latency."""
        return nbytes * 8.0 / (self.gbps * 1e9) + self.latency_ns * 1e-9


@dataclass
class Cluster:
    boards: list[Board]
    links: list[Link]
    path: str = ""
    sha256: str = ""
    name: str = ""
    host: dict | None = None
    build: dict | None = None
    _adj: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._adj = {b.name: {} for b in self.boards}
        for ln in self.links:
            self._adj[ln.a][ln.b] = ln
            self._adj[ln.b][ln.a] = ln

    def board(self, name: str) -> Board:
        for b in self.boards:
            if b.name == name:
                return b
        raise KeyError(name)

    def link(self, a: str, b: str) -> Link | None:
        return self._adj.get(a, {}).get(b)

    def neighbors(self, name: str) -> list[str]:
        return sorted(self._adj[name])

    def subset(self, names: list[str]) -> "Cluster":
        keep = set(names)
        return Cluster(
            boards=[b for b in self.boards if b.name in keep],
            links=[ln for ln in self.links if ln.a in keep and ln.b in keep],
            path=self.path, sha256=self.sha256, name=self.name, host=self.host, build=self.build,
        )

    @property
    def peak_gops(self) -> float:
        return sum(b.spec.peak_gops for b in self.boards)


def _check_keys(where: str, d, allowed) -> None:
    if not isinstance(d, dict):
        raise UserError(f"{where}: expected a mapping with keys {', '.join(allowed)}")
    for k in d:
        if k not in allowed:
            raise unknown_key(where, k, allowed)


def _positive(where: str, key: str, v, allow_zero: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UserError(f"{where}: '{key}' must be a number, got {v!r}")
    check_finite(where, key, v)
    if v < 0 or (v == 0 and not allow_zero):
        raise UserError(f"{where}: '{key}' must be {'non-negative' if allow_zero else 'positive'}, got {v!r}")
    return float(v)


def _connected(names: list[str], links: list[Link]) -> list[str]:
    """Names not reachable from the first board."""
    adj: dict[str, set] = {n: set() for n in names}
    for ln in links:
        adj[ln.a].add(ln.b)
        adj[ln.b].add(ln.a)
    seen, stack = {names[0]}, [names[0]]
    while stack:
        for m in adj[stack.pop()]:
            if m not in seen:
                seen.add(m)
                stack.append(m)
    return [n for n in names if n not in seen]


def cluster_from_dict(data, where: str = "cluster") -> Cluster:
    """Validate a parsed cluster file; ``where`` prefixes every error."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping with 'boards' and 'links'")
    _check_keys(where, data, TOP_KEYS)
    raw_boards = data.get("boards")
    if not isinstance(raw_boards, list) or not raw_boards:
        raise UserError(f"{where}: 'boards' must be a non-empty list of {{name, type}} entries")
    boards: list[Board] = []
    seen: set[str] = set()
    for i, rb in enumerate(raw_boards):
        w = f"{where}: boards[{i}]"
        _check_keys(w, rb, BOARD_KEYS)
        name = rb.get("name")
        if not isinstance(name, str) or not name:
            raise UserError(f"{w}: missing 'name'")
        if name in seen:
            raise UserError(f"{w}: duplicate board name '{name}'; names must be unique")
        seen.add(name)
        w = f"{where}: board '{name}'"
        if ("type" in rb) == ("resources" in rb):
            raise UserError(f"{w}: give exactly one of 'type' (a boards/*.yaml id) or 'resources'")
        if "type" in rb:
            spec = load_board_type(str(rb["type"]), where=w)
        else:
            # Inline boards default to DSP48E1 (1 int8 MAC/DSP): the conservative choice.
            spec = spec_from_dict(f"custom:{name}", rb["resources"], f"{w}: resources", default_dsp_type="DSP48E1")
        if "clock_mhz" in rb:  # the clock this board's build closes at, instead of the library's
            mhz = _positive(w, "clock_mhz", rb["clock_mhz"])
            spec = dataclasses.replace(spec, clock_mhz=mhz, clock_source=f"cluster file ({mhz:g} MHz for '{name}')")
        platform = rb.get("platform")
        if platform is not None and (not isinstance(platform, str) or not platform.strip() or " " in platform):
            raise UserError(f"{w}: 'platform' must be a Vitis platform name or .xpfm path, got {platform!r}")
        deploy_raw = rb["resources"].get("deploy") if "resources" in rb else None
        boards.append(Board(name, spec, platform, deploy_raw))
    raw_links = data.get("links") or []
    if not isinstance(raw_links, list):
        raise UserError(f"{where}: 'links' must be a list of {{a, b, gbps, latency_ns}} entries")
    links: list[Link] = []
    pairs: set = set()
    for i, rl in enumerate(raw_links):
        w = f"{where}: links[{i}]"
        _check_keys(w, rl, LINK_KEYS)
        for k in ("a", "b", "gbps"):
            if k not in rl:
                raise UserError(f"{w}: missing '{k}'")
        a, b = str(rl["a"]), str(rl["b"])
        for end in (a, b):
            if end not in seen:
                import difflib

                near = difflib.get_close_matches(end, sorted(seen), n=1)
                hint = f"did you mean '{near[0]}'?" if near else "declare it under 'boards'"
                raise UserError(f"{w}: link to missing board '{end}'; {hint}")
        if a == b:
            raise UserError(f"{w}: link from board '{a}' to itself")
        if frozenset((a, b)) in pairs:
            raise UserError(f"{w}: second link between '{a}' and '{b}'; give one link per pair")
        pairs.add(frozenset((a, b)))
        gbps = _positive(w, "gbps", rl["gbps"])
        lat = _positive(w, "latency_ns", rl.get("latency_ns", 0), allow_zero=True)
        links.append(Link(a, b, gbps, lat))
    names = [b.name for b in boards]
    lost = _connected(names, links)
    if lost:
        raise UserError(
            f"{where}: topology is disconnected: board(s) {', '.join(repr(x) for x in lost)} have no link path to '{names[0]}'; add links"
        )
    host = data.get("host")
    if host is not None:
        _check_keys(f"{where}: host", host, HOST_KEYS)
        if "attach" in host and host["attach"] not in seen:
            raise UserError(f"{where}: host: 'attach' names missing board '{host['attach']}'")
        host = dict(host)
        if "gbps" in host:
            host["gbps"] = _positive(f"{where}: host", "gbps", host["gbps"])
        if "latency_ns" in host:
            host["latency_ns"] = _positive(f"{where}: host", "latency_ns", host["latency_ns"], allow_zero=True)
    build = data.get("build")
    if build is not None:
        if not isinstance(build, dict):
            raise UserError(f"{where}: build: expected a mapping (cpus, mem_gb, time, partition)")
        for k, typ in BUILD_TYPES.items():
            if k in build and (isinstance(build[k], bool) or not isinstance(build[k], typ)):
                raise UserError(f"{where}: build: '{k}' has the wrong type ({build[k]!r})")
        build = dict(build)
    return Cluster(boards=boards, links=links, name=str(data.get("name", "")), host=host, build=build)


def load_cluster(path) -> Cluster:
    """Read and validate a cluster YAML file."""
    from asymap.cluster.presets import not_found_hint, resolve_cluster

    p = resolve_cluster(path)  # a preset by bare name (edge4) from any directory
    if not p.is_file():
        raise UserError(f"{p}: cluster file not found; {not_found_hint()}")
    raw = p.read_bytes()
    try:
        data = yaml.load(raw, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise UserError(f"{p}: not valid YAML{f' (line {line + 1})' if line is not None else ''}") from None
    c = cluster_from_dict(data, where=str(p))
    c.path = str(path) if p == Path(path) else str(p)
    c.sha256 = hashlib.sha256(raw).hexdigest()
    if not c.name:
        c.name = p.stem
    return c
