"""Known-wrong answers and legitimate alternatives for the initialization assignment."""

from mutation import right, wrong

_GAINS = """
def activation_gain(activation):
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75}
    if activation not in gains:
        raise ValueError(f"activation must be one of {sorted(gains)}, got {activation!r}")
    return gains[activation]
"""

VARIANTS = (
    # -- Task 1: activation_gain and init_weight_ ----------------------------------------------
    wrong(
        "init_weight",
        "fan-out instead of fan-in: unpacks the (fan_out, fan_in) weight shape the wrong way round",
        _GAINS
        + """

def init_weight_(weight, activation, mode="fan_in"):
    gain = activation_gain(activation)
    fan_in, fan_out = weight.shape
    stds = {
        "fan_in": gain / math.sqrt(fan_in),
        "fan_out": gain / math.sqrt(fan_out),
        "fan_avg": gain * math.sqrt(2.0 / (fan_in + fan_out)),
    }
    if mode not in stds:
        raise ValueError(f"mode must be one of {sorted(stds)}, got {mode!r}")
    with torch.no_grad():
        return weight.normal_(0.0, stds[mode])
""",
        feedback=("gain / sqrt(fan_out)",),
    ),
    wrong(
        "init_weight",
        "the variance gain**2 / fan_in used as the standard deviation",
        _GAINS
        + """

def init_weight_(weight, activation, mode="fan_in"):
    gain = activation_gain(activation)
    fan_out, fan_in = weight.shape
    fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    if mode not in fans:
        raise ValueError(f"mode must be one of {sorted(fans)}, got {mode!r}")
    with torch.no_grad():
        return weight.normal_(0.0, gain**2 / fans[mode])
""",
        feedback=("the variance",),
    ),
    wrong(
        "init_weight",
        "uniform instead of Gaussian numbers, with the right standard deviation",
        _GAINS
        + """

def init_weight_(weight, activation, mode="fan_in"):
    gain = activation_gain(activation)
    fan_out, fan_in = weight.shape
    fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    if mode not in fans:
        raise ValueError(f"mode must be one of {sorted(fans)}, got {mode!r}")
    bound = math.sqrt(3.0) * gain / math.sqrt(fans[mode])
    with torch.no_grad():
        return weight.uniform_(-bound, bound)
""",
        feedback=("draw from a normal distribution",),
    ),
    right(
        "init_weight",
        "copies torch.randn(...) * std into the weight; gains from a chain of ifs",
        """
def activation_gain(activation):
    if activation in ("linear", "sigmoid"):
        return 1.0
    if activation == "tanh":
        return 5 / 3
    if activation == "relu":
        return 2**0.5
    if activation == "selu":
        return 3 / 4
    raise ValueError(f"unknown activation {activation!r}: use linear, sigmoid, tanh, relu or selu")


def init_weight_(weight, activation, mode="fan_in"):
    fan_out, fan_in = weight.shape
    if mode == "fan_in":
        var = 1 / fan_in
    elif mode == "fan_out":
        var = 1 / fan_out
    elif mode == "fan_avg":
        var = 2 / (fan_in + fan_out)
    else:
        raise ValueError(f"unknown mode {mode!r}: use fan_in, fan_out or fan_avg")
    std = activation_gain(activation) * math.sqrt(var)
    with torch.no_grad():
        weight.copy_(torch.randn(weight.shape) * std)
    return weight
""",
    ),
    right(
        "init_weight",
        "fills weight.data in place without torch.no_grad(), std computed in float64 numpy",
        """
import numpy as np


def activation_gain(activation):
    table = {"linear": 1, "sigmoid": 1, "tanh": 5 / 3, "relu": np.sqrt(2), "selu": 3 / 4}
    try:
        return float(table[activation])
    except KeyError:
        raise ValueError(f"activation must be one of {list(table)}") from None


def init_weight_(weight, activation, mode="fan_in"):
    fan_out, fan_in = weight.shape
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}.get(mode)
    if fan is None:
        raise ValueError(f"mode must be fan_in, fan_out or fan_avg, got {mode!r}")
    weight.data.normal_(0.0, float(activation_gain(activation) / np.sqrt(np.float64(fan))))
    return weight
""",
    ),
    # -- Task 2: pre_activation_second_moments ------------------------------------------------
    wrong(
        "pre_activation_second_moments",
        "the variance of z instead of its second moment",
        """
        def pre_activation_second_moments(model, X):
            moments, h = [], X
            with torch.no_grad():
                for block in model.layers:
                    z = block.linear(h)
                    moments.append(z.var().item())
                    h = block.act(z)
            return moments
        """,
        feedback=("the variance of z_1",),
    ),
    wrong(
        "pre_activation_second_moments",
        "the second moment of the layer's output h instead of its pre-activation z",
        """
        def pre_activation_second_moments(model, X):
            moments, h = [], X
            with torch.no_grad():
                for block in model.layers:
                    h = block.act(block.linear(h))
                    moments.append(h.pow(2).mean().item())
            return moments
        """,
        feedback=("not of its pre-activation",),
    ),
    wrong(
        "pre_activation_second_moments",
        "off by one layer: records the input's second moment first and drops the last layer",
        """
        def pre_activation_second_moments(model, X):
            moments, h = [], X
            with torch.no_grad():
                for block in model.layers:
                    moments.append(h.pow(2).mean().item())
                    h = block.act(block.linear(h))
            return moments
        """,
        feedback=("the second moment of the input X",),
    ),
    right(
        "pre_activation_second_moments",
        "model.forward_with_hidden, accumulated in float64",
        """
        def pre_activation_second_moments(model, X):
            with torch.no_grad():
                _, pre, _ = model.forward_with_hidden(X)
            return [z.double().square().mean().item() for z in pre]
        """,
    ),
    right(
        "pre_activation_second_moments",
        "forward hooks on every block's linear layer",
        """
        def pre_activation_second_moments(model, X):
            moments = []
            hooks = [
                block.linear.register_forward_hook(
                    lambda module, inputs, output: moments.append(float((output**2).mean()))
                )
                for block in model.layers
            ]
            try:
                with torch.no_grad():
                    model(X)
            finally:
                for hook in hooks:
                    hook.remove()
            return moments
        """,
    ),
    # -- Task 2: the ratios -------------------------------------------------------------------
    wrong(
        "ratios",
        "inverted: q_1 / q_30",
        """
        X_moments, _ = make_spirals(128, seed=0)
        xavier_net = build_mlp(2, 2, num_layers=30, width=256, activation="relu", init="xavier", seed=0)
        he_net = build_mlp(2, 2, num_layers=30, width=256, activation="relu", init="he", seed=0)
        qx = pre_activation_second_moments(xavier_net, X_moments)
        qh = pre_activation_second_moments(he_net, X_moments)
        xavier_ratio = qx[0] / qx[-1]
        he_ratio = qh[0] / qh[-1]
        xavier_theory = 0.5**29
        """,
        feedback=("it looks inverted",),
    ),
    wrong(
        "ratios",
        "ratio of RMS values (square roots) instead of second moments",
        """
        X_moments, _ = make_spirals(128, seed=0)
        xavier_net = build_mlp(2, 2, num_layers=30, width=256, activation="relu", init="xavier", seed=0)
        he_net = build_mlp(2, 2, num_layers=30, width=256, activation="relu", init="he", seed=0)
        qx = pre_activation_second_moments(xavier_net, X_moments)
        qh = pre_activation_second_moments(he_net, X_moments)
        xavier_ratio = math.sqrt(qx[-1] / qx[0])
        he_ratio = math.sqrt(qh[-1] / qh[0])
        xavier_theory = 0.5**29
        """,
        feedback=("ratio of RMS values",),
    ),
    right(
        "ratios",
        "numpy float64 ratios and math.pow for the closed form",
        """
        import numpy as np

        X_moments, _ = make_spirals(128, seed=0)
        xavier_net = build_mlp(2, 2, num_layers=30, width=256, activation="relu", init="xavier", seed=0)
        he_net = build_mlp(2, 2, num_layers=30, width=256, activation="relu", init="he", seed=0)
        qx = np.array(pre_activation_second_moments(xavier_net, X_moments))
        qh = np.array(pre_activation_second_moments(he_net, X_moments))
        xavier_ratio = qx[-1] / qx[0]
        he_ratio = qh[-1] / qh[0]
        xavier_theory = math.pow(1 / 2, 30 - 1)
        print(f"q_30 / q_1: Xavier {xavier_ratio:.2e} (theory {xavier_theory:.2e}), He {he_ratio:.2f}")
        """,
    ),
    # -- Task 3: fixed_model ------------------------------------------------------------------
    wrong(
        "fixed_model",
        "Xavier, the 'standard' initialization, for a deep ReLU network",
        """
        def fixed_model():
            return build_mlp(2, 2, num_layers=12, width=64, activation="relu", init="xavier", seed=0)
        """,
        feedback=("first_to_last between 0.1 and 10",),
    ),
    wrong(
        "fixed_model",
        "just larger weights: std 0.5 instead of 0.01, without deriving the scale",
        """
        def fixed_model():
            return build_mlp(
                2, 2, num_layers=12, width=64, activation="relu", init="normal", std=0.5, seed=0
            )
        """,
        feedback=("first_to_last between 0.1 and 10",),
    ),
    wrong(
        "fixed_model",
        "adds batch normalization instead of fixing the initialization",
        """
        def fixed_model():
            return build_mlp(
                2, 2, num_layers=12, width=64, activation="relu", init="normal", std=0.01,
                batch_norm=True, seed=0,
            )
        """,
        feedback=("should not add batch normalization",),
    ),
    wrong(
        "fixed_model",
        "He initialization with a fresh seed at every call",
        """
        import time


        def fixed_model():
            seed = time.perf_counter_ns() % 2**31
            return build_mlp(2, 2, num_layers=12, width=64, activation="relu", init="he", seed=seed)
        """,
        feedback=("should give identical weights",),
    ),
    right(
        "fixed_model",
        "re-initializes the broken network with torch.nn.init.kaiming_normal_ under a fixed seed",
        """
        def fixed_model():
            model = broken_model()
            torch.manual_seed(0)
            with torch.no_grad():
                for module in model.modules():
                    if isinstance(module, torch.nn.Linear):
                        torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                        module.bias.zero_()
            return model
        """,
    ),
    right(
        "fixed_model",
        "He's scale by hand: init='normal' with std = sqrt(2 / 64)",
        """
        def fixed_model():
            return build_mlp(
                2, 2, num_layers=12, width=64, activation="relu", init="normal",
                std=math.sqrt(2 / 64), seed=0,
            )
        """,
    ),
    # -- Task 4: initial_loss_check -----------------------------------------------------------
    wrong(
        "initial_loss_check",
        "chance as log2 of the number of classes (bits instead of nats)",
        """
        def initial_loss_check(model, X, y):
            with torch.no_grad():
                loss = F.cross_entropy(model(X), y).item()
            return loss, math.log2(model.head.out_features)
        """,
        feedback=("chance for 4 classes should be ln 4",),
    ),
    wrong(
        "initial_loss_check",
        "softmax before F.cross_entropy, which applies the log-softmax itself",
        """
        def initial_loss_check(model, X, y):
            with torch.no_grad():
                probs = torch.softmax(model(X), dim=1)
                loss = F.cross_entropy(probs, y).item()
            return loss, math.log(model.head.out_features)
        """,
        feedback=("F.cross_entropy takes the raw logits",),
    ),
    wrong(
        "initial_loss_check",
        "sum instead of mean over the batch",
        """
        def initial_loss_check(model, X, y):
            with torch.no_grad():
                loss = F.cross_entropy(model(X), y, reduction="sum").item()
            return loss, math.log(model.head.out_features)
        """,
        feedback=("not the sum",),
    ),
    right(
        "initial_loss_check",
        "log_softmax and nll_loss by hand in float64, numpy's log for chance",
        """
        import numpy as np


        def initial_loss_check(model, X, y):
            with torch.no_grad():
                logp = torch.log_softmax(model(X).double(), dim=1)
                loss = -logp[torch.arange(len(y)), y].mean().item()
            return loss, np.log(model.head.weight.shape[0])
        """,
    ),
    right(
        "initial_loss_check",
        "the deprecated reduce=True argument, which prints a UserWarning on stderr",
        """
        def initial_loss_check(model, X, y):
            with torch.no_grad():
                loss = float(F.cross_entropy(model(X), y, reduce=True))
            return loss, math.log(model.head.out_features)
        """,
    ),
)
