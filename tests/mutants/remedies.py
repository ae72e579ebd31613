"""Known-wrong answers and legitimate alternatives for the remedies assignment."""

from mutation import right, wrong

_STEPS = """
def steps_to_catch_up(ratio):
    if not ratio > 0:
        raise ValueError(f"ratio must be positive, got {ratio}")
    return 1.0 / float(ratio)
"""

_EXTRA = """
def extra_layers(rate, speedup):
    if not 0 < rate < 1:
        raise ValueError(f"rate must be between 0 and 1 (exclusive), got {rate}")
    if not speedup >= 1:
        raise ValueError(f"speedup must be at least 1, got {speedup}")
    return math.log(speedup) / math.log(1.0 / rate)
"""

_COST_PRINT = """
print(
    f"a layer with ratio 1e-8 needs {steps_to_catch_up(1e-8):.1e} steps; "
    f"1000x faster hardware at a factor of 1/4 per layer buys {extra_layers(0.25, 1000):.2f} layers"
)
"""

_RATIOS = """
def remedy_ratios(remedies, X, y, num_layers, seed=0):
    ratios = {}
    for name, kwargs in remedies.items():
        model = build_mlp(2, 2, num_layers=num_layers, width=32, seed=seed, **kwargs)
        norms = measure_gradient_flow(model, X, y).weight_grad_norm
        ratios[name] = float(norms[0] / norms[-1])
    return ratios
"""

_RANK = """
def rank_remedies(ratios):
    return sorted(ratios, key=lambda name: abs(math.log10(ratios[name])))
"""

_REMEDY_TAIL = """
ratios_20 = remedy_ratios(REMEDIES, X_remedies, y_remedies, num_layers=20)
ranking_20 = rank_remedies(ratios_20)
for _name in ranking_20:
    print(f"{_name:<40} first/last weight gradient {ratios_20[_name]:.2e}")
"""

VARIANTS = (
    # -- Task 1: steps_to_catch_up and extra_layers (one answer cell) --------------------------
    wrong(
        "cost_functions",
        "rejects only a ratio of exactly zero: a negative ratio gives a negative number of steps",
        """
def steps_to_catch_up(ratio):
    if ratio == 0:
        raise ValueError("ratio must be positive")
    return 1.0 / ratio
"""
        + _EXTRA
        + _COST_PRINT,
        feedback=("steps_to_catch_up(-0.5) should raise a ValueError",),
    ),
    wrong(
        "cost_functions",
        "rounds the extra depth down to whole layers",
        _STEPS
        + """
def extra_layers(rate, speedup):
    if not 0 < rate < 1:
        raise ValueError("rate must be between 0 and 1")
    if speedup < 1:
        raise ValueError("speedup must be at least 1")
    return float(math.floor(math.log(speedup) / math.log(1.0 / rate)))
"""
        + _COST_PRINT,
        feedback=("it is rounded to whole layers",),
    ),
    wrong(
        "cost_functions",
        "divides by log(rate) instead of log(1 / rate): a negative number of layers",
        _STEPS
        + """
def extra_layers(rate, speedup):
    if not 0 < rate < 1:
        raise ValueError("rate must be between 0 and 1")
    if speedup < 1:
        raise ValueError("speedup must be at least 1")
    return math.log(speedup) / math.log(rate)
"""
        + _COST_PRINT,
        feedback=("a negative number of layers",),
    ),
    right(
        "cost_functions",
        "numpy logarithms (numpy floats) and a power instead of a division",
        """
import numpy as np


def steps_to_catch_up(ratio):
    if ratio <= 0:
        raise ValueError("the ratio must be positive")
    return float(ratio) ** -1.0


def extra_layers(rate, speedup):
    if rate <= 0 or rate >= 1 or speedup < 1:
        raise ValueError("need 0 < rate < 1 and speedup >= 1")
    return np.log(speedup) / -np.log(rate)
"""
        + _COST_PRINT,
    ),
    right(
        "cost_functions",
        "math.log with a base",
        _STEPS
        + """
def extra_layers(rate, speedup):
    if not (0 < rate < 1 and speedup >= 1):
        raise ValueError(f"need 0 < rate < 1 and speedup >= 1, got {rate}, {speedup}")
    return math.log(speedup, 1 / rate)
"""
        + _COST_PRINT,
    ),
    # -- Task 2: remedy_ratios and rank_remedies (one answer cell) -----------------------------
    wrong(
        "remedy_functions",
        "uses the gradients reaching the layers' outputs (dL/dh) instead of the weight gradients",
        """
def remedy_ratios(remedies, X, y, num_layers, seed=0):
    ratios = {}
    for name, kwargs in remedies.items():
        model = build_mlp(2, 2, num_layers=num_layers, width=32, seed=seed, **kwargs)
        ratios[name] = measure_gradient_flow(model, X, y).first_to_last
    return ratios
"""
        + _RANK
        + _REMEDY_TAIL,
        feedback=("not of the weight gradients",),
    ),
    wrong(
        "remedy_functions",
        "ranks by the distance |r - 1| instead of the distance on a log scale",
        _RATIOS
        + """
def rank_remedies(ratios):
    return sorted(ratios, key=lambda name: abs(ratios[name] - 1))
"""
        + _REMEDY_TAIL,
        feedback=("decades from 1",),
    ),
    wrong(
        "remedy_functions",
        "ignores the seed argument: always builds the networks with seed 0",
        """
def remedy_ratios(remedies, X, y, num_layers, seed=0):
    ratios = {}
    for name, kwargs in remedies.items():
        model = build_mlp(2, 2, num_layers=num_layers, width=32, **kwargs)
        norms = measure_gradient_flow(model, X, y).weight_grad_norm
        ratios[name] = float(norms[0] / norms[-1])
    return ratios
"""
        + _RANK
        + _REMEDY_TAIL,
        feedback=("seed 3",),
    ),
    right(
        "remedy_functions",
        "a dict comprehension with .item(), ranked by max(r, 1/r)",
        """
def remedy_ratios(remedies, X, y, num_layers, seed=0):
    def ratio(kwargs):
        model = build_mlp(2, 2, num_layers=num_layers, width=32, seed=seed, **kwargs)
        w = measure_gradient_flow(model, X, y).weight_grad_norm
        return (w[0] / w[-1]).item()

    return {name: ratio(kwargs) for name, kwargs in remedies.items()}


def rank_remedies(ratios):
    return sorted(ratios, key=lambda name: max(ratios[name], 1 / ratios[name]))
"""
        + _REMEDY_TAIL,
    ),
)
