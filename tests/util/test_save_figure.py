"""save_figure finds the tight box once for both formats: the same pixels as savefig's own
bbox_inches="tight", an independent computation of the box."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from analysis.util.io import save_figure


def _figure(kind: str):
    fig, axes = plt.subplots(1, 2, figsize=(7, 2.5))
    x = np.linspace(1, 2000, 400)
    for k, ax in enumerate(axes):
        ax.semilogy(x, np.exp(-x / (200 * (k + 1))) + 1e-12, label="a rather long label")
        ax.set_xlabel("steps back from T")
        ax.set_ylabel("||dL/dh_t||")
        if kind == "legend":
            ax.legend(loc="best")
    if kind == "suptitle":
        fig.suptitle("a title wider than the panels " * 3)
    fig.tight_layout()
    return fig


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


@pytest.mark.parametrize("kind", ["plain", "legend", "suptitle"])
def test_png_is_pixel_identical_to_savefig_tight(tmp_path, kind):
    expected = io.BytesIO()
    fig = _figure(kind)
    fig.savefig(expected, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    paths = save_figure(_figure(kind), tmp_path, "f", {"k": 1})
    assert sorted(p.name for p in paths) == ["f.config.json", "f.png", "f.svg"]
    want, got = _pixels(expected.getvalue()), _pixels((tmp_path / "f.png").read_bytes())
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    svg = (tmp_path / "f.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
