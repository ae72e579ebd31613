"""Known-wrong answers and legitimate alternatives for the gradient_descent assignment."""

from mutation import right, wrong

VARIANTS = (
    # -- Task 1: gradient_descent ----------------------------------------------------------------
    wrong(
        "gradient_descent",
        "gradient ascent: adds the gradient instead of subtracting it",
        """
        def gradient_descent(loss, theta0, lr, steps):
            theta = theta0.detach().clone().double()
            path = [theta]
            for _ in range(steps):
                theta = theta.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(loss(theta), theta)
                theta = (theta + lr * grad).detach()
                path.append(theta)
            return torch.stack(path)
        """,
        feedback=("one step with lr=0.05 from (1, 1) should reach",),
    ),
    wrong(
        "gradient_descent",
        "never zeroes .grad, so .backward() accumulates the gradients of all earlier steps",
        """
        def gradient_descent(loss, theta0, lr, steps):
            theta = theta0.detach().clone().double().requires_grad_(True)
            path = [theta.detach().clone()]
            for _ in range(steps):
                loss(theta).backward()
                with torch.no_grad():
                    theta -= lr * theta.grad
                path.append(theta.detach().clone())
            return torch.stack(path)
        """,
        feedback=("uses only the gradient at the current point",),
    ),
    wrong(
        "gradient_descent",
        "updates theta0 itself: .double() of a float64 tensor is the same tensor, not a copy",
        """
        def gradient_descent(loss, theta0, lr, steps):
            theta = theta0.double().requires_grad_(True)
            path = [theta.detach().clone()]
            for _ in range(steps):
                theta.grad = None
                loss(theta).backward()
                with torch.no_grad():
                    theta -= lr * theta.grad
                path.append(theta.detach().clone())
            return torch.stack(path)
        """,
        feedback=("gradient_descent should leave theta0 unchanged",),
    ),
    right(
        "gradient_descent",
        "updates a leaf tensor in place under torch.no_grad(), zeroing .grad every step",
        """
        def gradient_descent(loss, theta0, lr, steps):
            theta = theta0.detach().to(torch.float64).clone().requires_grad_(True)
            path = torch.empty(steps + 1, theta.numel(), dtype=torch.float64)
            path[0] = theta.detach()
            for t in range(steps):
                if theta.grad is not None:
                    theta.grad.zero_()
                loss(theta).backward()
                with torch.no_grad():
                    theta.sub_(lr * theta.grad)
                path[t + 1] = theta.detach()
            return path
        """,
    ),
    right(
        "gradient_descent",
        "copies theta0 with torch.tensor(theta0, ...), which makes torch print a UserWarning",
        """
        def gradient_descent(loss, theta0, lr, steps):
            theta = torch.tensor(theta0, dtype=torch.float64)
            rows = [theta.clone()]
            for _ in range(steps):
                theta.requires_grad_(True)
                grad = torch.autograd.grad(loss(theta), [theta])[0]
                theta = theta.detach().add(grad, alpha=-lr)
                rows.append(theta.clone())
            return torch.stack(rows).detach()
        """,
    ),
    # -- Task 2: stability_threshold -------------------------------------------------------------
    wrong(
        "stability_threshold",
        "takes the smallest eigenvalue (eigvalsh sorts ascending) instead of the largest",
        """
        def stability_threshold(loss, theta):
            H = torch.autograd.functional.hessian(loss, theta.detach().double())
            return 2.0 / torch.linalg.eigvalsh(H)[0].item()
        """,
        feedback=("2 / 0.5: the threshold is set by the largest eigenvalue",),
    ),
    wrong(
        "stability_threshold",
        "reads the curvatures off the Hessian's diagonal instead of its eigenvalues",
        """
        def stability_threshold(loss, theta):
            H = torch.autograd.functional.hessian(loss, theta.detach().double())
            return 2.0 / torch.diagonal(H).max().item()
        """,
        feedback=("not its diagonal entries",),
    ),
    wrong(
        "stability_threshold",
        "forgets the factor 2: returns 1 / lambda_max",
        """
        def stability_threshold(loss, theta):
            H = torch.autograd.functional.hessian(loss, theta.detach().double())
            return 1.0 / torch.linalg.eigvalsh(H).max().item()
        """,
        feedback=("1 / 50: the factor 2 is missing",),
    ),
    right(
        "stability_threshold",
        "no symmetrisation, a clone instead of detach, float() of a 0-d tensor",
        """
        def stability_threshold(loss, theta):
            H = torch.autograd.functional.hessian(loss, theta.clone().to(torch.float64))
            lam = torch.linalg.eigvalsh(H)
            return float(2 / lam.max())
        """,
    ),
    right(
        "stability_threshold",
        "eigenvalues from torch.linalg.eigvalsh on a Hessian built with a lambda wrapper",
        """
        def stability_threshold(loss, theta):
            t = theta.detach().double().clone()
            H = torch.autograd.functional.hessian(lambda v: loss(v), t)
            lam_max = max(torch.linalg.eigvalsh(H).tolist())
            return 2 / lam_max
        """,
    ),
    # -- Task 2: fastest_learning_rate -----------------------------------------------------------
    wrong(
        "fastest_learning_rate",
        "takes the fastest learning rate to be the largest stable one, 2 / lambda_max",
        """
        def fastest_learning_rate(loss, theta):
            H = torch.autograd.functional.hessian(loss, theta.detach().double())
            return 2.0 / torch.linalg.eigvalsh(H)[-1].item()
        """,
        feedback=("is the largest stable learning rate, not the fastest one",),
    ),
    wrong(
        "fastest_learning_rate",
        "uses the mean eigenvalue, 1 / mean(lambda), which equals the answer only in 2-D",
        """
        def fastest_learning_rate(loss, theta):
            H = torch.autograd.functional.hessian(loss, theta.detach().double())
            return 1.0 / torch.linalg.eigvalsh(H).mean().item()
        """,
        feedback=("should be 2 / (lambda_min + lambda_max) of the autograd Hessian",),
    ),
    right(
        "fastest_learning_rate",
        "min and max of the eigenvalues as Python floats",
        """
        def fastest_learning_rate(loss, theta):
            H = torch.autograd.functional.hessian(loss, theta.detach().clone().double())
            lam = torch.linalg.eigvalsh(H)
            return 2.0 / (lam.min().item() + lam.max().item())
        """,
    ),
    # -- Task 3: sgd_relative_change -------------------------------------------------------------
    wrong(
        "sgd_relative_change",
        "forgets the deepcopy and trains the model passed in",
        """
        def sgd_relative_change(model, X, y, steps, lr):
            net = model
            before = [block.linear.weight.detach().clone() for block in net.layers]
            opt = torch.optim.SGD(net.parameters(), lr=lr)
            for _ in range(steps):
                opt.zero_grad()
                F.cross_entropy(net(X), y).backward()
                opt.step()
            return [
                ((block.linear.weight.detach() - w0).norm() / w0.norm()).item()
                for block, w0 in zip(net.layers, before)
            ]
        """,
        feedback=("leave the model passed in unchanged",),
    ),
    wrong(
        "sgd_relative_change",
        "measures the change relative to the weights after training, ||W_l(T)||",
        """
        def sgd_relative_change(model, X, y, steps, lr):
            net = copy.deepcopy(model)
            before = [block.linear.weight.detach().clone() for block in net.layers]
            opt = torch.optim.SGD(net.parameters(), lr=lr)
            for _ in range(steps):
                opt.zero_grad()
                F.cross_entropy(net(X), y).backward()
                opt.step()
            return [
                ((block.linear.weight.detach() - w0).norm() / block.linear.weight.norm()).item()
                for block, w0 in zip(net.layers, before)
            ]
        """,
        feedback=("divided by the norm after training",),
    ),
    wrong(
        "sgd_relative_change",
        "keeps W_l(0) as a detached view (no clone), which the in-place SGD update overwrites",
        """
        def sgd_relative_change(model, X, y, steps, lr):
            net = copy.deepcopy(model)
            before = [block.linear.weight.detach() for block in net.layers]
            opt = torch.optim.SGD(net.parameters(), lr=lr)
            for _ in range(steps):
                opt.zero_grad()
                F.cross_entropy(net(X), y).backward()
                opt.step()
            return [
                ((block.linear.weight.detach() - w0).norm() / w0.norm()).item()
                for block, w0 in zip(net.layers, before)
            ]
        """,
        feedback=("shares memory with the weights",),
    ),
    wrong(
        "sgd_relative_change",
        "updates only the hidden layers' weight matrices, not the biases and the head",
        """
        def sgd_relative_change(model, X, y, steps, lr):
            net = copy.deepcopy(model)
            weights = [block.linear.weight for block in net.layers]
            before = [w.detach().clone() for w in weights]
            opt = torch.optim.SGD(weights, lr=lr)
            for _ in range(steps):
                opt.zero_grad()
                F.cross_entropy(net(X), y).backward()
                opt.step()
            return [((w.detach() - w0).norm() / w0.norm()).item() for w, w0 in zip(weights, before)]
        """,
        feedback=("on all parameters (head and biases included)",),
    ),
    right(
        "sgd_relative_change",
        "state_dict snapshot, set_to_none zeroing and float64 norms with torch.linalg",
        """
        def sgd_relative_change(model, X, y, steps, lr):
            net = copy.deepcopy(model)
            start = {k: v.clone() for k, v in net.state_dict().items()}
            opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.0)
            for _ in range(steps):
                loss = F.cross_entropy(net(X), y)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            changes = []
            for i, block in enumerate(net.layers):
                w0 = start[f"layers.{i}.linear.weight"].double()
                w = block.linear.weight.detach().double()
                changes.append(float(torch.linalg.norm(w - w0) / torch.linalg.norm(w0)))
            return changes
        """,
    ),
)
