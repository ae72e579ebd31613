"""Known-wrong answers and legitimate alternatives for the diagnosing assignment."""

from mutation import right, wrong

#: The reference recorder with one piece swapped out; each variant below states what it changes.
_RECORD_PASS = """
def record_pass(model, X, y, loss_fn):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    activations = [m for m in model.modules() if isinstance(m, (nn.Sigmoid, nn.Tanh))]
    output_grads, saturation, handles = {{}}, {{}}, []

    def watch_output(layer):
        def hook(module, inputs, output):
{watch}

        return hook

    def measure_saturation(index):
        def hook(module, inputs, output):
            out = output.detach()
            if isinstance(module, nn.Sigmoid):
                slow = out * (1.0 - out) < {sigmoid_limit}
            else:
                slow = 1.0 - out * out < 0.1
            saturation[index] = slow.float().mean().item()

        return hook

    for i, layer in enumerate(linears):
        handles.append(layer.register_forward_hook(watch_output(i)))
    for i, act in enumerate(activations):
        handles.append(act.register_forward_hook(measure_saturation(i)))
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), y).backward()
    weight_grad_norm = [layer.weight.grad.norm().item() for layer in linears]
{cleanup}
    return {{
        "weight_grad_norm": weight_grad_norm,
        "output_grad_norm": [output_grads[i] for i in range(len(linears))],
        "saturation": [saturation[i] for i in range(len(activations))],
    }}
"""

_WATCH_GRAD = """\
            def keep(grad):
                output_grads[layer] = grad.norm().item()

            output.register_hook(keep)"""

_CLEANUP = """\
    for handle in handles:
        handle.remove()
    model.zero_grad(set_to_none=True)"""


def _record_pass(
    watch: str = _WATCH_GRAD, cleanup: str = _CLEANUP, sigmoid_limit: str = "0.025"
) -> str:
    return _RECORD_PASS.format(watch=watch, cleanup=cleanup, sigmoid_limit=sigmoid_limit)


_UPDATE_TO_DATA = """
def update_to_data(model, X, y, loss_fn, make_optimizer):
    clone = copy.deepcopy(model)
    linears = [m for m in clone.modules() if isinstance(m, nn.Linear)]
    before = [layer.weight.detach().clone() for layer in linears]
    optimizer = make_optimizer(clone.parameters())
    optimizer.zero_grad()
    loss_fn(clone(X), y).backward()
    optimizer.step()
    return [
        {ratio}
        for layer, w0 in zip(linears, before)
    ]
"""

VARIANTS = (
    # -- Task 1: record_pass -----------------------------------------------------------------
    wrong(
        "record_pass",
        "records the norm of the forward activations instead of the gradient at the outputs",
        _record_pass(watch="            output_grads[layer] = output.detach().norm().item()"),
        feedback=("output_grad_norm should be ||dL/dz|| at the 4 Linear outputs",),
    ),
    wrong(
        "record_pass",
        "does not remove its hooks",
        _record_pass(cleanup="    model.zero_grad(set_to_none=True)"),
        feedback=("record_pass should remove every hook it registered",),
    ),
    wrong(
        "record_pass",
        "leaves the gradients on the parameters",
        _record_pass(cleanup="    for handle in handles:\n        handle.remove()"),
        feedback=("should leave no .grad on the parameters",),
    ),
    wrong(
        "record_pass",
        "sigmoid saturation below 0.1 instead of a tenth of the sigmoid's largest slope 1/4",
        _record_pass(sigmoid_limit="0.1"),
        feedback=("saturation of build_mlp(2, 2,", "differs from measure_gradient_flow"),
    ),
    right(
        "record_pass",
        "module.register_full_backward_hook for the output gradients (torch warns on the "
        "first layer, whose input needs no gradient)",
        _record_pass(
            watch="            pass  # the backward hook below does the work",
            cleanup=_CLEANUP,
        ).replace(
            "    for i, layer in enumerate(linears):\n"
            "        handles.append(layer.register_forward_hook(watch_output(i)))\n",
            "    def backward_hook(index):\n"
            "        def hook(module, grad_input, grad_output):\n"
            "            output_grads[index] = grad_output[0].norm().item()\n"
            "\n"
            "        return hook\n"
            "\n"
            "    for i, layer in enumerate(linears):\n"
            "        handles.append(layer.register_full_backward_hook(backward_hook(i)))\n",
        ),
    ),
    right(
        "record_pass",
        "retain_grad() on every layer output, read after backward, hooks removed in finally",
        """
        def record_pass(model, X, y, loss_fn):
            linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
            acts = [m for m in model.modules() if type(m) in (nn.Sigmoid, nn.Tanh)]
            outputs, shares = {}, {}

            def keep_output(module, inputs, output):
                output.retain_grad()
                outputs[module] = output

            def share(module, inputs, output):
                s = output.detach().double()
                slope = s * (1 - s) / 0.25 if isinstance(module, nn.Sigmoid) else 1 - s**2
                shares[module] = float((slope < 0.1).double().mean())

            handles = [m.register_forward_hook(keep_output) for m in linears]
            handles += [m.register_forward_hook(share) for m in acts]
            try:
                loss_fn(model(X), y).backward()
                record = {
                    "weight_grad_norm": [float(m.weight.grad.norm()) for m in linears],
                    "output_grad_norm": [float(outputs[m].grad.norm()) for m in linears],
                    "saturation": [shares[m] for m in acts],
                }
            finally:
                for handle in handles:
                    handle.remove()
                model.zero_grad(set_to_none=True)
            return record
        """,
    ),
    # -- Task 2: update_to_data --------------------------------------------------------------
    wrong(
        "update_to_data",
        "uses the gradient norm instead of the step: ||grad|| / ||W||",
        _UPDATE_TO_DATA.format(ratio="(layer.weight.grad.norm() / w0.norm()).item()"),
        feedback=("the ratios should be lr * ||grad|| / ||W||",),
    ),
    wrong(
        "update_to_data",
        "averages a ratio per weight element instead of one ratio per tensor",
        _UPDATE_TO_DATA.format(
            ratio="((layer.weight.detach() - w0).abs() / w0.abs()).mean().item()"
        ),
        feedback=("the ratios should be lr * ||grad|| / ||W||",),
    ),
    wrong(
        "update_to_data",
        "assumes the step is lr * grad, which momentum, Adam and weight decay break",
        _UPDATE_TO_DATA.format(
            ratio="(optimizer.param_groups[0]['lr'] * layer.weight.grad.norm() / w0.norm()).item()"
        ),
        feedback=("Adam's first step moves every weight by about lr",),
    ),
    wrong(
        "update_to_data",
        "steps the model itself instead of a copy",
        _UPDATE_TO_DATA.format(
            ratio="((layer.weight.detach() - w0).norm() / w0.norm()).item()"
        ).replace("clone = copy.deepcopy(model)", "clone = model"),
        feedback=("update_to_data should step a copy of the model, not the model",),
    ),
    right(
        "update_to_data",
        "float64 norms of the flattened weights, from state_dict copies",
        """
        def update_to_data(model, X, y, loss_fn, make_optimizer):
            names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
            clone = copy.deepcopy(model)
            before = {k: v.clone() for k, v in clone.state_dict().items()}
            opt = make_optimizer(list(clone.parameters()))
            loss = loss_fn(clone(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            after = clone.state_dict()
            ratios = []
            for n in names:
                w0 = before[f"{n}.weight"].double().flatten()
                w1 = after[f"{n}.weight"].double().flatten()
                ratios.append(float(torch.linalg.vector_norm(w1 - w0) / torch.linalg.vector_norm(w0)))
            return ratios
        """,
    ),
    # -- Task 3: the diagnosis ---------------------------------------------------------------
    wrong(
        "diagnosis",
        "divides by the head's gradient instead of the last hidden layer's",
        """
        _record = record_pass(build_broken(), X_train, y_train, F.cross_entropy)
        broken_grad_ratio = _record["weight_grad_norm"][0] / _record["weight_grad_norm"][-1]
        broken_max_saturation = max(_record["saturation"])
        """,
        feedback=("over the 8th hidden layer's (not the head's)",),
    ),
    wrong(
        "diagnosis",
        "inverts the ratio: last hidden layer over first",
        """
        _record = record_pass(build_broken(), X_train, y_train, F.cross_entropy)
        broken_grad_ratio = _record["weight_grad_norm"][-2] / _record["weight_grad_norm"][0]
        broken_max_saturation = max(_record["saturation"])
        """,
        feedback=("so the ratio should be below 1",),
    ),
    wrong(
        "diagnosis",
        "compares the gradients at the layer outputs instead of the weight gradients",
        """
        _record = record_pass(build_broken(), X_train, y_train, F.cross_entropy)
        broken_grad_ratio = _record["output_grad_norm"][0] / _record["output_grad_norm"][-2]
        broken_max_saturation = max(_record["saturation"])
        """,
        feedback=("broken_grad_ratio should be the first hidden layer's weight-gradient norm",),
    ),
    right(
        "diagnosis",
        "numpy arrays, indexing the 8th hidden layer explicitly",
        """
        rec = record_pass(build_broken(), X_train, y_train, F.cross_entropy)
        w = np.asarray(rec["weight_grad_norm"])
        broken_grad_ratio = float(w[0] / w[7])
        broken_max_saturation = float(np.max(rec["saturation"]))
        """,
    ),
    # -- Task 3: the fix ---------------------------------------------------------------------
    wrong(
        "build_fixed",
        "keeps the sigmoid and only switches to He initialization",
        """
        def build_fixed():
            return build_mlp(2, 2, num_layers=8, width=32, activation="sigmoid", init="he", seed=0)


        fixed_run = train_locked(build_fixed())
        """,
        feedback=("the first layer still barely moves",),
    ),
    wrong(
        "build_fixed",
        "makes the network shallower instead of fixing the deep one",
        """
        def build_fixed():
            return build_mlp(2, 2, num_layers=3, width=32, activation="sigmoid", seed=0)


        fixed_run = train_locked(build_fixed())
        """,
        feedback=("build_fixed should keep 8 hidden layers of width 32",),
    ),
    right(
        "build_fixed",
        "ReLU with He initialization and batch normalization",
        """
        def build_fixed():
            return build_mlp(
                2, 2, num_layers=8, width=32, activation="relu", init="he", batch_norm=True, seed=0
            )


        fixed_run = train_locked(build_fixed())
        """,
    ),
    right(
        "build_fixed",
        "tanh with Xavier initialization and residual connections",
        """
        def build_fixed():
            return build_mlp(
                2, 2, num_layers=8, width=32, activation="tanh", init="xavier", residual=True, seed=0
            )


        fixed_run = train_locked(build_fixed())
        """,
    ),
)
