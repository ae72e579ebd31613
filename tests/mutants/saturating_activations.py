"""Known-wrong answers and legitimate alternatives for the saturating_activations assignment."""

from mutation import right, wrong

VARIANTS = (
    # -- Task 1: sigmoid_prime ------------------------------------------------------------------
    wrong(
        "sigmoid_prime",
        "sign slip in the derivative: sigma(z) (1 + sigma(z))",
        """
        def sigmoid_prime(z):
            s = torch.sigmoid(z)
            return s * (1.0 + s)
        """,
        feedback=("sigmoid_prime(0) should be 0.25",),
    ),
    wrong(
        "sigmoid_prime",
        "the textbook formula exp(-z) / (1 + exp(-z))**2, which overflows to nan at z = -1000",
        """
        def sigmoid_prime(z):
            e = torch.exp(-z)
            return e / (1.0 + e) ** 2
        """,
        feedback=("should be finite",),
    ),
    wrong(
        "sigmoid_prime",
        "asks autograd for the slope, which fails inside torch.no_grad()",
        """
        def sigmoid_prime(z):
            z = z.detach().requires_grad_(True)
            (slope,) = torch.autograd.grad(torch.sigmoid(z).sum(), z)
            return slope
        """,
        feedback=("inside torch.no_grad()",),
    ),
    right(
        "sigmoid_prime",
        "closed form 1 / (4 cosh^2(z / 2))",
        """
        def sigmoid_prime(z):
            return 1.0 / (4.0 * torch.cosh(z / 2) ** 2)
        """,
    ),
    right(
        "sigmoid_prime",
        "computed in float64 and cast back to the input's dtype",
        """
        def sigmoid_prime(z):
            s = torch.sigmoid(z.double())
            return (s * (1 - s)).to(z.dtype)
        """,
    ),
    right(
        "sigmoid_prime",
        "sigma(z) sigma(-z), the same product without the subtraction",
        """
        def sigmoid_prime(z):
            return torch.sigmoid(z) * torch.sigmoid(-z)
        """,
    ),
    # -- Task 1: tanh_prime ---------------------------------------------------------------------
    wrong(
        "tanh_prime",
        "missing square: 1 - tanh(z)",
        """
        def tanh_prime(z):
            return 1.0 - torch.tanh(z)
        """,
        feedback=("tanh_prime(1) should be 0.419974342",),
    ),
    wrong(
        "tanh_prime",
        "tanh written out with exponentials, which overflow to nan at +-1000",
        """
        def tanh_prime(z):
            t = (torch.exp(z) - torch.exp(-z)) / (torch.exp(z) + torch.exp(-z))
            return 1.0 - t * t
        """,
        feedback=("should be finite",),
    ),
    right(
        "tanh_prime",
        "sech^2 as 1 / cosh(z)**2",
        """
        def tanh_prime(z):
            return 1.0 / torch.cosh(z) ** 2
        """,
    ),
    right(
        "tanh_prime",
        "copy-constructs torch.tensor(z), which prints a UserWarning on stderr",
        """
        def tanh_prime(z):
            t = torch.tanh(torch.tensor(z))
            return 1 - t**2
        """,
    ),
    # -- Task 2: layer_gradient_norms -----------------------------------------------------------
    wrong(
        "layer_gradient_norms",
        "off by one layer: counts the output layer model.head as a hidden layer",
        """
        def layer_gradient_norms(model, X, y):
            weights = [block.linear.weight for block in model.layers] + [model.head.weight]
            grads = torch.autograd.grad(F.cross_entropy(model(X), y), weights)
            return [g.norm().item() for g in grads]
        """,
        feedback=("one norm per hidden layer",),
    ),
    wrong(
        "layer_gradient_norms",
        "sum instead of mean: the loss summed over the batch",
        """
        def layer_gradient_norms(model, X, y):
            weights = [block.linear.weight for block in model.layers]
            loss = F.cross_entropy(model(X), y, reduction="sum")
            return [g.norm().item() for g in torch.autograd.grad(loss, weights)]
        """,
        feedback=("not the sum over the batch",),
    ),
    wrong(
        "layer_gradient_norms",
        "calls loss.backward() and leaves the .grad on the model",
        """
        def layer_gradient_norms(model, X, y):
            F.cross_entropy(model(X), y).backward()
            return [block.linear.weight.grad.norm().item() for block in model.layers]
        """,
        feedback=("should leave no .grad",),
    ),
    wrong(
        "layer_gradient_norms",
        "measures the gradient reaching each layer's output dL/dh_l, not the weights' gradient",
        """
        def layer_gradient_norms(model, X, y):
            out, pre, hidden = model.forward_with_hidden(X)
            grads = torch.autograd.grad(F.cross_entropy(out, y), hidden)
            return [g.norm().item() for g in grads]
        """,
        feedback=("Frobenius norm of the gradient of model.layers[l].linear.weight",),
    ),
    right(
        "layer_gradient_norms",
        "loss.backward(), read .grad, then model.zero_grad(set_to_none=True)",
        """
        def layer_gradient_norms(model, X, y):
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            norms = [float(block.linear.weight.grad.norm()) for block in model.layers]
            model.zero_grad(set_to_none=True)
            return norms
        """,
    ),
    right(
        "layer_gradient_norms",
        "accumulates the squared entries in float64",
        """
        def layer_gradient_norms(model, X, y):
            weights = [block.linear.weight for block in model.layers]
            grads = torch.autograd.grad(F.cross_entropy(model(X), y), weights)
            return [math.sqrt(g.double().pow(2).sum().item()) for g in grads]
        """,
    ),
    right(
        "layer_gradient_norms",
        "torch.linalg.matrix_norm (Frobenius by default) on each gradient",
        """
        def layer_gradient_norms(model, X, y):
            norms = []
            grads = torch.autograd.grad(
                F.cross_entropy(model(X), y), [b.linear.weight for b in model.layers]
            )
            for grad in grads:
                norms.append(torch.linalg.matrix_norm(grad).item())
            return norms
        """,
    ),
    # -- Task 3: ratios -------------------------------------------------------------------------
    wrong(
        "ratios",
        "inverted ratio: last layer over first layer",
        """
        X_spirals, y_spirals = make_spirals(256, seed=0)
        sig = layer_gradient_norms(
            build_mlp(2, 2, num_layers=10, width=64, activation="sigmoid", seed=0), X_spirals, y_spirals
        )
        rel = layer_gradient_norms(
            build_mlp(2, 2, num_layers=10, width=64, activation="relu", init="he", seed=0),
            X_spirals,
            y_spirals,
        )
        sigmoid_ratio = sig[-1] / sig[0]
        relu_ratio = rel[-1] / rel[0]
        print(f"first/last gradient norm: sigmoid {sigmoid_ratio:.2e}, relu {relu_ratio:.2e}")
        """,
        feedback=("first hidden layer's norm over the last one's",),
    ),
    wrong(
        "ratios",
        "leaves the ReLU network at PyTorch's default init instead of He's",
        """
        X_spirals, y_spirals = make_spirals(256, seed=0)
        sig = layer_gradient_norms(
            build_mlp(2, 2, num_layers=10, width=64, activation="sigmoid", seed=0), X_spirals, y_spirals
        )
        rel = layer_gradient_norms(
            build_mlp(2, 2, num_layers=10, width=64, activation="relu", seed=0), X_spirals, y_spirals
        )
        sigmoid_ratio = sig[0] / sig[-1]
        relu_ratio = rel[0] / rel[-1]
        print(f"first/last gradient norm: sigmoid {sigmoid_ratio:.2e}, relu {relu_ratio:.2e}")
        """,
        feedback=("relu_ratio should be",),
    ),
    right(
        "ratios",
        "every build_mlp argument written out, ratios as numpy float64 from a float64 array",
        """
        X_spirals, y_spirals = make_spirals(256, seed=0)
        ratios = {}
        for activation, init in (("sigmoid", "default"), ("relu", "he")):
            net = build_mlp(
                2, 2, num_layers=10, width=64, activation=activation, init=init, seed=0
            )
            norms = np.array(layer_gradient_norms(net, X_spirals, y_spirals), dtype=np.float64)
            ratios[activation] = norms[0] / norms[-1]
        sigmoid_ratio, relu_ratio = ratios["sigmoid"], ratios["relu"]
        print(f"first/last gradient norm: sigmoid {sigmoid_ratio:.2e}, relu {relu_ratio:.2e}")
        """,
    ),
)
