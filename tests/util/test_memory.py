"""The memory guard: ACTGRAD_MEMORY_LIMIT, `require`, the analytic estimates, the CLI refusal."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import cli
from analysis.cells import CellSpec
from analysis.experiments.decay_config import DecayConfig
from analysis.experiments.train_config import TrainConfig
from analysis.runtime import memory
from analysis.util.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1048576", 1048576),
        ("512M", 512 * 1024**2),
        ("512m", 512 * 1024**2),
        ("1.5G", 3 * 1024**3 // 2),
        ("8GiB", 8 * 1024**3),
        ("2 KB", 2048),
        ("1T", 1024**4),
        (" 3k ", 3072),
    ],
)
def test_parse_size_accepts_bytes_and_binary_suffixes(text, expected):
    assert memory.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-3", "0", "0.1", "1X", "1e9", "nan", "inf", "G"])
def test_parse_size_refuses_bad_values_in_one_line(text):
    with pytest.raises(ValueError) as err:
        memory.parse_size(text)
    msg = str(err.value)
    assert memory.ENV_LIMIT in msg and repr(text) in msg and "\n" not in msg


def test_limit_overrides_the_machine_and_a_bad_one_is_refused(monkeypatch):
    monkeypatch.setenv(memory.ENV_LIMIT, "3G")
    assert memory.available_bytes() == 3 * 1024**3
    monkeypatch.setenv(memory.ENV_LIMIT, "lots")
    with pytest.raises(ValueError, match=memory.ENV_LIMIT):
        memory.available_bytes()


def test_available_without_limit_is_at_most_the_machine(monkeypatch):
    monkeypatch.delenv(memory.ENV_LIMIT, raising=False)
    found = memory.available_bytes()
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        pytest.skip("no /proc/meminfo")
    total = next(ln for ln in meminfo.read_text().splitlines() if ln.startswith("MemTotal:"))
    assert found is not None and 0 < found <= int(total.split()[1]) * 1024


@pytest.mark.parametrize(
    "n,text",
    [
        (0, "0 B"),
        (512, "512 B"),
        (1536, "1.5 KiB"),
        (int(20.1 * 2**30), "20.1 GiB"),
        (int(5.2 * 2**40), "5.2 TiB"),
    ],
)
def test_format_bytes(n, text):
    assert memory.format_bytes(n) == text


def test_require_names_the_sizes_in_one_line(monkeypatch):
    monkeypatch.setenv(memory.ENV_LIMIT, "1M")
    memory.require(2**20, "fits exactly")  # equal is allowed
    with pytest.raises(UsageError) as err:
        memory.require(3 * 2**30, "decay cell T=100000000, H=4096", "reduce --length")
    msg = str(err.value)
    assert "\n" not in msg
    for part in ("T=100000000, H=4096", "3 GiB", "1 MiB", memory.ENV_LIMIT, "reduce --length"):
        assert part in msg, msg


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=6), st.integers(1, 4))
def test_sweep_bytes_is_the_worst_set_of_cells_running_together(sizes, at_once):
    k = min(at_once, len(sizes))
    worst = max(sum(c) for c in itertools.combinations(sizes, k))  # brute force
    assert memory.sweep_bytes(sizes, at_once) == k * memory.RUNTIME_BYTES + worst


@settings(max_examples=25)
@given(
    st.sampled_from(["lstm", "gru", "slstm", "rnn"]),
    st.integers(1, 10**6),
    st.integers(1, 8),
    st.integers(1, 64),
    st.integers(1, 256),
    st.integers(2, 5),
)
def test_decay_estimate_is_linear_in_length_and_seeds(cell, t, seeds, batch, hidden, k):
    cfg = DecayConfig(spec=CellSpec(cell), length=t, batch=batch, hidden_size=hidden, lyapunov_k=0)
    one = cfg.estimated_bytes(seeds)
    longer = DecayConfig(
        spec=CellSpec(cell), length=k * t, batch=batch, hidden_size=hidden, lyapunov_k=0
    )
    assert abs(longer.estimated_bytes(seeds) - k * one) <= k  # ceil rounding only
    assert abs(cfg.estimated_bytes(k * seeds) - k * one) <= k
    wider = DecayConfig(
        spec=CellSpec(cell), length=t, batch=k * batch, hidden_size=hidden, lyapunov_k=0
    )
    assert wider.estimated_bytes(seeds) > one


@settings(max_examples=25)
@given(
    st.sampled_from(["adding", "copy"]),
    st.sampled_from(["lstm", "gru"]),
    st.integers(2, 10**5),
    st.integers(1, 8),
    st.integers(0, 5),
)
def test_train_estimate_is_affine_in_length_and_linear_in_seeds(task, cell, t, seeds, snaps):
    def est(length, n):
        cfg = TrainConfig(task=task, spec=CellSpec(cell), length=length, snapshots=snaps, steps=100)
        return cfg.estimated_bytes(n)

    # The per-step metrics do not grow with T: equal steps in T, equal steps in bytes.
    assert abs((est(3 * t, seeds) - est(2 * t, seeds)) - (est(2 * t, seeds) - est(t, seeds))) <= 3
    assert est(2 * t, seeds) > est(t, seeds)
    assert abs(est(t, 3 * seeds) - 3 * est(t, seeds)) <= 3


def test_readme_examples_fit_a_4_gib_machine(monkeypatch):
    monkeypatch.setenv(memory.ENV_LIMIT, "3G")  # what a 4 GiB machine has free, roughly
    long_run = DecayConfig(length=100_000, batch=1, lyapunov_k=0).estimated_bytes(1)
    memory.require(memory.sweep_bytes([long_run], 1), "README decay T=100000")
    sweep4 = [
        DecayConfig(spec=CellSpec.of(candidate=c)).estimated_bytes(3)
        for c in ("tanh", "relu", "hard_tanh")
    ]
    memory.require(memory.sweep_bytes(sweep4, 2), "README decay sweep")
    train3 = TrainConfig(length=100, snapshots=20).estimated_bytes(3)
    memory.require(memory.sweep_bytes([train3, train3], 2), "README train sweep")


# The peak RSS of this process's own memory map (VmHWM, KiB). Not getrusage's ru_maxrss: that
# survives execve, so a child of a large pytest worker reports the worker's size.
_PROBE = """
import json, re, sys
from analysis.experiments import decay
from analysis.experiments.decay_config import DecayConfig
decay.run_cell(DecayConfig.from_dict(json.loads(sys.argv[1])).to_dict(), [0])
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1)) * 1024)
"""


def _peak_rss(cfg: dict, env: dict) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(cfg)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="VmHWM in /proc/self/status is Linux's")
def test_decay_estimate_is_near_the_measured_peak_rss_growth():
    # Peak RSS of a process running the cell at T = 8000 minus that of one at T = 10 (runtime
    # and compile alike): what the cell itself needed (131-148 MiB measured; estimate 179 MiB).
    cfg = {"cell": "rnn", "length": 8000, "batch": 32, "hidden_size": 32, "lyapunov_k": 0}
    # XLA's backend optimisations off: compiling twice is most of the time (13 -> 8 s on the
    # loaded 2-core machine), and the growth stays what the program holds (138 -> 148 MiB).
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLA_FLAGS": flags}
    env.pop(memory.ENV_LIMIT, None)
    # Two fresh processes, T = 8000 and T = 10: one process running both saw no growth when
    # the first run's compile peak (freed, then reused) exceeded the second run's needs.
    grown = _peak_rss(cfg, env) - _peak_rss({**cfg, "length": 10}, env)
    estimate = DecayConfig.from_dict(cfg).estimated_bytes(1)
    assert 0.5 * grown <= estimate <= 4 * grown, (estimate, grown)


def _refused(argv, out, capsys):
    try:
        rc = cli.main([*argv, "--out", str(out)])
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    "argv",
    [
        ["decay", "--length", "100000000", "--hidden", "4096", "--batch", "4", "--seeds", "8"],
        ["decay", "--length", "24", "--hidden", "4", "--compare", "candidate=tanh,relu"],
        ["train", "--length", "10000000", "--batch", "100000"],
        ["train", "--length", "10", "--steps", "2", "--compare", "candidate=tanh,relu"],
    ],
)
def test_cli_refuses_a_run_that_cannot_fit_before_any_work(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.setenv(memory.ENV_LIMIT, "1M")
    out = tmp_path / "out"
    rc, err = _refused(argv, out, capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "needs about" in err and "1 MiB" in err and "reduce --length" in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["decay", "train"])
def test_cli_refuses_a_bad_limit_in_one_line(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv(memory.ENV_LIMIT, "plenty")
    out = tmp_path / "out"
    rc, err = _refused([command, "--length", "10"], out, capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and memory.ENV_LIMIT in err, err
    assert not out.exists()
