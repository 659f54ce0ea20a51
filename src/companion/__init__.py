"""The Hessian-along-SGD companion: data, models, Hessian operators, one training loop with
probes, cached results and a figure registry for the book's chapters.

Importing the package first sets OpenMP to wait passively (``OMP_WAIT_POLICY=PASSIVE``)
unless the environment says otherwise: with the default busy-waiting, two torch threads on
a 2-core machine next to another two-thread torch process spin against each other and a
Hessian-vector product ran 3.8× slower (4.1 s against 1.1 s; ``make bench`` measures it). The variable is read
when torch loads its OpenMP runtime, so it only takes effect if ``companion`` is imported
before ``torch``; the command line, the Makefile and the notebooks make sure of that.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.2.0"

# Two pairs of modules import each other (data ↔ data_extra, probes ↔ probes_tables): the
# extra module is meant to load from its base, which re-exports it. Loading the bases here
# (after the OpenMP setting above) makes ``from companion.data_extra import load_imdb`` work
# in a fresh interpreter too; every entry point imports them anyway.
from . import data, probes  # noqa: E402,F401
