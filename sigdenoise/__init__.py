"""sigdenoise: denoise 1-D signals with autoencoders, measured against the SVD projector.

Reproduces a published sinusoid study (seven activations x latent 1/5 x two noise levels) and
denoises users' own signals. See ``docs/design.md`` in the repository for what every term means
and which part of the package holds what.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sigdenoise")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
