"""`actgrad report` of two commits side by side on this machine, alternating runs.

    python scripts/bench_report.py --old 44b5381 --new HEAD --rounds 1 --preset default
    python scripts/bench_report.py --old HEAD~1 --new HEAD --preset quick --cache cold

Each commit is checked out in a `git worktree` under --work and run with this interpreter
(the same venv) from its own tree, so only the code differs; runs alternate old, new, old,
new, ... so that a machine slowing down hurts both alike. ``--cache cold`` gives every run a
fresh JAX compilation-cache directory (a first `make report` on a new machine); ``warm``
keeps one per commit and runs each once untimed first (a second `make report`). Prints one
Markdown row per run (wall time and, where report.json has them, the stages) and the
median ratio new / old.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = (
    "import sys; wt = sys.argv[1]; sys.path.insert(0, wt); import analysis; "
    "assert analysis.__file__.startswith(wt), analysis.__file__; "
    "from analysis.cli import main; sys.argv = ['actgrad', *sys.argv[2:]]; sys.exit(main())"
)


def worktree(rev: str, work: Path) -> Path:
    sha = subprocess.check_output(["git", "rev-parse", "--short", rev], cwd=ROOT, text=True)
    where = work / f"tree-{sha.strip()}"
    if not where.exists():
        # a worktree whose folder was deleted (a cleaned /tmp) is still registered: forget it
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True
        )
    return where


def run_once(tree: Path, preset: str, cache: Path, out: Path, *, cold: bool) -> dict:
    """One timed report from scratch: --out emptied (else it resumes), the cache too if cold."""
    for stale in (out, cache) if cold else (out,):
        shutil.rmtree(stale, ignore_errors=True)
    env = {**os.environ, "ACTGRAD_JAX_CACHE": str(cache), "ACTGRAD_PROGRESS": "0"}
    flags = [] if preset == "default" else [f"--{preset}"]
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", RUN, str(tree), "report", *flags, "--out", str(out)],
        cwd=tree,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    stages = json.loads((out / "report.json").read_text()).get("timings_s", {})
    return {"wall_s": wall, "stages": {k: round(v, 1) for k, v in stages.items()}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", default="44b5381")
    p.add_argument("--new", default="HEAD")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--preset", choices=("tiny", "quick", "default", "full"), default="default")
    p.add_argument("--cache", choices=("cold", "warm"), default="cold")
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "actgrad-bench-report"))
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    trees = {"old": worktree(a.old, work), "new": worktree(a.new, work)}
    walls: dict[str, list[float]] = {"old": [], "new": []}
    if a.cache == "warm":
        for side, tree in trees.items():
            run_once(tree, a.preset, work / f"cache-{side}", work / f"warmup-{side}", cold=True)
    print(f"| round | commit | wall (s) | stages (s) |  <!-- {a.preset}, cache {a.cache} -->")
    print("| --- | --- | ---: | --- |")
    for r in range(a.rounds):
        for side, tree in trees.items():
            cache = work / (f"cache-{side}" if a.cache == "warm" else f"cold-{side}-{r}")
            got = run_once(tree, a.preset, cache, work / f"out-{side}-{r}", cold=a.cache == "cold")
            walls[side].append(got["wall_s"])
            print(f"| {r} | {side} ({tree.name}) | {got['wall_s']:.1f} | {got['stages']} |")
            sys.stdout.flush()
    ratio = statistics.median(walls["new"]) / statistics.median(walls["old"])
    print(f"\nmedian wall new / old = {ratio:.2f} over {a.rounds} round(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
