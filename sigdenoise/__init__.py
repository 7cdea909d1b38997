"""sigdenoise: denoise 1-D signals with autoencoders, measured against the SVD projector.

Reproduces a published sinusoid study (seven activations x latent 1/5 x two noise levels) and
denoises users' own signals. See ``docs/design.md`` in the repository for what every term means
and which part of the package holds what.

The public API (README, "From Python"), imported on first use so that ``import sigdenoise`` and
the command line start without torch:

- ``denoise(x, fs=None, method="auto", ...)``: one call on a signal, an array (..., samples) or a
  list of signals; the same shape and dtype back.
- ``Denoiser``: the same as a scikit-learn transformer; ``SVDProjector``, ``SavitzkyGolay``,
  ``Wiener``, ``Wavelet``: the study's projector and classical baselines, scikit-learn estimators too.
- ``load_model``/``save_model``, ``run_grid``/``build_report``, ``read_recording``/``write_recording``.
- ``GridSettings``, ``ReportSettings``: the study's settings; errors in ``sigdenoise.errors``.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sigdenoise")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_WHERE = {
    "denoise": "sigdenoise.api",
    "load_model": "sigdenoise.api",
    "save_model": "sigdenoise.api",
    "run_grid": "sigdenoise.api",
    "build_report": "sigdenoise.api",
    "Denoiser": "sigdenoise.estimators",
    "SVDProjector": "sigdenoise.models.svd",
    "SavitzkyGolay": "sigdenoise.models.baselines",
    "Wiener": "sigdenoise.models.baselines",
    "Wavelet": "sigdenoise.models.baselines",
    "GridSettings": "sigdenoise.study.settings",
    "ReportSettings": "sigdenoise.study.settings",
    "SigdenoiseError": "sigdenoise.errors",
}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value  # once: later lookups skip this hook
        return value
    raise AttributeError(f"module 'sigdenoise' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
