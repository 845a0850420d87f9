"""The conditioning of a trained model's state map, per seed, against jnp.linalg directly."""

import jax
import jax.numpy as jnp
import numpy as np

from analysis.experiments import diagnose, train
from analysis.flow.cell_stats import flat_step

CFG = train.TrainConfig.from_dict(
    {"task": "adding", "length": 6, "steps": 2, "batch": 2, "hidden_size": 3, "cell": "rnn"}
)


def test_per_seed_singular_values_match_an_svd_of_each_steps_jacobian():
    params = diagnose.initial_params(CFG, [0, 1])
    got = diagnose.conditioning(CFG, params)
    assert len(got) == 2 and got[0] != got[1]  # each seed its own cell
    cell = CFG.recurrent_cell()
    x, _ = CFG.task_spec().make_batch(jax.random.key(7_000_003), diagnose.SEQUENCES)
    for s, row in enumerate(got):
        one = jax.tree.map(lambda a, s=s: a[s], params)
        hi, lo = [], []
        for b in range(diagnose.SEQUENCES):
            carry = {n: v[b] for n, v in cell.initial_carry(diagnose.SEQUENCES).items()}
            one = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), one)
            carry = {n: jnp.asarray(v, jnp.float64) for n, v in carry.items()}
            fn, state = flat_step(cell.step, one, carry)
            jac = jax.jit(jax.jacfwd(fn))
            for t in range(x.shape[1]):
                xt = jnp.asarray(x[b, t], jnp.float64)
                sv = np.linalg.svd(np.asarray(jac(state, xt)))[1]
                hi.append(sv[0])
                lo.append(sv[-1])
                state = fn(state, xt)
        # measured in float64 from the float32 parameters, as the oracle here
        np.testing.assert_allclose(row["sigma_max"], np.median(hi), rtol=1e-10)
        np.testing.assert_allclose(row["sigma_min"], np.median(lo), rtol=1e-9)
        assert np.isfinite(row["log10_condition"]) and row["log10_condition"] >= 0
