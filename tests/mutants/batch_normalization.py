"""Known-wrong answers and legitimate alternatives for the batch_normalization assignment."""

from mutation import right, wrong

_INIT = '''
class BatchNorm(nn.Module):
    """Batch normalization of (batch, num_features) inputs, like nn.BatchNorm1d."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
'''

_SCALE_DATA = """
_gen_si = torch.Generator().manual_seed(0)
x_si = torch.randn(64, 32, generator=_gen_si, dtype=torch.float64)
W_si = torch.randn(32, 32, generator=_gen_si, dtype=torch.float64) / 32**0.5
R_si = torch.randn(64, 32, generator=_gen_si, dtype=torch.float64)
c = 10.0
"""

_SCALE_PRINT = """
print(f"input_grad_change = {input_grad_change:.2e}, weight_grad_ratio = {weight_grad_ratio:.6f}")
"""

VARIANTS = (
    # -- Task 1: BatchNorm ----------------------------------------------------------------------
    wrong(
        "batchnorm_class",
        "forgets evaluation mode: always normalizes with the batch's own statistics",
        _INIT
        + """
    def forward(self, x):
        batch = x.shape[0]
        mean = x.mean(dim=0)
        var = ((x - mean) ** 2).mean(dim=0)
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * batch / (batch - 1))
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias
""",
        feedback=("should normalize with running_mean and running_var, not with the batch",),
    ),
    wrong(
        "batchnorm_class",
        "biased batch variance in the running estimate (no B / (B - 1))",
        _INIT
        + """
    def forward(self, x):
        if self.training:
            mean = x.mean(dim=0)
            var = ((x - mean) ** 2).mean(dim=0)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias
""",
        feedback=("UNBIASED batch variance",),
    ),
    wrong(
        "batchnorm_class",
        "normalizes over the wrong dimension: each example over its features",
        _INIT
        + """
    def forward(self, x):
        if self.training:
            batch = x.shape[0]
            mean = x.mean(dim=1, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=1, keepdim=True)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean.mean())
                self.running_var.mul_(1 - m).add_(m * var.mean() * batch / (batch - 1))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias
""",
        feedback=("normalize each feature over the examples of the batch (dimension 0)",),
    ),
    wrong(
        "batchnorm_class",
        "keeps the gradient history in the running statistics (no detach, no torch.no_grad)",
        _INIT
        + """
    def forward(self, x):
        if self.training:
            batch = x.shape[0]
            mean = x.mean(dim=0)
            var = ((x - mean) ** 2).mean(dim=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * batch / (batch - 1)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias
""",
        feedback=("should carry no gradient history",),
    ),
    right(
        "batchnorm_class",
        "torch.var_mean with correction=0, statistics accumulated in float64",
        _INIT
        + """
    def forward(self, x):
        if self.training:
            n = x.shape[0]
            var64, mean64 = torch.var_mean(x.double(), dim=0, correction=0)
            mean, var = mean64.to(x.dtype), var64.to(x.dtype)
            m = self.momentum
            self.running_mean.copy_((1 - m) * self.running_mean + m * mean.detach())
            unbiased = torch.var(x.detach().double(), dim=0, correction=1).to(x.dtype)
            self.running_var.copy_((1 - m) * self.running_var + m * unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
""",
    ),
    right(
        "batchnorm_class",
        "replaces the buffers with torch.tensor copies (torch prints a UserWarning)",
        _INIT
        + """
    def forward(self, x):
        if self.training:
            b = x.shape[0]
            mean = x.sum(dim=0) / b
            var = ((x - mean) ** 2).sum(dim=0) / b
            m = self.momentum
            new_mean = (1 - m) * self.running_mean + m * mean
            new_var = (1 - m) * self.running_var + m * var * b / (b - 1)
            self.running_mean = torch.tensor(new_mean)  # a detached copy, with a warning
            self.running_var = torch.tensor(new_var)
            return self.weight * (x - mean) / (var + self.eps) ** 0.5 + self.bias
        return (
            self.weight * (x - self.running_mean) / (self.running_var + self.eps) ** 0.5
            + self.bias
        )
""",
    ),
    # -- Task 2: bn_gradients --------------------------------------------------------------------
    wrong(
        "bn_gradients",
        "detaches the batch statistics: no gradient through the mean and the variance",
        """
def bn_gradients(x, W, R):
    x = x.detach().clone().requires_grad_(True)
    W = W.detach().clone().requires_grad_(True)
    z = x @ W.T
    mean, var = z.mean(dim=0).detach(), z.var(dim=0, unbiased=False).detach()
    y = (z - mean) / torch.sqrt(var)
    grad_x, grad_W = torch.autograd.grad((R * y).sum(), [x, W])
    return grad_x, grad_W
""",
        feedback=("shifting every example by the same vector",),
    ),
    wrong(
        "bn_gradients",
        "keeps batch norm's default eps = 1e-5 instead of eps = 0",
        """
def bn_gradients(x, W, R):
    x = x.detach().clone().requires_grad_(True)
    W = W.detach().clone().requires_grad_(True)
    layer = BatchNorm(W.shape[0]).to(x.dtype)
    y = layer(x @ W.T)
    grad_x, grad_W = torch.autograd.grad((R * y).sum(), [x, W])
    return grad_x, grad_W
""",
        feedback=("it matches batch norm with eps = 1e-5",),
    ),
    wrong(
        "bn_gradients",
        "returns the gradient of W transposed (the gradient of W.T)",
        """
def bn_gradients(x, W, R):
    x = x.detach().clone().requires_grad_(True)
    Wt = W.detach().T.clone().requires_grad_(True)
    layer = BatchNorm(W.shape[0], eps=0.0).to(x.dtype)
    y = layer(x @ Wt)
    grad_x, grad_Wt = torch.autograd.grad((R * y).sum(), [x, Wt])
    return grad_x, grad_Wt
""",
        feedback=("grad_W that of W",),
    ),
    right(
        "bn_gradients",
        "the backward formula written out, without autograd",
        """
def bn_gradients(x, W, R):
    z = x @ W.T
    mean = z.mean(dim=0)
    std = z.var(dim=0, unbiased=False).sqrt()
    z_hat = (z - mean) / std
    # dL/dz = (R - mean(R) - z_hat * mean(R * z_hat)) / std, per unit
    grad_z = (R - R.mean(dim=0) - z_hat * (R * z_hat).mean(dim=0)) / std
    return grad_z @ W, grad_z.T @ x
""",
    ),
    right(
        "bn_gradients",
        "backward() on cloned leaf tensors, reading their .grad",
        """
def bn_gradients(x, W, R):
    xc = x.clone().requires_grad_()
    Wc = W.clone().requires_grad_()
    z = xc @ Wc.T
    var, mean = torch.var_mean(z, dim=0, unbiased=False)
    ((R * (z - mean) / var.sqrt()).sum()).backward()
    return xc.grad, Wc.grad
""",
    ),
    # -- Task 2: the measurement ---------------------------------------------------------------
    wrong(
        "scale_measurement",
        "inverts the ratio: the gradient at c W over the gradient at W",
        _SCALE_DATA
        + """
gx_1, gW_1 = bn_gradients(x_si, W_si, R_si)
gx_c, gW_c = bn_gradients(x_si, c * W_si, R_si)
input_grad_change = (gx_1 - gx_c).abs().max().item()
weight_grad_ratio = (gW_c.norm() / gW_1.norm()).item()
"""
        + _SCALE_PRINT,
        feedback=("yours is the inverse",),
    ),
    wrong(
        "scale_measurement",
        "scales the inputs x instead of the weights W",
        _SCALE_DATA
        + """
gx_1, gW_1 = bn_gradients(x_si, W_si, R_si)
gx_c, gW_c = bn_gradients(c * x_si, W_si, R_si)
input_grad_change = (gx_1 - gx_c).abs().max().item()
weight_grad_ratio = (gW_1.norm() / gW_c.norm()).item()
"""
        + _SCALE_PRINT,
        feedback=("scale the weights W by c, not the inputs x",),
    ),
    right(
        "scale_measurement",
        "numpy norms and a maximum over a flattened difference",
        _SCALE_DATA
        + """
import numpy as np

gx_1, gW_1 = bn_gradients(x_si, W_si, R_si)
gx_c, gW_c = bn_gradients(x_si, W_si * c, R_si)
input_grad_change = float(np.max(np.abs((gx_1 - gx_c).numpy().ravel())))
weight_grad_ratio = float(np.linalg.norm(gW_1.numpy()) / np.linalg.norm(gW_c.numpy()))
"""
        + _SCALE_PRINT,
    ),
)
