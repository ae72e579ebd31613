"""Known-wrong answers and legitimate alternatives for the residual_connections assignment."""

from mutation import right, wrong

VARIANTS = (
    # -- Task 1: ResidualBlock.forward -------------------------------------------------------
    wrong(
        "residual_block",
        "forgets the skip: returns alpha * F(h) for a residual block",
        """
        class ResidualBlock(nn.Module):
            def __init__(self, width, alpha=1.0, residual=True):
                super().__init__()
                self.linear = nn.Linear(width, width)
                self.alpha = alpha
                self.residual = residual

            def forward(self, h):
                branch = self.linear(torch.relu(h))
                if self.residual:
                    return self.alpha * branch
                return branch
        """,
        feedback=("should be exactly the identity", "the skip adds h unchanged"),
    ),
    wrong(
        "residual_block",
        "post-activation block: applies the ReLU after the sum instead of inside the branch",
        """
        class ResidualBlock(nn.Module):
            def __init__(self, width, alpha=1.0, residual=True):
                super().__init__()
                self.linear = nn.Linear(width, width)
                self.alpha = alpha
                self.residual = residual

            def forward(self, h):
                if self.residual:
                    return torch.relu(h + self.alpha * self.linear(h))
                return torch.relu(self.linear(h))
        """,
        feedback=("nothing is applied after the sum",),
    ),
    wrong(
        "residual_block",
        "scales the skip instead of the branch: alpha * h + F(h)",
        """
        class ResidualBlock(nn.Module):
            def __init__(self, width, alpha=1.0, residual=True):
                super().__init__()
                self.linear = nn.Linear(width, width)
                self.alpha = alpha
                self.residual = residual

            def forward(self, h):
                branch = self.linear(torch.relu(h))
                if self.residual:
                    return self.alpha * h + branch
                return branch
        """,
        feedback=("should be exactly the identity",),
    ),
    right(
        "residual_block",
        "writes the branch by hand with clamp and a matrix product",
        """
        class ResidualBlock(nn.Module):
            def __init__(self, width, alpha=1.0, residual=True):
                super().__init__()
                self.linear = nn.Linear(width, width)
                self.alpha = alpha
                self.residual = residual

            def forward(self, h):
                W, b = self.linear.weight, self.linear.bias
                branch = h.clamp(min=0) @ W.T + b
                return h + self.alpha * branch if self.residual else branch
        """,
    ),
    # -- Task 2: block_jacobian --------------------------------------------------------------
    wrong(
        "block_jacobian",
        "transposed Jacobian: I + alpha D W^T",
        """
        def block_jacobian(block, h):
            W = block.linear.weight.detach().to(h.dtype)
            slopes = (h > 0).to(h.dtype)
            branch = (W * slopes).T
            if block.residual:
                return torch.eye(h.shape[0], dtype=h.dtype) + block.alpha * branch
            return branch
        """,
        feedback=("It is transposed",),
    ),
    wrong(
        "block_jacobian",
        "forgets the identity of the skip: alpha W D for a residual block",
        """
        def block_jacobian(block, h):
            W = block.linear.weight.detach().to(h.dtype)
            slopes = (h > 0).to(h.dtype)
            return (block.alpha if block.residual else 1.0) * W * slopes
        """,
        feedback=("It lacks the identity",),
    ),
    wrong(
        "block_jacobian",
        "scales the rows by the ReLU slopes: I + alpha D W",
        """
        def block_jacobian(block, h):
            W = block.linear.weight.detach().to(h.dtype)
            slopes = (h > 0).to(h.dtype)
            branch = slopes[:, None] * W
            if block.residual:
                return torch.eye(h.shape[0], dtype=h.dtype) + block.alpha * branch
            return branch
        """,
        feedback=("should scale column j",),
    ),
    wrong(
        "block_jacobian",
        "takes the ReLU's slope at exactly 0 to be 1",
        """
        def block_jacobian(block, h):
            W = block.linear.weight.detach().to(h.dtype)
            slopes = (h >= 0).to(h.dtype)
            branch = W * slopes
            if block.residual:
                return torch.eye(h.shape[0], dtype=h.dtype) + block.alpha * branch
            return branch
        """,
        feedback=("slope at exactly 0 is 0",),
    ),
    right(
        "block_jacobian",
        "builds D with torch.diag and multiplies the matrices",
        """
        def block_jacobian(block, h):
            D = torch.diag(torch.where(h > 0, 1.0, 0.0).to(h.dtype))
            J = block.linear.weight.detach().to(h.dtype) @ D
            if block.residual:
                J = torch.eye(len(h), dtype=h.dtype) + block.alpha * J
            return J
        """,
    ),
    # -- Task 3: stack_profile ---------------------------------------------------------------
    wrong(
        "stack_profile",
        "uses the variance of h_l instead of its second moment",
        """
        def stack_profile(blocks, h0, R):
            h = h0.detach().clone().requires_grad_(True)
            hidden = [h]
            for block in blocks:
                hidden.append(block(hidden[-1]))
            grads = torch.autograd.grad((R * hidden[-1]).sum(), hidden)
            return [x.detach().var().item() for x in hidden], [g.norm().item() for g in grads]
        """,
        feedback=("every second moment should equal mean(h0**2)",),
    ),
    wrong(
        "stack_profile",
        "calls backward(), leaving .grad on the blocks' parameters",
        """
        def stack_profile(blocks, h0, R):
            h = h0.detach().clone().requires_grad_(True)
            hidden = [h]
            for block in blocks:
                hidden.append(block(hidden[-1]))
            for x in hidden:
                x.retain_grad()
            (R * hidden[-1]).sum().backward()
            return (
                [x.detach().pow(2).mean().item() for x in hidden],
                [x.grad.norm().item() for x in hidden],
            )
        """,
        feedback=("should leave no .grad on the blocks' parameters",),
    ),
    wrong(
        "stack_profile",
        "modifies the caller's h0: sets requires_grad on it instead of on a copy",
        """
        def stack_profile(blocks, h0, R):
            hidden = [h0.requires_grad_(True)]
            for block in blocks:
                hidden.append(block(hidden[-1]))
            grads = torch.autograd.grad((R * hidden[-1]).sum(), hidden)
            return [x.detach().pow(2).mean().item() for x in hidden], [g.norm().item() for g in grads]
        """,
        feedback=("should not change h0",),
    ),
    right(
        "stack_profile",
        "accumulates the moments and norms in float64",
        """
        def stack_profile(blocks, h0, R):
            h = h0.detach().clone().requires_grad_(True)
            hidden = [h]
            for block in blocks:
                hidden.append(block(hidden[-1]))
            grads = torch.autograd.grad((R * hidden[-1]).sum(), hidden)
            second_moments = [float(x.detach().double().square().mean()) for x in hidden]
            grad_norms = [float(torch.linalg.vector_norm(g.double())) for g in grads]
            return second_moments, grad_norms
        """,
    ),
    # -- Task 4: predicted_growth ------------------------------------------------------------
    wrong(
        "predicted_growth",
        "forgets the 1/2 of E[ReLU(h)^2] = q/2: c = 1 + alpha^2 sigma_w^2",
        """
        def predicted_growth(alpha, num_blocks, sigma_w2=2.0, residual=True):
            c = 1.0 + alpha**2 * sigma_w2 if residual else sigma_w2
            return float(c**num_blocks)
        """,
        feedback=("should grow the second moment by",),
    ),
    wrong(
        "predicted_growth",
        "uses the residual formula for the plain network too",
        """
        def predicted_growth(alpha, num_blocks, sigma_w2=2.0, residual=True):
            return float((1.0 + alpha**2 * sigma_w2 / 2.0) ** num_blocks)
        """,
        feedback=("residual=False) should be the closed form",),
    ),
    wrong(
        "predicted_growth",
        "returns the gradient norm's growth c^(L/2) instead of the second moment's",
        """
        def predicted_growth(alpha, num_blocks, sigma_w2=2.0, residual=True):
            c = 1.0 + alpha**2 * sigma_w2 / 2.0 if residual else sigma_w2 / 2.0
            return float(c ** (num_blocks / 2))
        """,
        feedback=("should grow the second moment by",),
    ),
    right(
        "predicted_growth",
        "computes c^L as exp(L log1p(...))",
        """
        def predicted_growth(alpha, num_blocks, sigma_w2=2.0, residual=True):
            if residual:
                return math.exp(num_blocks * math.log1p(alpha**2 * sigma_w2 / 2))
            return math.exp(num_blocks * math.log(sigma_w2 / 2))
        """,
    ),
    # -- Task 4: measurements ----------------------------------------------------------------
    wrong(
        "measurements",
        "inverts the gradient ratio: ||g_30|| / ||g_0||",
        """
        measured = {}
        stacks = {
            "plain": make_stack(30, 128, residual=False, sigma_w2=1.0, seed=0),
            "residual": make_stack(30, 128, alpha=1.0, seed=0),
            "scaled residual": make_stack(30, 128, alpha=1 / math.sqrt(30), seed=0),
        }
        for name, stack in stacks.items():
            q, g = stack_profile(stack, h0_stack, R_stack)
            measured[name] = (q[-1] / q[0], g[-1] / g[0])
        """,
        feedback=("grad_ratio = ||g_0|| / ||g_30|| should be below 1",),
    ),
    wrong(
        "measurements",
        "builds the plain stack with He weights (sigma_w2 = 2) instead of the given 1",
        """
        measured = {}
        stacks = {
            "plain": make_stack(30, 128, residual=False, seed=0),
            "residual": make_stack(30, 128, alpha=1.0, seed=0),
            "scaled residual": make_stack(30, 128, alpha=1 / math.sqrt(30), seed=0),
        }
        for name, stack in stacks.items():
            q, g = stack_profile(stack, h0_stack, R_stack)
            measured[name] = (q[-1] / q[0], g[0] / g[-1])
        """,
        feedback=("measured['plain']: growth should be",),
    ),
    right(
        "measurements",
        "divides numpy arrays of the profiles and converts with float()",
        """
        import numpy as np

        measured = {}
        for name, kwargs in (
            ("plain", dict(residual=False, sigma_w2=1.0)),
            ("residual", dict(alpha=1.0)),
            ("scaled residual", dict(alpha=30**-0.5)),
        ):
            q, g = map(np.array, stack_profile(make_stack(30, 128, seed=0, **kwargs), h0_stack, R_stack))
            measured[name] = (float(q[-1] / q[0]), float(g[0] / g[-1]))
        """,
    ),
)
