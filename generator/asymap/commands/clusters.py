"""``asymap clusters``: the cluster presets shipped with asymap, usable by bare name."""

from __future__ import annotations

HELP = "list the cluster presets (use them by bare name: asymap plan m.onnx edge4)"
EXAMPLE = "asymap clusters\n  asymap plan resnet18.onnx edge4 -o plan.json"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print the presets as JSON")


def run(args) -> int:
    import json

    from asymap.cluster.load import load_cluster
    from asymap.cluster.presets import presets

    rows = []
    for pr in presets():
        c = load_cluster(pr.path)
        types = sorted({b.type for b in c.boards})
        rows.append({"name": pr.name, "boards": len(c.boards), "links": len(c.links), "types": types,
                     "peak_gops": round(c.peak_gops, 1), "description": pr.description, "path": str(pr.path)})
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    tw = max([len(", ".join(r["types"])) for r in rows] + [5])
    print(f"{'name':<10} {'boards':>6} {'links':>5}  {'types':<{tw}}  description")
    for r in rows:
        print(f"{r['name']:<10} {r['boards']:>6} {r['links']:>5}  {', '.join(r['types']):<{tw}}  {r['description']}")
    return 0
