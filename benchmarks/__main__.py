"""Benchmarks: print medians and ranges measured on this machine.

* demo update latency in a live panel (a control change: recompute + redraw + PNG),
  over every demo's controls, at least 20 changes each, starting from a cold memo cache;
* chapter execution time in a real kernel (book mode, i.e. with the static grids);
* the book build: cold (empty cache, in a copy of the repository) and a warm rebuild with
  nothing changed, and each page's weight (its HTML, which carries the static demo frames,
  plus the images it loads);
* nbgrader autograding one solved submission per assignment, beside autograding an empty
  one-cell notebook in the same run: the floor that nbgrader itself costs;
* the gradient-flow monitor's overhead on a training step (median with and without it);
* ``python -m vglib.classroom autograde`` on the fault-injected class of tests/test_classroom.py
  (nine submissions: solved, blank, wrong, infinite loop, kernel kill, edited test cells,
  invalid JSON, wrong file name, late) with the course's own 60 s cell timeout;
* the same tool on a class of 16 submissions (solved, blank and wrong copies), ``--jobs 1``
  against ``--jobs 2`` in the same run: medians and their ratio, beside the load average.

Run with ``make bench`` or ``python -m benchmarks [--repeat N] [--only SECTION ...]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    from vglib.demos import all_demos

    print("demo update latency (cold cache: every change recomputes)")
    for demo in all_demos():
        demo.clear_cache()
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


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VGLIB_BOOK", None)
    return env


def book_build() -> None:
    """Cold build of a copy of the repository (no cache), then a rebuild with nothing changed."""
    from bs4 import BeautifulSoup

    sys.path.insert(0, str(ROOT / "tests"))
    from book_pages import toc_files

    ignore = shutil.ignore_patterns(".venv", "_build", ".git", "test-artifacts", "*.egg-info")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "book"
        shutil.copytree(ROOT, copy, ignore=ignore)
        times = []
        for label in ("cold build (empty cache)", "warm rebuild (nothing changed)"):
            start = time.perf_counter()
            subprocess.run(
                [_tool("jupyter-book"), "build", str(copy)],
                check=True,
                capture_output=True,
                env=_tool_env(),
            )
            times.append(time.perf_counter() - start)
            print(f"  {label:40s} {times[-1]:6.1f} s")
        html = copy / "_build" / "html"
        print("page weight (HTML with its static demo frames + images it loads)")
        for name in toc_files():
            page = html / f"{name}.html"
            soup = BeautifulSoup(page.read_text(), "html.parser")
            images = {
                img["src"] for img in soup.select("img[src]") if not img["src"].startswith("data:")
            }
            size = page.stat().st_size + sum(
                (page.parent / src).stat().st_size for src in images if (page.parent / src).exists()
            )
            print(f"  {name:40s} {size / 1e6:6.2f} MB")


def autograde_times(repeat: int) -> None:
    """Autograde a solved submission of every assignment, and an empty notebook as the floor."""
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    from nbgrader_course import solved_notebook

    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "exercises"
        shutil.copytree(
            ROOT / "exercises",
            course,
            ignore=shutil.ignore_patterns(
                "release", "submitted", "autograded", "feedback", "gradebook.db", "*.csv"
            ),
        )
        empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        empty.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        (course / "source" / "_empty").mkdir()
        nbformat.write(empty, course / "source" / "_empty" / "_empty.ipynb")
        env = _tool_env()
        env.update(HOME=str(Path(tmp) / "home"), VG_EXCHANGE=str(Path(tmp) / "exchange"))

        def nbgrader(*args: str) -> None:
            subprocess.run(
                [_tool("nbgrader"), *args], cwd=course, env=env, check=True, capture_output=True
            )

        assignments = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
        print(f"nbgrader autograde, one submission each ({repeat} run(s))")
        for name in assignments:
            nbgrader("generate_assignment", name, "--force")
            source = course / "source" / name / f"{name}.ipynb"
            release = course / "release" / name / f"{name}.ipynb"
            submitted = course / "submitted" / "bench" / name / f"{name}.ipynb"
            submitted.parent.mkdir(parents=True)
            nb = (
                nbformat.read(release, as_version=4)
                if name == "_empty"
                else solved_notebook(source, release)
            )
            nbformat.write(nb, submitted)
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                nbgrader("autograde", name, "--student=bench", "--force")
                samples.append(time.perf_counter() - start)
            label = "empty one-cell notebook (floor)" if name == "_empty" else f"{name} (solved)"
            print(
                f"  {label:40s} median {statistics.median(samples):6.1f} s   "
                f"range {min(samples):.1f}-{max(samples):.1f} s"
            )


def monitor_costs(repeat: int) -> None:
    """Median step time with and without GradientFlowMonitor, on the chapter's CNNs and an MLP."""
    from vglib.core import build_mlp, make_spirals
    from vglib.studies.diagnosing import build_cnn, make_bars, monitor_overhead

    X_img, y_img = make_bars(32, seed=0)
    X_pts, y_pts = make_spirals(256, seed=0)
    cases = {
        "CNN 6x8 channels, ReLU+He+BN": (
            build_cnn(
                num_layers=6, channels=8, activation="relu", init="he", batch_norm=True, seed=0
            ),
            X_img,
            y_img,
        ),
        "CNN 6x32 channels, ReLU+He+BN": (
            build_cnn(
                num_layers=6, channels=32, activation="relu", init="he", batch_norm=True, seed=0
            ),
            X_img,
            y_img,
        ),
        "MLP 10x256, sigmoid": (
            build_mlp(2, 2, num_layers=10, width=256, activation="sigmoid", seed=0),
            X_pts,
            y_pts,
        ),
    }
    print(f"gradient-flow monitor overhead per training step ({repeat} x 100 steps)")
    for label, (model, X, y) in cases.items():
        runs = [monitor_overhead(model, X, y, repeats=100) for _ in range(repeat)]
        ratios = [r.ratio for r in runs]
        print(
            f"  {label:32s} without {1000 * statistics.median(r.plain for r in runs):6.2f} ms   "
            f"with {1000 * statistics.median(r.monitored for r in runs):6.2f} ms   "
            f"ratio median {statistics.median(ratios):.2f} range {min(ratios):.2f}-{max(ratios):.2f}"
        )


def class_autograde() -> None:
    """The fault-injected class of tests/test_classroom.py, autograded once by vglib.classroom."""
    sys.path.insert(0, str(ROOT / "tests"))
    from nbgrader_course import copy_course, course_env, run_nbgrader, source_notebook
    from test_classroom import ASSIGNMENT, DUE, NOTEBOOK, _class, _submit

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        course = copy_course(base / "exercises", (ASSIGNMENT,))
        env = course_env(base / "home", base / "exchange")
        run_nbgrader("generate_assignment", ASSIGNMENT, cwd=course, env=env)
        run_nbgrader("db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}", cwd=course, env=env)
        subs = _class(source_notebook(ASSIGNMENT), course / "release" / ASSIGNMENT / NOTEBOOK)
        for student, sub in subs.items():
            _submit(course, student, sub)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "vglib.classroom", "autograde", ASSIGNMENT],
            cwd=course,
            env=env,
            check=True,
            capture_output=True,
        )
        took = time.perf_counter() - start
    print(
        f"fault-injected class ({len(subs)} submissions, config timeout 60 s per cell): "
        f"vglib.classroom autograde + feedback {took:.1f} s"
    )


def parallel_autograde(repeat: int, students: int = 16) -> None:
    """``vglib.classroom autograde --jobs 1`` against ``--jobs 2`` on the same class of 16."""
    sys.path.insert(0, str(ROOT / "tests"))
    import nbformat
    from nbgrader_course import (
        copy_course,
        course_env,
        run_nbgrader,
        solved_notebook,
        source_notebook,
    )
    from test_classroom import ASSIGNMENT, NOTEBOOK, _submit

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        template = copy_course(base / "template", (ASSIGNMENT,))
        env = course_env(base / "home", base / "exchange")
        run_nbgrader("generate_assignment", ASSIGNMENT, cwd=template, env=env)
        release = template / "release" / ASSIGNMENT / NOTEBOOK
        blank = nbformat.read(release, as_version=4)
        wrong = solved_notebook(source_notebook(ASSIGNMENT), release)
        for cell in wrong.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid_prime":
                cell.source = "def sigmoid_prime(z):\n    return torch.sigmoid(z)"
        kinds = [solved_notebook(source_notebook(ASSIGNMENT), release), blank, wrong]
        for k in range(students):
            _submit(template, f"student{k:02d}", {"nb": kinds[k % len(kinds)]})
        samples: dict[int, list[float]] = {1: [], 2: []}
        load = os.getloadavg()[0]
        for run in range(repeat):
            for jobs in (1, 2) if run % 2 == 0 else (2, 1):  # alternate the order
                course = base / f"run{run}-jobs{jobs}"
                shutil.copytree(template, course)
                start = time.perf_counter()
                command = ["autograde", ASSIGNMENT, "--jobs", str(jobs)]
                subprocess.run(
                    [sys.executable, "-m", "vglib.classroom", *command],
                    cwd=course,
                    env=env,
                    check=True,
                    capture_output=True,
                )
                samples[jobs].append(time.perf_counter() - start)
                shutil.rmtree(course)
    one, two = statistics.median(samples[1]), statistics.median(samples[2])
    print(
        f"parallel autograde, {students} submissions of {ASSIGNMENT} ({repeat} run(s) each, "
        f"{os.cpu_count()} cores, load average {load:.1f} -> {os.getloadavg()[0]:.1f})"
    )
    for jobs, label in ((1, "--jobs 1"), (2, "--jobs 2")):
        ordered = samples[jobs]
        print(
            f"  {label:40s} median {statistics.median(ordered):6.1f} s   "
            f"range {min(ordered):.1f}-{max(ordered):.1f} s"
        )
    print(f"  speed-up (median --jobs 1 / median --jobs 2): {one / two:.2f}x")


SECTIONS = ("demos", "chapters", "build", "autograde", "monitor", "class", "parallel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per chapter/autograde (default 3)"
    )
    parser.add_argument("--changes", type=int, default=24, help="control changes per demo")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    args = parser.parse_args()
    sections = args.only or list(SECTIONS)
    if "demos" in sections:
        demo_latency(args.changes)
    if "chapters" in sections:
        chapter_times(args.repeat)
    if "build" in sections:
        print("book build")
        book_build()
    if "autograde" in sections:
        autograde_times(args.repeat)
    if "monitor" in sections:
        monitor_costs(args.repeat)
    if "class" in sections:
        class_autograde()
    if "parallel" in sections:
        parallel_autograde(args.repeat)


if __name__ == "__main__":
    main()
