"""Compares two executions of the same notebooks cell for cell: `mmeureka notebook run`'s and Jupyter's (our kernel).

For every code cell: the same execution count, the same sequence of outputs (consecutive stream writes of one
stream joined on both sides), the same stream names and the same MIME types in each bundle. Texts are compared
exactly, then with generated element ids (random hex) masked; a text that differs only in its numbers (timings, "this session: 0.4 min") is listed as such and counted,
any other difference fails. Any error output on the Jupyter side fails.

usage: compare_outputs.py RUNNER_DIR JUPYTER_DIR NAME.ipynb...
"""
import json
import os
import re
import sys

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# Generated element ids (a random hex part, with or without a per-process counter), e.g. mmeureka-plot-1bff5101d2-4.
HEX_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b(?:-\d+)?")


def text(value):
    if isinstance(value, list):
        return "".join(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def outputs(cell):
    merged = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream" and merged and merged[-1]["output_type"] == "stream" and merged[-1]["name"] == o["name"]:
            merged[-1] = dict(merged[-1], text=text(merged[-1]["text"]) + text(o["text"]))
        else:
            merged.append(o)
    return merged


def parts(o):
    """(label, text) pairs of one output."""
    kind = o["output_type"]
    if kind == "stream":
        return [(f"stream {o['name']}", text(o["text"]))]
    if kind == "error":
        return [("error", f"{o['ename']}: {o['evalue']}")]
    return [(f"{kind} {mime}", text(v)) for mime, v in sorted(o.get("data", {}).items())]


def main(runner_dir, jupyter_dir, names):
    failures, identical, same_but_ids, numbers_only = [], 0, 0, []
    for name in names:
        a = json.load(open(os.path.join(runner_dir, name)))
        b = json.load(open(os.path.join(jupyter_dir, name)))
        ca = [c for c in a["cells"] if c["cell_type"] == "code"]
        cb = [c for c in b["cells"] if c["cell_type"] == "code"]
        if len(ca) != len(cb):
            failures.append(f"{name}: {len(ca)} code cells vs {len(cb)}")
            continue
        for i, (x, y) in enumerate(zip(ca, cb), 1):
            where = f"{name} code cell {i}"
            for o in y.get("outputs", []):
                if o["output_type"] == "error":
                    failures.append(f"{where}: error output under Jupyter: {o['ename']}: {o['evalue']}")
            if x.get("execution_count") != y.get("execution_count"):
                failures.append(f"{where}: execution_count {x.get('execution_count')} vs {y.get('execution_count')}")
            ox, oy = outputs(x), outputs(y)
            shape_x = [(o["output_type"], o.get("name"), sorted(o.get("data", {}))) for o in ox]
            shape_y = [(o["output_type"], o.get("name"), sorted(o.get("data", {}))) for o in oy]
            if shape_x != shape_y:
                failures.append(f"{where}: outputs {shape_x} vs {shape_y}")
                continue
            for o1, o2 in zip(ox, oy):
                for (label, t1), (_, t2) in zip(parts(o1), parts(o2)):
                    if t1 == t2:
                        identical += 1
                    elif HEX_ID.sub("ID", t1) == HEX_ID.sub("ID", t2):
                        same_but_ids += 1
                    elif NUMBER.sub("#", HEX_ID.sub("ID", t1)) == NUMBER.sub("#", HEX_ID.sub("ID", t2)):
                        n1, n2 = NUMBER.findall(HEX_ID.sub("ID", t1)), NUMBER.findall(HEX_ID.sub("ID", t2))
                        diff = [(p, q) for p, q in zip(n1, n2) if p != q]
                        numbers_only.append(f"{where} {label}: {len(diff)} numbers differ, e.g. {diff[:3]}")
                    else:
                        failures.append(f"{where} {label}: texts differ:\n  runner:  {t1[:200]!r}\n  jupyter: {t2[:200]!r}")
    for line in numbers_only:
        print("numbers only:", line)
    for line in failures:
        print("FAIL", line)
    print(f"compared {len(names)} notebooks: {identical} output texts identical, {same_but_ids} identical but for generated element ids, "
          f"{len(numbers_only)} differ only in numbers, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
