"""One thread per process: the course's single setting for OpenMP, BLAS and PyTorch threads.

On a busy 2-core machine OpenMP (scikit-learn's HistGradientBoosting) and PyTorch start as
many threads as there are cores in *every* process and then wait for each other: 30
predictions of the bike model took 159 s with two threads and 10 s with one. The course's
networks and models are small, so one thread is also the fastest setting on a laptop.

Every process the course starts gets :data:`THREAD_ENV` (the instructor commands, the
autograding kernels and their sandboxed workers, the benchmark, the website build, the test
suite, ``make course``); code that runs inside an already started process calls
:func:`pin_threads`.
"""

from __future__ import annotations

import os

THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


def pin_threads(environ: dict | None = None) -> None:
    """Apply :data:`THREAD_ENV` to ``environ`` (default ``os.environ``) and to the running process.

    Environment variables reach the processes started afterwards; the running process is
    limited through threadpoolctl (OpenMP/BLAS pools already loaded) and
    ``torch.set_num_threads`` when PyTorch is already imported.
    """
    target = os.environ if environ is None else environ
    target.update(THREAD_ENV)
    if environ is not None:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
