"""One torch intra-op thread for the small tensors of this course.

Every model here is small (widths around 64, batches of a few hundred). A thread pool buys
nothing at that size, and on a loaded machine its synchronisation is ruinous: on the 2-core
course machine, under load, 100 training steps of an 11-layer width-64 network took 16 s
with torch's 2 threads and 0.23 s with 1. Loops of tiny operations (training steps,
2-parameter trajectories, 64 x 64 Jacobians and SVDs) therefore run under :func:`one_thread`,
which restores the caller's setting afterwards; on an idle machine it costs them nothing
(300 training steps: 0.44 s against 0.46 s). One batched pass is different: measuring a
30-layer network on 256 examples takes 22 ms with 2 threads and 36 ms with 1 when the
machine is idle, so :func:`vglib.core.measure_gradient_flow` keeps torch's default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, then restore the previous setting.

    Usable as ``with one_thread():`` or as a decorator ``@one_thread()``.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
