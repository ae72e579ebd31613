"""Known-wrong answers and legitimate alternatives for the chain_rule assignment."""

from mutation import right, wrong

# The forward pass every backprop variant shares (a variant is a whole answer cell).
_FORWARD = """
    act = model.activation
    inputs, pre, outputs = [], [], []
    h = X
    for block in model.layers:
        z = h @ block.linear.weight.T + block.linear.bias
        inputs.append(h)
        pre.append(z)
        if act == "tanh":
            h = torch.tanh(z)
        elif act == "sigmoid":
            h = torch.sigmoid(z)
        elif act == "relu":
            h = z.clamp_min(0)
        else:
            h = z
        outputs.append(h)
    out = h @ model.head.weight.T + model.head.bias
"""

_BACKWARD = """
    grads = {"head.weight": delta.T @ h, "head.bias": delta.sum(0)}
    upstream = model.head.weight
    for i in reversed(range(len(model.layers))):
        grad_h = delta @ upstream
        z, h = pre[i], outputs[i]
        delta = grad_h * SLOPE
        grads[f"layers.{i}.linear.weight"] = delta.T @ inputs[i]
        grads[f"layers.{i}.linear.bias"] = delta.sum(0)
        upstream = model.layers[i].linear.weight
    return {name: grads[name] for name, _ in model.named_parameters()}
"""

_RIGHT_SLOPE = """(
            1 - h**2 if act == "tanh"
            else h * (1 - h) if act == "sigmoid"
            else (z > 0).to(z.dtype) if act == "relu"
            else torch.ones_like(z)
        )"""


def _backprop(delta: str, slope: str = _RIGHT_SLOPE) -> str:
    return (
        "def backprop(model, X, y):\n"
        + _FORWARD.strip("\n")
        + "\n    delta = "
        + delta
        + "\n"
        + _BACKWARD.strip("\n").replace("SLOPE", slope)
        + "\n"
    )


_MEAN_DELTA = "(torch.softmax(out, dim=1) - F.one_hot(y, out.shape[1]).to(out.dtype)) / len(y)"

VARIANTS = (
    # -- Task 1: backprop ------------------------------------------------------------------------
    wrong(
        "backprop",
        "missing activation-derivative factor: delta_l = dL/dh_l without phi'(z_l)",
        _backprop(_MEAN_DELTA, slope="1.0"),
        feedback=("the gradients above it are right, so check the step from dL/dh_l to delta_l",),
    ),
    wrong(
        "backprop",
        "tanh slope from the pre-activation, 1 - z**2, instead of the output, 1 - h**2",
        _backprop(_MEAN_DELTA, slope=_RIGHT_SLOPE.replace("1 - h**2", "1 - z**2")),
        feedback=("the gradients above it are right",),
    ),
    wrong(
        "backprop",
        "sum instead of mean: forgets to divide delta by the batch size B",
        _backprop(_MEAN_DELTA.replace(" / len(y)", "")),
        feedback=("head.bias should get the batch sum of (softmax(o) - onehot(y)) / B",),
    ),
    wrong(
        "backprop",
        "hard-codes two classes in the one-hot encoding",
        _backprop(_MEAN_DELTA.replace("F.one_hot(y, out.shape[1])", "F.one_hot(y, 2)")),
        feedback=("backprop on a 3-class tanh network", "raised RuntimeError"),
    ),
    right(
        "backprop",
        "softmax without dim (torch warns), one-hot from head.out_features, einsum products",
        """
        def backprop(model, X, y):
            act = model.activation
            hs, zs = [X], []
            for block in model.layers:
                zs.append(torch.einsum("bi,oi->bo", hs[-1], block.linear.weight) + block.linear.bias)
                phi = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
                hs.append(phi.get(act, lambda z: z)(zs[-1]))
            out = hs[-1] @ model.head.weight.T + model.head.bias
            onehot = F.one_hot(y, num_classes=model.head.out_features).to(out.dtype)
            delta = (F.softmax(out) - onehot) / X.shape[0]
            grads = {
                "head.weight": torch.einsum("bo,bi->oi", delta, hs[-1]),
                "head.bias": delta.sum(dim=0),
            }
            W_up = model.head.weight
            for l in range(len(model.layers), 0, -1):
                z, h = zs[l - 1], hs[l]
                if act == "tanh":
                    slope = 1 - h * h
                elif act == "sigmoid":
                    slope = h - h * h
                elif act == "relu":
                    slope = torch.where(z > 0, torch.ones_like(z), torch.zeros_like(z))
                else:
                    slope = torch.ones_like(z)
                delta = (delta @ W_up) * slope
                grads[f"layers.{l - 1}.linear.weight"] = torch.einsum("bo,bi->oi", delta, hs[l - 1])
                grads[f"layers.{l - 1}.linear.bias"] = delta.sum(dim=0)
                W_up = model.layers[l - 1].linear.weight
            return grads
        """,
    ),
    right(
        "backprop",
        "slopes from the pre-activation in closed form, softmax via logsumexp",
        """
        def backprop(model, X, y):
            act = model.activation
            cache = []
            h = X
            for block in model.layers:
                z = h @ block.linear.weight.T + block.linear.bias
                cache.append((h, z))
                if act == "tanh":
                    h = torch.tanh(z)
                elif act == "sigmoid":
                    h = torch.sigmoid(z)
                elif act == "relu":
                    h = torch.clamp(z, min=0)
                else:
                    h = z
            out = h @ model.head.weight.T + model.head.bias
            p = torch.exp(out - torch.logsumexp(out, dim=1, keepdim=True))
            p[torch.arange(len(y)), y] -= 1
            delta = p / len(y)
            result = {"head.weight": delta.T @ h, "head.bias": delta.sum(0)}
            W_up = model.head.weight
            for i in range(len(model.layers) - 1, -1, -1):
                h_in, z = cache[i]
                if act == "tanh":
                    slope = 1 / torch.cosh(z) ** 2
                elif act == "sigmoid":
                    slope = torch.sigmoid(z) * torch.sigmoid(-z)
                elif act == "relu":
                    slope = torch.heaviside(z, torch.zeros((), dtype=z.dtype))
                else:
                    slope = torch.ones_like(z)
                delta = (delta @ W_up) * slope
                result[f"layers.{i}.linear.weight"] = delta.T @ h_in
                result[f"layers.{i}.linear.bias"] = delta.sum(0)
                W_up = model.layers[i].linear.weight
            return result
        """,
    ),
    # -- Task 2: layer_jacobians -----------------------------------------------------------------
    wrong(
        "layer_jacobians",
        "transposed Jacobian: W_k^T diag(phi'), the layout of a gradient row vector",
        """
        def layer_jacobians(model, x):
            act = model.activation
            jacobians, h = [], x
            with torch.no_grad():
                for block in model.layers:
                    W = block.linear.weight
                    z = W @ h + block.linear.bias
                    h = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}.get(
                        act, lambda v: v
                    )(z)
                    if act == "tanh":
                        slope = 1 - h**2
                    elif act == "sigmoid":
                        slope = h * (1 - h)
                    elif act == "relu":
                        slope = (z > 0).to(z.dtype)
                    else:
                        slope = torch.ones_like(z)
                    jacobians.append((slope[:, None] * W).T)
            return jacobians
        """,
        feedback=("transposed: row i of J_k is output unit i",),
    ),
    wrong(
        "layer_jacobians",
        "missing activation-derivative factor: J_k = W_k",
        """
        def layer_jacobians(model, x):
            return [block.linear.weight.detach().clone() for block in model.layers]
        """,
        feedback=("yours equals W_1: the slope factor",),
    ),
    wrong(
        "layer_jacobians",
        "tanh slope from the pre-activation, 1 - z**2",
        """
        def layer_jacobians(model, x):
            act = model.activation
            jacobians, h = [], x
            with torch.no_grad():
                for block in model.layers:
                    W = block.linear.weight
                    z = W @ h + block.linear.bias
                    if act == "tanh":
                        h = torch.tanh(z)
                        slope = 1 - z**2
                    elif act == "sigmoid":
                        h = torch.sigmoid(z)
                        slope = h * (1 - h)
                    elif act == "relu":
                        h = z.clamp_min(0)
                        slope = (z > 0).to(z.dtype)
                    else:
                        h = z
                        slope = torch.ones_like(z)
                    jacobians.append(slope[:, None] * W)
            return jacobians
        """,
        feedback=("for tanh, row i of J_1 should be W_1",),
    ),
    right(
        "layer_jacobians",
        "an explicit diagonal matrix, torch.diag(slope) @ W",
        """
        def layer_jacobians(model, x):
            out = []
            h = x
            for block in model.layers:
                W = block.linear.weight.detach()
                z = W @ h + block.linear.bias.detach()
                if model.activation == "tanh":
                    h = torch.tanh(z)
                    d = 1 - h**2
                elif model.activation == "sigmoid":
                    h = torch.sigmoid(z)
                    d = h * (1 - h)
                elif model.activation == "relu":
                    h = torch.relu(z)
                    d = (z > 0).double().to(z.dtype)
                else:
                    h = z
                    d = torch.ones_like(z)
                out.append(torch.diag(d) @ W)
            return out
        """,
    ),
    right(
        "layer_jacobians",
        "slopes from the pre-activation in closed form, rows scaled with unsqueeze",
        """
        def layer_jacobians(model, x):
            Js, h = [], x.detach()
            for block in model.layers:
                W, b = block.linear.weight.detach(), block.linear.bias.detach()
                z = torch.mv(W, h) + b
                if model.activation == "tanh":
                    slope, h = torch.cosh(z) ** -2, torch.tanh(z)
                elif model.activation == "sigmoid":
                    slope, h = torch.sigmoid(z) * torch.sigmoid(-z), torch.sigmoid(z)
                elif model.activation == "relu":
                    slope, h = torch.heaviside(z, torch.zeros((), dtype=z.dtype)), torch.relu(z)
                else:
                    slope, h = torch.ones_like(z), z
                Js.append(W * slope.unsqueeze(1))
            return Js
        """,
    ),
    # -- Task 2: network_jacobian ----------------------------------------------------------------
    wrong(
        "network_jacobian",
        "multiplies in the wrong order, J_1 J_2 ... J_L",
        """
        def network_jacobian(model, x):
            jacobians = layer_jacobians(model, x)
            product = jacobians[0]
            for J in jacobians[1:]:
                product = product @ J
            return product
        """,
        feedback=("Jacobian is the rightmost factor",),
    ),
    wrong(
        "network_jacobian",
        "off by one layer: starts at J_2, i.e. dh_L/dh_1 instead of dh_L/dh_0",
        """
        def network_jacobian(model, x):
            jacobians = layer_jacobians(model, x)
            product = torch.eye(jacobians[-1].shape[0], dtype=x.dtype)
            for J in jacobians[1:]:
                product = J @ product
            return product
        """,
        feedback=("leaves out J_1",),
    ),
    wrong(
        "network_jacobian",
        "transposed Jacobian: the product of the transposes, J_1^T ... J_L^T",
        """
        def network_jacobian(model, x):
            jacobians = layer_jacobians(model, x)
            product = jacobians[0].T
            for J in jacobians[1:]:
                product = product @ J.T
            return product
        """,
        feedback=("transposed: row i is output unit i",),
    ),
    right(
        "network_jacobian",
        "functools.reduce over the layer Jacobians",
        """
        def network_jacobian(model, x):
            import functools

            return functools.reduce(lambda acc, J: J @ acc, layer_jacobians(model, x))
        """,
    ),
    right(
        "network_jacobian",
        "torch.linalg.multi_dot of the reversed list (a single layer returned as is)",
        """
        def network_jacobian(model, x):
            Js = layer_jacobians(model, x)
            return torch.linalg.multi_dot(Js[::-1]) if len(Js) > 1 else Js[0]
        """,
    ),
    # -- Task 3: norm_and_bound ------------------------------------------------------------------
    wrong(
        "norm_and_bound",
        "off by one layer: the product and the bound start at layer 1 instead of layer 2",
        """
        def norm_and_bound(model, x):
            actual = torch.linalg.matrix_norm(network_jacobian(model, x), ord=2).item()
            bound = 1.0
            for block in model.layers:
                bound *= GAMMA[model.activation] * torch.linalg.matrix_norm(
                    block.linear.weight.detach(), ord=2
                ).item()
            return actual, bound
        """,
        feedback=("the product starts at J_2 = W_2",),
    ),
    wrong(
        "norm_and_bound",
        "Frobenius norm instead of the spectral norm",
        """
        def norm_and_bound(model, x):
            jacobians = layer_jacobians(model, x)
            product = jacobians[1]
            for J in jacobians[2:]:
                product = J @ product
            bound = 1.0
            for block in model.layers[1:]:
                bound *= GAMMA[model.activation] * block.linear.weight.detach().norm().item()
            return product.norm().item(), bound
        """,
        feedback=("is the Frobenius norm, not the spectral one",),
    ),
    wrong(
        "norm_and_bound",
        "forgets gamma: the bound is the product of the weight norms alone",
        """
        def norm_and_bound(model, x):
            jacobians = layer_jacobians(model, x)
            product = jacobians[1]
            for J in jacobians[2:]:
                product = J @ product
            bound = 1.0
            for block in model.layers[1:]:
                bound *= torch.linalg.matrix_norm(block.linear.weight.detach(), ord=2).item()
            return torch.linalg.matrix_norm(product, ord=2).item(), bound
        """,
        feedback=("the bound should be prod_(k=2,3) gamma ||W_k||_2",),
    ),
    wrong(
        "norm_and_bound",
        "bounds with the local Jacobian norms, prod ||J_k||_2, instead of prod gamma ||W_k||_2",
        """
        def norm_and_bound(model, x):
            jacobians = layer_jacobians(model, x)
            product = jacobians[1]
            for J in jacobians[2:]:
                product = J @ product
            bound = 1.0
            for J in jacobians[1:]:
                bound *= torch.linalg.matrix_norm(J, ord=2).item()
            return torch.linalg.matrix_norm(product, ord=2).item(), bound
        """,
        feedback=("the bound should be prod_(k=2,3) gamma ||W_k||_2",),
    ),
    right(
        "norm_and_bound",
        "largest singular value from svdvals, the bound as an exp of a sum of logs",
        """
        def norm_and_bound(model, x):
            import functools

            Js = layer_jacobians(model, x)[1:]
            product = functools.reduce(lambda acc, J: J @ acc, Js)
            actual = float(torch.linalg.svdvals(product)[0])
            logs = [
                math.log(GAMMA[model.activation])
                + math.log(float(torch.linalg.svdvals(b.linear.weight.detach())[0]))
                for b in model.layers[1:]
            ]
            return actual, math.exp(sum(logs))
        """,
    ),
    right(
        "norm_and_bound",
        "torch.linalg.norm(P, 2) and numpy's prod",
        """
        def norm_and_bound(model, x):
            Js = layer_jacobians(model, x)
            P = torch.eye(Js[1].shape[1], dtype=Js[1].dtype)
            for J in Js[1:]:
                P = J @ P
            g = GAMMA[model.activation]
            norms = [torch.linalg.norm(b.linear.weight.detach(), 2).item() for b in model.layers[1:]]
            return torch.linalg.norm(P, 2).item(), float(np.prod([g * n for n in norms]))
        """,
    ),
)
