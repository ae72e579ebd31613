"""Benchmarks: print medians and ranges measured on this machine.

* demo update latency in a live panel (a control change: recompute + redraw + PNG),
  over every demo's controls, at least 20 changes each, starting from a cold memo cache;
* chapter execution time in a real kernel (book mode, i.e. with the static grids).

Run with ``make bench`` or ``python -m benchmarks [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {1000 * statistics.median(ordered):7.1f} ms   p95 {1000 * p95:7.1f} ms   "
        f"range {1000 * ordered[0]:.1f}-{1000 * ordered[-1]:.1f} ms   n={len(ordered)}"
    )


def demo_latency(changes: int = 24) -> None:
    from vglib.demos import DEMOS

    print("demo update latency (cold cache: every change recomputes)")
    for demo in DEMOS:
        demo._cache.clear()
        panel = demo.panel()
        rng = random.Random(
            0
        )  # random grid points, not the grid in order (that is all shallow first)
        samples = []
        for _ in range(changes):
            target = {p.name: rng.choice(p.options) for p in demo.params}
            start = time.perf_counter()
            panel.update(**target)
            samples.append(time.perf_counter() - start)
        print(f"  {demo.name:24s} {_stats(samples)}")


def chapter_times(repeat: int) -> None:
    import jupytext
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT / "tests"))
    from book_pages import notebook_pages

    os.environ["VGLIB_BOOK"] = "1"  # execute as the book build does: full static grids
    print(f"chapter execution in a real kernel, book mode ({repeat} run(s) each)")
    for path in notebook_pages():
        samples = []
        for _ in range(repeat):
            nb = jupytext.read(path)
            start = time.perf_counter()
            NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            samples.append(time.perf_counter() - start)
        print(
            f"  {path.relative_to(ROOT)!s:40s} median {statistics.median(samples):6.1f} s   "
            f"range {min(samples):.1f}-{max(samples):.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per chapter (default 3)")
    parser.add_argument("--changes", type=int, default=24, help="control changes per demo")
    args = parser.parse_args()
    demo_latency(args.changes)
    chapter_times(args.repeat)


if __name__ == "__main__":
    main()
