"""`analysis.plot` on a user's own results, headless: the artists each function draws (lines,
labels, log axes, the half-life in the legend), not pixels; and bad input named in one line."""

import json
import math

import jax.numpy as jnp
import numpy as np
import pytest

import kernels
from analysis import cells, gradients, lstm, plot
from analysis.experiments.store import ResultsStore

H, T = 3, 12
F32 = jnp.float32
B_F = 1.0  # the forget gate's bias: with zero weights f = sigmoid(1) at every step


def zero_weight_lstm():
    """All weights zero, b_f = 1, b_g = 1: c_t = f c_{t-1} + i tanh(1), so ||dL/dc_t||
    shrinks by exactly f = sigmoid(b_f) per step back (rate ln f; DESIGN.md)."""
    cfg = lstm.LSTMConfig(input_size=1, hidden_size=H, forget_bias=0.0)
    b = np.zeros(4 * H)
    b[H : 2 * H] = B_F
    b[2 * H : 3 * H] = 1.0
    params = lstm.LSTMParams(
        jnp.zeros((1, 4 * H), F32), jnp.zeros((H, 4 * H), F32), jnp.asarray(b, F32)
    )
    return params, jnp.ones((2, T, 1), F32), cfg


def expected_half_life() -> float:
    f = 1.0 / (1.0 + math.exp(-B_F))  # independent of the fit: the formula
    return math.log(2) / -math.log(f)


def legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_decay_of_per_step_grad_norms_and_state_grad_norms_agree_with_the_formula():
    params, xs, cfg = zero_weight_lstm()
    norms = gradients.per_step_grad_norms(params, xs, cfg)
    ax = plot.decay(norms, state="c", label="mine")
    (line,) = ax.get_lines()
    # y is log10 of the norm, x steps back from T: a straight line of slope log10 f
    np.testing.assert_allclose(line.get_ydata(), np.log10(np.asarray(norms.c, float))[::-1])
    np.testing.assert_array_equal(line.get_xdata(), np.arange(T))
    assert ax.get_ylabel() == "log10 ‖∂L/∂c_t‖"
    assert legend(ax) == [f"mine: vanishing (half-life {expected_half_life():.3g} steps)"]
    # the dict of state_grad_norms (any cell's step) draws the same curve
    cell = cells.get("lstm", input_size=1, hidden_size=H, forget_bias=0.0)
    carry0 = cell.initial_carry(2)
    by_state = gradients.state_grad_norms(cell.step, params, xs, carry0)
    ax2 = plot.decay(by_state, state="c")
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(), line.get_ydata(), rtol=1e-6)
    assert legend(ax2) == [legend(ax)[0].removeprefix("mine: ")]


def test_decay_of_several_results_and_seeds_draws_bands_and_one_entry_each():
    s = np.arange(20)[::-1]  # steps back, in time order
    seeds = np.stack([np.log(0.8) * s + 0.1 * k for k in range(3)])  # (S, T)
    ax = plot.decay([seeds, np.log(0.5) * s], label=["three seeds", "one"])
    curves = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert [c.get_label().split(":")[0] for c in curves] == ["three seeds", "one"]
    np.testing.assert_allclose(
        curves[0].get_ydata(), (np.log(0.8) * np.arange(20) + 0.1) / math.log(10)
    )
    assert len(ax.collections) == 1  # the min-max band of the seeds only
    half = [math.log(2) / -math.log(r) for r in (0.8, 0.5)]
    assert legend(ax) == [
        f"{n}: vanishing (half-life {h:.3g} steps)"
        for n, h in zip(["three seeds", "one"], half, strict=True)
    ]
    # results without labels are numbered; a list of equal-length arrays is one (S, T) array
    two = plot.decay([{"log_h": s * -0.1}, {"log_h": s * -0.2}])
    assert [t.split(":")[0] for t in legend(two)] == ["curve 1", "curve 2"]
    assert len(legend(plot.decay([s * -0.1, s * -0.2]))) == 1


def test_decay_of_a_sweeps_results_directory(tmp_path):
    store = ResultsStore(tmp_path)
    for rate, cand in ((-0.1, "tanh"), (-0.3, "relu")):
        log_h = [list(rate * np.arange(10)[::-1])]
        store.append(
            {"cell": {"name": "lstm", "candidate": cand, "output": "tanh"}},
            [0],
            {
                "norms": {"log_h": log_h},
                "fit": {"h": {"rate": rate, "half_life": math.log(2) / -rate}},
            },
        )
    for where in (tmp_path, tmp_path / "results.jsonl", str(tmp_path)):
        texts = legend(plot.decay(where))
        assert sorted(texts) == sorted(
            [
                f"{c}/tanh: vanishing (half-life {math.log(2) / -r:.3g} steps)"
                for r, c in ((-0.1, "tanh"), (-0.3, "relu"))
            ]
        )


def test_flow_during_training_from_train_json(tmp_path):
    def snaps(rates):
        return [{"step": 100 * i, "log_h": [0.0] * 5, "rate": r, "half_life": math.log(2) / -r,
                 "lyapunov_max": r, "max_abs_c": 1.0} for i, r in enumerate(rates)]  # fmt: skip

    variant = {"label": "tanh/tanh", "config": {"length": 40},
               "per_seed": [{"flow_snapshots": snaps([-0.2, -0.1])}, {"flow_snapshots": snaps([-0.4, -0.05])}]}  # fmt: skip
    (tmp_path / "train.json").write_text(json.dumps({"command": "train", "variants": [variant]}))
    for given in (
        tmp_path,
        tmp_path / "train.json",
        json.loads((tmp_path / "train.json").read_text()),
    ):
        ax = plot.flow_during_training(given)
        assert ax.get_yscale() == "log"
        line = ax.get_lines()[0]
        np.testing.assert_array_equal(line.get_xdata(), [0, 100])
        # median over the two seeds' rates at each step, then ln 2 / -rate
        np.testing.assert_allclose(line.get_ydata(), [math.log(2) / 0.3, math.log(2) / 0.075])
        assert legend(ax) == ["tanh/tanh (T=40)"]
    with pytest.raises(ValueError, match="flow_during_training: no run kept flow_snapshots"):
        plot.flow_during_training({**variant, "per_seed": [{"flow_snapshots": []}]})


def test_lyapunov_draws_each_spectrum_with_its_largest_exponent():
    ax = plot.lyapunov(
        {"a": [-0.1, -0.5, -1.0], "b": np.array([[0.2, -0.3], [0.4, -0.1], [0.3, -0.2]])}
    )
    a, b = ax.get_lines()[:2]
    np.testing.assert_array_equal(a.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(b.get_ydata(), [0.3, -0.2])  # median over 3 seeds
    assert len(ax.collections) == 1  # b's band
    assert legend(ax) == [
        f"a: λ₁ = -0.1 per step (halves in {math.log(2) / 0.1:.3g} steps)",
        "b: λ₁ = 0.3 per step",
    ]
    frac = plot.lyapunov(np.linspace(0, -1, 4), fraction=True)
    np.testing.assert_allclose(frac.get_lines()[0].get_xdata(), [0.125, 0.375, 0.625, 0.875])


def test_activation_of_a_formula_draws_f_and_its_derivatives_with_the_kink():
    act = kernels.from_formula("max(z, 0.1*z)", name="my_leaky")
    ax = plot.activation(act)
    f, d1, d2 = ax.get_lines()[:3]
    assert [f.get_label(), d1.get_label(), d2.get_label()] == ["f", "f'", "f''"]
    z = f.get_xdata()
    np.testing.assert_allclose(f.get_ydata(), np.maximum(z, 0.1 * z), atol=1e-12)
    kinks = [ln for ln in ax.get_lines()[3:] if ln.get_marker() == "o"]
    assert kinks and all(np.all(ln.get_xdata() == 0.0) for ln in kinks)  # marked at z = 0
    assert ax.get_title() == "my_leaky"


@pytest.mark.parametrize(
    ("func", "arg", "error", "words"),
    [
        (
            plot.decay,
            42,
            TypeError,
            ["plot.decay: got int 42", "state_grad_norms", "results directory"],
        ),
        (
            plot.decay,
            "no/such/dir",
            ValueError,
            ["plot.decay: 'no/such/dir' holds no results.jsonl"],
        ),
        (plot.decay, {"h_x": [1.0, 0.5]}, ValueError, ["no state 'h'", "['h_x']"]),
        (
            plot.flow_during_training,
            [1, 2],
            TypeError,
            ["plot.flow_during_training: got int 1", "train.json"],
        ),
        (plot.lyapunov, "abc", TypeError, ["plot.lyapunov: got str 'abc'", "exponents"]),
        (
            plot.activation,
            3.5,
            TypeError,
            ["plot.activation: got float 3.5", "kernels.from_formula"],
        ),
    ],
)
def test_bad_input_says_what_it_got_and_what_is_accepted(func, arg, error, words):
    with pytest.raises(error) as info:
        func(arg)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_decay_wants_one_label_per_curve():
    two = [{"h": [1.0, 0.5, 0.25]}, {"h": [1.0, 0.9, 0.8]}]
    with pytest.raises(ValueError, match=r"plot\.decay: 1 labels for 2 curves"):
        plot.decay(two, label=["one"])
