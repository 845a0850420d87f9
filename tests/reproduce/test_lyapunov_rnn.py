"""The random-RNN Lyapunov reproduction: its two exact checks in float64, the agreement rule,
and `actgrad reproduce` end to end at a tiny size."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from analysis.flow.lyapunov import lyapunov_qr
from analysis.reproduce import lyapunov_rnn as lr


def test_below_the_transition_from_zero_the_exponents_are_ln_abs_eigenvalues():
    # g < 1 and h_0 = 0: h stays 0, every step's Jacobian is W, and the QR method must give
    # ln |eigenvalues of W| (numpy's eigvals: an independent computation)
    w, _ = lr.network(3, 0.8, 8)
    steps = jnp.zeros((6000,), jnp.float64)
    got = lyapunov_qr(
        lambda h, _: jnp.tanh(jnp.asarray(w) @ h),
        jnp.zeros(8, jnp.float64),
        steps,
        8,
        jax.random.key(0),
        burn_in=1000,
    )
    want = lr.linear_exponents(w)
    # the estimate's error is the frame's transient, averaged out as the steps grow; here W has
    # complex pairs (equal moduli), whose frame keeps rotating: measured 6.4e-4 after 1,500
    # averaged steps, 8.4e-5 after 5,000
    np.testing.assert_allclose(np.asarray(got), want, atol=5e-4)
    assert np.all(want < 0)  # g < 1: every direction contracts


@pytest.mark.parametrize(("g", "n"), [(2.0, 12), (0.5, 6)])
def test_the_exponents_sum_to_the_mean_log_determinant(g, n):
    t_burn, t_obs = 30, 150
    spec = lr.spectrum(4, g, n, t_burn, t_obs)
    w, h0 = lr.network(4, g, n)
    # a numpy loop: ln|det J_t| = sum ln(1 - h_{t+1}^2) + ln|det W|, averaged
    assert spec.sum() == pytest.approx(lr.log_det_mean(w, h0, t_burn, t_obs), rel=1e-10, abs=1e-10)


def test_summaries_and_the_agreement_rule():
    s = lr.summaries(np.array([0.3, 0.1, -0.2, -0.6]))
    assert s == pytest.approx(
        {"max_exponent": 0.3, "mean_exponent": -0.1, "unstable_fraction": 0.5}
    )
    pub = lr.Published(2.0, 4096, 300, 4000, 0.30, -1.0, 0.5)
    per_size = {
        8: [{"max_exponent": 0.10, "mean_exponent": -1.0, "unstable_fraction": 0.5}] * 2,
        16: [
            {"max_exponent": 0.20, "mean_exponent": -1.0, "unstable_fraction": 0.5},
            {"max_exponent": 0.22, "mean_exponent": -1.0, "unstable_fraction": 0.5},
        ],
    }
    rows = {r["summary"]: r for r in lr.agreement_rows(pub, per_size)}
    top = rows["max_exponent"]
    # N/2 -> N moved the mean by 0.11; 2 SE = 2 * 0.01; 0.21 is 0.09 from 0.30: agrees
    assert top["finite_size"] == pytest.approx(0.11) and top["se"] == pytest.approx(0.01)
    assert top["tolerance"] == pytest.approx(0.13) and top["agrees"]
    far = lr.agreement_rows(lr.Published(2.0, 4096, 300, 4000, 0.40, -1.0, 0.5), per_size)[0]
    assert not far["agrees"]  # 0.19 away, beyond 0.13


def test_reproduce_cli_end_to_end_at_a_tiny_size(tmp_path):
    env = {**os.environ, "ACTGRAD_PROGRESS": "0"}

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "analysis", "reproduce", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    listed = cli("--list")
    assert listed.returncode == 0 and listed.stdout.startswith("lyapunov-random-rnn: ")
    bad = cli("lyapunov")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "valid: lyapunov-random-rnn" in bad.stderr
    out = tmp_path / "r"
    done = cli("lyapunov-random-rnn", "--tiny", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads((out / "lyapunov-random-rnn.json").read_text())
    assert got["preset"] == "tiny" and len(got["result"]["rows"]) == 3 * len(lr.PUBLISHED)
    for row in got["result"]["rows"]:
        assert row["ours_n"] == 16 and row["summary"] in lr.SUMMARIES
        assert f"{row['published']:+.4f}" in done.stdout
    assert (out / "lyapunov-random-rnn.png").stat().st_size > 0
    assert (out / "lyapunov-random-rnn.svg").stat().st_size > 0
