"""The benchmark result as targets (the performance issue's goals) and a markdown section."""

from __future__ import annotations

from typing import Any

__all__ = ["targets", "to_markdown"]


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _median(result: dict, shape: str, label: str) -> float | None:
    for r in result["shapes"].get(shape, {}).get("rows", []):
        if r["label"] == label:
            return r["median_s"]
    return None


def targets(result: dict) -> list[dict[str, Any]]:
    """The performance issue's goals, each with the measured ratio and whether it is met.

    Args:
      result: what `analysis.bench.peers.run_bench` returns.

    Returns:
      one dict per goal: measure, goal (the largest acceptable ratio), value, met, note.
    """
    out = []

    def add(measure: str, goal: float, value: float | None, note: str) -> None:
        met = None if value is None else bool(value <= goal)
        out.append({"measure": measure, "goal": goal, "value": value, "met": met, "note": note})

    for shape, goal in (("S1", 1.0), ("S2", 0.8), ("S3", 1.0)):
        if shape in result["shapes"]:
            for label in ("fused", "ours"):
                ref = result["shapes"][shape]["torch_reference"]
                add(
                    f"{shape} {label} / torch",
                    goal,
                    _ratio(_median(result, shape, label), ref and _median(result, shape, ref)),
                    f"median time ratio to {ref}",
                )
    for shape in result["shapes"]:
        norms = _median(result, shape, "norms")
        if norms is not None:
            add(f"{shape} norms / ours", 1.1, _ratio(norms, _median(result, shape, "ours")), "")
            add(f"{shape} norms / fused", 1.1, _ratio(norms, _median(result, shape, "fused")), "")
        for label in ("fused", "ours"):
            relu = _median(result, shape, f"{label}-relu")
            if relu is not None:
                add(
                    f"{shape} {label} relu/relu / tanh/tanh",
                    1.05,
                    _ratio(relu, _median(result, shape, label)),
                    "",
                )
    rss = {r["label"]: r.get("peak_rss_mb") for r in result["rss"]}
    if rss.get("torch"):
        for label in ("fused", "ours-remat"):
            if rss.get(label):
                add(f"peak RSS {label} / torch", 1.0, rss[label] / rss["torch"], "T=100,000")
    return out


def _fmt(x: float | None, scale: float = 1.0, digits: int = 3) -> str:
    return "—" if x is None else f"{x * scale:.{digits}g}"


def _shape_lines(name: str, block: dict) -> list[str]:
    lines = [
        f"### {name} ({block['shape'].describe()})",
        "",
        f"Ratios are to the faster torch row ({block['torch_reference'] or 'none'}).",
        "",
        "| impl | median ms | min ms | vs torch (median) | vs torch (min) | compile s | backend |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in block["rows"]:
        if r["error"]:
            lines.append(f"| {r['label']} | failed: {r['error']} | | | | | |")
            continue
        info = r["info"]
        lines.append(
            f"| {r['label']} | {_fmt(r['median_s'], 1e3)} | {_fmt(r['min_s'], 1e3)} | "
            f"{_fmt(r['vs_torch'])} | {_fmt(r['vs_torch_min'])} | "
            f"{_fmt(info.get('compile_s', info.get('first_call_s')), 1, 2)} | "
            f"{info.get('backend', '')} |"
        )
    return [*lines, ""]


def _rss_lines(result: dict) -> list[str]:
    if not result["rss"]:
        return []
    lines = [
        f"### Peak RSS ({result['config'].rss_shape.describe()})",
        "",
        "| impl | peak RSS MiB | RSS after setup MiB |",
        "| --- | ---: | ---: |",
    ]
    for r in result["rss"]:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error']} | |")
        else:
            lines.append(
                f"| {r['label']} | {_fmt(r['peak_rss_mb'], 1, 4)} | "
                f"{_fmt(r['rss_setup_mb'], 1, 4)} |"
            )
    return [*lines, ""]


def _target_lines(result: dict) -> list[str]:
    if not result["targets"]:
        return []
    lines = [
        "### Targets",
        "",
        "| measure | goal | measured | met | note |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for t in result["targets"]:
        met = {True: "yes", False: "no", None: "—"}[t["met"]]
        lines.append(
            f"| {t['measure']} | ≤ {t['goal']:g} | {_fmt(t['value'])} | {met} | {t['note']} |"
        )
    return [*lines, ""]


def to_markdown(result: dict, title: str = "LSTM forward+backward speed") -> str:
    """The result as a markdown section: machine, versions, one table per shape, RSS, targets.

    Args:
      result: what `analysis.bench.peers.run_bench` returns.
      title: the section heading.

    Returns:
      markdown text.
    """
    v = dict(result["versions"])
    v.update(result.get("peer_versions", {}))
    lines = [
        f"## {title}",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; "
        f"device: {result['device']}.",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        "Task: loss = mean(h_t²) over all steps, gradients for all parameters, float32, "
        "I = H, compile excluded (reported apart). Each implementation in its own process, "
        f"{result['config'].repeats} alternating rounds; median and min of the rounds.",
        "",
    ]
    for name, block in result["shapes"].items():
        lines += _shape_lines(name, block)
    return "\n".join(lines + _rss_lines(result) + _target_lines(result))
