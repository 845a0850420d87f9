"""Synthetic sweep records for the report's tests (the shapes `experiments` stores)."""

import math

LN2 = math.log(2)


def _snapshot(step, rate, length):
    return {
        "step": step,
        "rate": rate,
        "half_life": LN2 / -rate,
        "lyapunov_max": rate,
        "max_abs_c": 1.0 + step / 50,
        "log_h": [0.0] * length,
    }


def train_record(variant, length, solved, n=8, diverged=(), blown=(), lr=0.01):
    cand, out = variant.split("/")
    per = []
    for i in range(n):
        final = 0.001 if i < solved else (1e9 if i in blown else 0.17)
        per.append(
            {
                "solved_step": 100 + 10 * i if i < solved else None,
                "diverged_at": 5 if i in diverged else None,
                "final_test_loss": math.nan if i in diverged else final,
                "flow_snapshots": [_snapshot(0, -0.1, length), _snapshot(50, -0.005, length)],
            }
        )
    return {
        "config": {
            "cell": {"name": "lstm", "candidate": cand, "output": out},
            "length": length,
            "steps": 400,
            "lr": lr,
        },
        "result": {"baseline": 1 / 6, "per_seed": per, "wall_s": 1.0, "steps_per_s": 10.0},
    }


def decay_record(variant, rates, forget_bias=1.0, length=200, c_max=1.0, non_finite=0):
    cand, out = variant.split("/")
    reasons = ["non-finite gradient" if i < non_finite else None for i in range(len(rates))]
    return {
        "config": {
            "cell": {"name": "lstm", "candidate": cand, "output": out, "forget_bias": forget_bias},
            "length": length,
        },
        "result": {
            "fit": {"h": {"per_seed": [{"rate": r} for r in rates], "r2": 0.99}, "c": {"rate": -1}},
            "exploded_reasons": reasons,
            "telemetry": {"c_max": c_max, "forget_mean": 0.7, "saturated_fraction": 0.0},
            "lyapunov": {"largest": -0.1},
        },
    }


def tune_record(variant, length, solved_by_rate, seeds=4):
    """A learning-rate search record: {rate: seeds solved} on `seeds` held-out seeds each."""
    cand, out = variant.split("/")
    trials = [
        {"lr": lr, "solved": k, "seeds": seeds, "final_test_loss": 0.001 if k else 0.17}
        for lr, k in sorted(solved_by_rate.items())
    ]
    chosen = min(trials, key=lambda t: (-t["solved"], t["final_test_loss"], t["lr"]))["lr"]
    return {
        "config": {
            "cell": {"name": "lstm", "candidate": cand, "output": out},
            "length": length,
            "lr_grid": sorted(solved_by_rate),
        },
        "result": {"trials": trials, "chosen_lr": chosen, "per_seed": []},
    }
