"""Known-wrong answers and legitimate alternatives for the exploding_clipping assignment."""

from textwrap import dedent

from mutation import right, wrong

# The locked head of the `angles` cell, which every replacement of that cell keeps.
_ANGLES_HEAD = """
# The gradient of the RNN of Task 3 on one batch (locked part of this cell: keep it)
_model = build_echo_rnn(seed=0)
X_batch, y_batch = make_echo_task(32, 20, seed=100)
F.mse_loss(_model(X_batch), y_batch).backward()
grads = [p.grad.clone() for p in _model.parameters()]
"""

# The solution's gradient_angle, kept when a variant replaces clip_grad_value (same cell).
_ANGLE = """
def gradient_angle(grads_a, grads_b):
    a = torch.cat([g.detach().reshape(-1).double() for g in grads_a])
    b = torch.cat([g.detach().reshape(-1).double() for g in grads_b])
    cosine = torch.dot(a, b) / (a.norm() * b.norm())
    return math.degrees(math.acos(cosine.clamp(-1.0, 1.0).item()))
"""

# The solution's clip_grad_value, kept when a variant replaces gradient_angle (same cell).
_VALUE = """
def clip_grad_value(parameters, clip_value):
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_(-clip_value, clip_value)
"""

# The end of the train_fixed cell: the student's threshold and the run the tests read.
_FIXED_TAIL = """

MAX_NORM = 3.0
fixed = train_fixed(MAX_NORM)
"""


def _fixed(loop_body: str) -> str:
    """A train_fixed whose step between loss.backward() and losses.append is ``loop_body``."""
    return (
        """
def train_fixed(max_norm, steps=STEPS, seed=0):
    model = build_echo_rnn(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    X, y = make_echo_task(steps * BATCH, SEQ_LEN, seed=seed + 100)
    losses, grad_norms = [], []
    for step in range(steps):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        loss = F.mse_loss(model(X[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
"""
        + loop_body
        + """
        losses.append(loss.item())
    clipped = sum(norm > max_norm for norm in grad_norms) / len(grad_norms)
    return {"loss": losses, "grad_norm": grad_norms, "clipped": float(clipped)}
"""
        + _FIXED_TAIL
    )


VARIANTS = (
    # -- Task 1: clip_grad_norm --------------------------------------------------------------
    wrong(
        "clip_grad_norm",
        "clips each parameter's gradient by its own norm instead of the global norm",
        """
        def clip_grad_norm(parameters, max_norm):
            grads = [p.grad for p in parameters if p.grad is not None]
            if not grads:
                return 0.0
            total = torch.sqrt(sum((g**2).sum() for g in grads))
            for g in grads:
                norm = g.norm()
                if norm > max_norm:
                    g.mul_(max_norm / (norm + 1e-6))
            return total
        """,
        feedback=("multiplies every gradient by the same factor",),
    ),
    wrong(
        "clip_grad_norm",
        "rescales to max_norm even when the norm is below the threshold (normalizes always)",
        """
        def clip_grad_norm(parameters, max_norm):
            grads = [p.grad for p in parameters if p.grad is not None]
            if not grads:
                return 0.0
            total = torch.sqrt(sum((g**2).sum() for g in grads))
            for g in grads:
                g.mul_(max_norm / (total + 1e-6))
            return total
        """,
        feedback=("below the threshold (norm 5, max_norm=10) the gradients should not change",),
    ),
    wrong(
        "clip_grad_norm",
        "walks through the parameters twice, so a generator is empty the second time",
        """
        def clip_grad_norm(parameters, max_norm):
            total = math.sqrt(sum(p.grad.pow(2).sum().item() for p in parameters
                                  if p.grad is not None))
            if total > max_norm:
                for p in parameters:
                    if p.grad is not None:
                        p.grad.mul_(max_norm / (total + 1e-6))
            return total
        """,
        feedback=("can be walked through only once",),
    ),
    wrong(
        "clip_grad_norm",
        "clips by value (each entry clamped at max_norm) instead of by norm",
        """
        def clip_grad_norm(parameters, max_norm):
            grads = [p.grad for p in parameters if p.grad is not None]
            if not grads:
                return 0.0
            total = torch.sqrt(sum((g**2).sum() for g in grads))
            for g in grads:
                g.clamp_(-max_norm, max_norm)
            return total
        """,
        feedback=("multiplies every gradient by the same factor",),
    ),
    wrong(
        "clip_grad_norm",
        "returns the norm after clipping instead of before",
        """
        def clip_grad_norm(parameters, max_norm):
            grads = [p.grad for p in parameters if p.grad is not None]
            if not grads:
                return 0.0
            total = torch.sqrt(sum((g**2).sum() for g in grads))
            if total > max_norm:
                for g in grads:
                    g.mul_(max_norm / (total + 1e-6))
            return torch.sqrt(sum((g**2).sum() for g in grads))
        """,
        feedback=("that is the norm after clipping",),
    ),
    right(
        "clip_grad_norm",
        "accumulates the norm in float64 and returns a Python float",
        """
        def clip_grad_norm(parameters, max_norm):
            grads = [p.grad for p in parameters if p.grad is not None]
            if not grads:
                return 0.0
            total = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads))
            if total > max_norm:
                for g in grads:
                    g.mul_(max_norm / (total + 1e-6))
            return total
        """,
    ),
    right(
        "clip_grad_norm",
        "takes the norm of all gradients concatenated into one vector",
        """
        def clip_grad_norm(parameters, max_norm):
            grads = [p.grad for p in parameters if p.grad is not None]
            if not grads:
                return torch.tensor(0.0)
            total = torch.cat([g.reshape(-1) for g in grads]).norm()
            factor = max_norm / (total + 1e-6)
            if factor < 1:
                for g in grads:
                    g.mul_(factor)
            return total
        """,
    ),
    right(
        "clip_grad_norm",
        "multiplies by min(1, factor) at every call, with torch._foreach_mul_",
        """
        def clip_grad_norm(parameters, max_norm):
            grads = [p.grad for p in parameters if p.grad is not None]
            if not grads:
                return 0.0
            total = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))
            torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))
            return total
        """,
    ),
    # -- Task 2: clip_grad_value and gradient_angle (one cell) ------------------------------
    wrong(
        "clip_grad_value",
        "clamps only from above, so large negative entries stay",
        dedent("""
        def clip_grad_value(parameters, clip_value):
            for p in parameters:
                if p.grad is not None:
                    p.grad.clamp_(max=clip_value)
        """)
        + _ANGLE,
        feedback=("clamps each entry into [-0.1, 0.1] on its own",),
    ),
    wrong(
        "clip_grad_value",
        "rescales each gradient by its largest entry, which keeps the direction (not value clipping)",
        dedent("""
        def clip_grad_value(parameters, clip_value):
            for p in parameters:
                if p.grad is not None:
                    largest = p.grad.abs().max()
                    if largest > clip_value:
                        p.grad.mul_(clip_value / largest)
        """)
        + _ANGLE,
        feedback=("clamps each entry into [-0.1, 0.1] on its own",),
    ),
    wrong(
        "clip_grad_value",
        "replaces p.grad by a clamped copy instead of changing it in place",
        dedent("""
        def clip_grad_value(parameters, clip_value):
            for p in parameters:
                if p.grad is not None:
                    p.grad = p.grad.clamp(-clip_value, clip_value)
        """)
        + _ANGLE,
        feedback=("should change the gradient in place",),
    ),
    wrong(
        "clip_grad_value",
        "gradient_angle returns radians instead of degrees",
        _VALUE
        + dedent("""
        def gradient_angle(grads_a, grads_b):
            a = torch.cat([g.reshape(-1).double() for g in grads_a])
            b = torch.cat([g.reshape(-1).double() for g in grads_b])
            return math.acos(float((a @ b / (a.norm() * b.norm())).clamp(-1, 1)))
        """),
        feedback=("that is the angle in radians, not degrees",),
    ),
    wrong(
        "clip_grad_value",
        "gradient_angle does not clamp the cosine, which can round to just above 1",
        _VALUE
        + dedent("""
        def gradient_angle(grads_a, grads_b):
            a = torch.cat([g.reshape(-1).double() for g in grads_a])
            b = torch.cat([g.reshape(-1).double() for g in grads_b])
            return float(torch.rad2deg(torch.acos(a @ b / (a.norm() * b.norm()))))
        """),
        feedback=("clamp it into [-1, 1] before the arccos",),
    ),
    wrong(
        "clip_grad_value",
        "gradient_angle averages the angles of the parameters instead of one angle of the whole",
        _VALUE
        + dedent("""
        def gradient_angle(grads_a, grads_b):
            angles = []
            for ga, gb in zip(grads_a, grads_b):
                a, b = ga.reshape(-1).double(), gb.reshape(-1).double()
                cosine = (a @ b / (a.norm() * b.norm())).clamp(-1, 1)
                angles.append(math.degrees(math.acos(float(cosine))))
            return sum(angles) / len(angles)
        """),
        feedback=("form the vectors (1, 1) and (2, 0), at 45 degrees",),
    ),
    right(
        "clip_grad_value",
        "clamps with torch.clamp(..., out=p.grad); the angle from atan2 in numpy (a numpy float)",
        """
        import numpy as np


        def clip_grad_value(parameters, clip_value):
            for p in parameters:
                if p.grad is not None:
                    torch.clamp(p.grad, -clip_value, clip_value, out=p.grad)


        def gradient_angle(grads_a, grads_b):
            a = np.concatenate([g.detach().double().numpy().ravel() for g in grads_a])
            b = np.concatenate([g.detach().double().numpy().ravel() for g in grads_b])
            unit = a / np.linalg.norm(a)
            along = b @ unit
            across = np.linalg.norm(b - along * unit)
            return np.degrees(np.arctan2(across, along))
        """,
    ),
    right(
        "clip_grad_value",
        "clamps through p.grad.data; the angle from F.cosine_similarity in float64, clamped",
        """
        def clip_grad_value(parameters, clip_value):
            for p in parameters:
                if p.grad is not None:
                    p.grad.data.clamp_(min=-clip_value, max=clip_value)


        def gradient_angle(grads_a, grads_b):
            a = torch.cat([g.flatten() for g in grads_a]).to(torch.float64)
            b = torch.cat([g.flatten() for g in grads_b]).to(torch.float64)
            cosine = F.cosine_similarity(a, b, dim=0, eps=0.0).clamp(-1.0, 1.0)
            return math.degrees(math.acos(cosine.item()))
        """,
    ),
    # -- Task 2.3: the angles ----------------------------------------------------------------
    wrong(
        "angles",
        "clips the gradient of each parameter by its own norm",
        _ANGLES_HEAD
        + dedent("""
        _copies = []
        for g in grads:
            p = torch.zeros_like(g, requires_grad=True)
            p.grad = g.clone()
            clip_grad_norm([p], 1.0)
            _copies.append(p.grad)
        angle_norm = gradient_angle(grads, _copies)
        _value = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(_value, grads):
            p.grad = g.clone()
        clip_grad_value(_value, 0.1)
        angle_value = gradient_angle(grads, [p.grad for p in _value])
        """),
        feedback=("multiplies every component of every gradient by one factor",),
    ),
    wrong(
        "angles",
        "clips grads themselves (no clones), so grads changes and both angles are measured late",
        _ANGLES_HEAD
        + dedent("""
        _params = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(_params, grads):
            p.grad = g
        _original = [g.clone() for g in grads]
        clip_grad_norm(_params, 1.0)
        angle_norm = gradient_angle(_original, grads)
        clip_grad_value(_params, 0.1)
        angle_value = gradient_angle(_original, grads)
        """),
        feedback=("grads should be left unchanged",),
    ),
    wrong(
        "angles",
        "clips one copy by norm and then the same, already clipped copy by value",
        _ANGLES_HEAD
        + dedent("""
        _copy = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(_copy, grads):
            p.grad = g.clone()
        clip_grad_norm(_copy, 1.0)
        angle_norm = gradient_angle(grads, [p.grad for p in _copy])
        clip_grad_value(_copy, 0.1)
        angle_value = gradient_angle(grads, [p.grad for p in _copy])
        """),
        feedback=("angle_value differs from the angle after torch.nn.utils.clip_grad_value_",),
    ),
    right(
        "angles",
        "clips one parameter holding the whole gradient as a single vector",
        _ANGLES_HEAD
        + dedent("""
        _flat = torch.cat([g.reshape(-1) for g in grads])
        _by_norm = torch.zeros_like(_flat, requires_grad=True)
        _by_value = torch.zeros_like(_flat, requires_grad=True)
        _by_norm.grad, _by_value.grad = _flat.clone(), _flat.clone()
        clip_grad_norm([_by_norm], 1.0)
        clip_grad_value([_by_value], 0.1)
        angle_norm = gradient_angle([_flat], [_by_norm.grad])
        angle_value = gradient_angle([_flat], [_by_value.grad])
        """),
    ),
    # -- Task 3: train_fixed -----------------------------------------------------------------
    wrong(
        "train_fixed",
        "clips after opt.step(), when the unclipped step has already been taken",
        _fixed(
            """
        grad_norms.append(math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters())))
        opt.step()
        clip_grad_norm(model.parameters(), max_norm)
"""
        ),
        feedback=("clip between loss.backward() and opt.step()",),
    ),
    wrong(
        "train_fixed",
        "records the norm after clipping instead of before",
        _fixed(
            """
        clip_grad_norm(model.parameters(), max_norm)
        grad_norms.append(math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters())))
        opt.step()
"""
        ),
        feedback=("should be the first norm before clipping",),
    ),
    wrong(
        "train_fixed",
        "clips by value at max_norm instead of by global norm",
        _fixed(
            """
        grad_norms.append(math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters())))
        torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
        opt.step()
"""
        ),
        feedback=("run matches clipping by value",),
    ),
    wrong(
        "train_fixed",
        "clips each parameter's gradient by its own norm",
        _fixed(
            """
        grad_norms.append(math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters())))
        for p in model.parameters():
            torch.nn.utils.clip_grad_norm_([p], max_norm)
        opt.step()
"""
        ),
        feedback=("by its own norm, not by the global norm",),
    ),
    right(
        "train_fixed",
        "uses torch.nn.utils.clip_grad_norm_ (allowed), with foreach=True",
        _fixed(
            """
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm, foreach=True)
        grad_norms.append(norm.item())
        opt.step()
"""
        ),
    ),
    right(
        "train_fixed",
        "uses the deprecated alias torch.nn.utils.clip_grad_norm (a FutureWarning on stderr)",
        _fixed(
            """
        grad_norms.append(float(torch.nn.utils.clip_grad_norm(model.parameters(), max_norm)))
        opt.step()
"""
        ),
    ),
    right(
        "train_fixed",
        "clips inline: float64 norm from the parameters, gradients set to None between steps",
        """
        def train_fixed(max_norm, steps=STEPS, seed=0):
            model = build_echo_rnn(seed=seed)
            params = list(model.parameters())
            opt = torch.optim.SGD(params, lr=LR)
            X, y = make_echo_task(steps * BATCH, SEQ_LEN, seed=seed + 100)
            out = {"loss": [], "grad_norm": []}
            for step in range(steps):
                batch = slice(step * BATCH, (step + 1) * BATCH)
                opt.zero_grad(set_to_none=True)
                loss = F.mse_loss(model(X[batch]), y[batch])
                loss.backward()
                norm = math.sqrt(sum(p.grad.double().pow(2).sum().item() for p in params))
                if norm > max_norm:
                    with torch.no_grad():
                        for p in params:
                            p.grad *= max_norm / (norm + 1e-6)
                opt.step()
                out["loss"].append(float(loss))
                out["grad_norm"].append(norm)
            out["clipped"] = sum(n > max_norm for n in out["grad_norm"]) / steps
            return out


        MAX_NORM = 2.0
        fixed = train_fixed(MAX_NORM)
        """,
    ),
)
