"""Gradient flow through the LSTM: the public facade (`from analysis import gradients`).

* `per_step_grad_norms`: ||dL/dh_t||, ||dL/dc_t|| and their logs for every t from ONE
  backward pass (`analysis.flow.norms`); `per_step_grads`: the gradients themselves.
* `fit_decay`: the exponential rate at which those norms shrink (or grow) going back in time
  (`analysis.flow.fit`).
* `lyapunov_spectrum` / `lyapunov_qr`: the k largest Lyapunov exponents of the state map
  (`analysis.flow.lyapunov`).
* `telemetry`: forget gate, gate saturation and state size along the sequence, the why
  (`analysis.flow.telemetry`).
* `state_grad_norms`: the per-step norms for any cell with a dict carry
  (`analysis.flow.state_norms`); `carry_lyapunov`: the Lyapunov spectrum of such a cell's
  whole carry (`analysis.flow.cell_stats`).
* `jacobian_singular_values`, `log10_condition`: the per-step Jacobian's extreme singular
  values and the long-term Jacobian's condition number (`analysis.flow.conditioning`).
* `flossing_loss`: gradient flossing's loss on the top Lyapunov exponents of any cell's whole
  carry (`analysis.flow.flossing`).

References:
    Bengio, Simard & Frasconi 1994 (vanishing gradients); Pascanu, Mikolov & Bengio 2013;
    Benettin et al. 1980 and Vogt et al. 2022, "On Lyapunov exponents for RNNs" (QR method).
"""

from __future__ import annotations

from analysis.flow.cell_stats import carry_lyapunov
from analysis.flow.conditioning import jacobian_singular_values, log10_condition
from analysis.flow.fit import DecayFit, fit_decay
from analysis.flow.flossing import flossing_loss
from analysis.flow.losses import LOSSES, Loss, last_output_loss, mean_output_loss, resolve_loss
from analysis.flow.lyapunov import lyapunov_qr, lyapunov_spectrum
from analysis.flow.norms import GradNorms, frobenius_per_step, per_step_grad_norms, per_step_grads
from analysis.flow.state_norms import state_grad_norms
from analysis.flow.telemetry import SATURATION_EPS, max_abs, telemetry

__all__ = [
    "LOSSES",
    "SATURATION_EPS",
    "DecayFit",
    "GradNorms",
    "Loss",
    "carry_lyapunov",
    "fit_decay",
    "flossing_loss",
    "frobenius_per_step",
    "jacobian_singular_values",
    "last_output_loss",
    "log10_condition",
    "lyapunov_qr",
    "lyapunov_spectrum",
    "max_abs",
    "mean_output_loss",
    "per_step_grad_norms",
    "per_step_grads",
    "resolve_loss",
    "state_grad_norms",
    "telemetry",
]
