"""Known-wrong answers and legitimate alternatives for the gated_rnns assignment."""

from textwrap import dedent

from mutation import right, wrong

# The locked head of the `ratios` cell (the inputs), kept by every replacement of that cell.
_RATIOS_HEAD = """
_gen_seq = torch.Generator().manual_seed(0)
X_seq = torch.randn(8, 60, 4, generator=_gen_seq, dtype=torch.float64)
u_seq = torch.randn(32, generator=_gen_seq, dtype=torch.float64) / math.sqrt(32)
"""

# The locked head of the `ratio_by_bias` cell.
_BIAS_HEAD = """
X_long = torch.randn(8, 100, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
ratio_by_bias = {}
"""


def _step(gates: str, cell: str, hidden: str) -> str:
    """An lstm_step that splits z into gates by ``gates`` and updates the states by ``cell``."""
    return dedent(
        """
        def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
            z = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
        """
    ) + "\n".join("    " + line for line in dedent(gates + cell + hidden).strip("\n").splitlines())


VARIANTS = (
    # -- Task 1: lstm_step -------------------------------------------------------------------
    wrong(
        "lstm_step",
        "splits the gates in the order i, f, o, g instead of torch's i, f, g, o",
        _step(
            """
            z_i, z_f, z_o, z_g = z.chunk(4, dim=1)
            i, f, o, g = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.sigmoid(z_o), torch.tanh(z_g)
            """,
            """
            c_new = f * c + i * g
            """,
            """
            return o * torch.tanh(c_new), c_new
            """,
        ),
        feedback=("check the gate order i, f, g, o",),
    ),
    wrong(
        "lstm_step",
        "no forget gate: the cell state is carried over whole, c_new = c + i * g",
        _step(
            """
            z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
            i, o, g = torch.sigmoid(z_i), torch.sigmoid(z_o), torch.tanh(z_g)
            """,
            """
            c_new = c + i * g
            """,
            """
            return o * torch.tanh(c_new), c_new
            """,
        ),
        feedback=("as if there were no forget gate",),
    ),
    wrong(
        "lstm_step",
        "h_new = o * c_new, without the tanh of the cell state",
        _step(
            """
            z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
            i, f, o, g = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.sigmoid(z_o), torch.tanh(z_g)
            """,
            """
            c_new = f * c + i * g
            """,
            """
            return o * c_new, c_new
            """,
        ),
        feedback=("the tanh of c_new is missing",),
    ),
    wrong(
        "lstm_step",
        "adds only bias_ih and forgets bias_hh",
        _step(
            """
            z = z - bias_hh
            z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
            i, f, o, g = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.sigmoid(z_o), torch.tanh(z_g)
            """,
            """
            c_new = f * c + i * g
            """,
            """
            return o * torch.tanh(c_new), c_new
            """,
        ),
        feedback=("both biases are added",),
    ),
    right(
        "lstm_step",
        "one matrix product of [x, h] with the concatenated weights, split with torch.split",
        """
        def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
            hidden = h.shape[1]
            weight = torch.cat([weight_ih, weight_hh], dim=1)
            z = torch.nn.functional.linear(torch.cat([x, h], dim=1), weight, bias_ih + bias_hh)
            z_i, z_f, z_g, z_o = torch.split(z, hidden, dim=1)
            c_new = torch.sigmoid(z_f) * c + torch.sigmoid(z_i) * torch.tanh(z_g)
            h_new = torch.sigmoid(z_o) * torch.tanh(c_new)
            return (h_new, c_new)
        """,
    ),
    right(
        "lstm_step",
        "slices the weight rows gate by gate and applies F.linear four times",
        """
        import torch.nn.functional as F


        def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
            n = h.shape[-1]

            def gate(k):
                rows = slice(k * n, (k + 1) * n)
                return F.linear(x, weight_ih[rows], bias_ih[rows]) + F.linear(
                    h, weight_hh[rows], bias_hh[rows]
                )

            i, f, g, o = gate(0).sigmoid(), gate(1).sigmoid(), gate(2).tanh(), gate(3).sigmoid()
            c_new = torch.addcmul(f * c, i, g)
            return o * c_new.tanh(), c_new
        """,
    ),
    # -- Task 2: last_output_gradients -------------------------------------------------------
    wrong(
        "last_output_gradients",
        "sums the norms over the batch instead of averaging them",
        """
        def last_output_gradients(model, X, readout):
            X = X.detach().clone().requires_grad_(True)
            out, _ = model(X)
            (grad,) = torch.autograd.grad((out[:, -1, :] @ readout).sum(), X)
            return grad.norm(dim=2).sum(dim=0).detach().numpy()
        """,
        feedback=("averaged over the batch, not summed",),
    ),
    wrong(
        "last_output_gradients",
        "marks X itself as requires_grad instead of a copy",
        """
        def last_output_gradients(model, X, readout):
            X.requires_grad_(True)
            out, _ = model(X)
            (grad,) = torch.autograd.grad((out[:, -1, :] @ readout).sum(), X)
            return grad.norm(dim=2).mean(dim=0).detach().numpy()
        """,
        feedback=("last_output_gradients should not change X",),
    ),
    wrong(
        "last_output_gradients",
        "ignores the readout and differentiates the sum of the last hidden state",
        """
        def last_output_gradients(model, X, readout):
            X = X.detach().clone().requires_grad_(True)
            out, _ = model(X)
            (grad,) = torch.autograd.grad(out[:, -1, :].sum(), X)
            return grad.norm(dim=2).mean(dim=0).detach().numpy()
        """,
        feedback=("y_T = readout . h_T",),
    ),
    wrong(
        "last_output_gradients",
        "averages the gradients over the batch before taking the norm",
        """
        def last_output_gradients(model, X, readout):
            X = X.detach().clone().requires_grad_(True)
            out, _ = model(X)
            (grad,) = torch.autograd.grad((out[:, -1, :] @ readout).sum(), X)
            return grad.mean(dim=0).norm(dim=1).detach().numpy()
        """,
        feedback=("norm over the input features, mean over the batch",),
    ),
    right(
        "last_output_gradients",
        "reads h_T from the final state (a tuple for the LSTM) and uses grad_outputs",
        """
        def last_output_gradients(model, X, readout):
            X_leaf = X.detach().clone()
            X_leaf.requires_grad = True
            _, state = model(X_leaf)
            h_n = state[0] if isinstance(state, tuple) else state
            y = h_n[-1] @ readout
            grad = torch.autograd.grad(y, X_leaf, grad_outputs=torch.ones_like(y))[0]
            return torch.linalg.vector_norm(grad, dim=-1).mean(0).cpu().numpy()
        """,
    ),
    right(
        "last_output_gradients",
        "one backward pass per time step through a loop (slower, same numbers)",
        """
        def last_output_gradients(model, X, readout):
            X = X.detach().clone().requires_grad_(True)
            out, _ = model(X)
            y = (out[:, -1, :] @ readout).sum()
            (grad,) = torch.autograd.grad(y, X)
            return np.array([float(grad[:, t].norm(dim=1).mean()) for t in range(X.shape[1])])
        """,
    ),
    # -- Task 2: the ratios ------------------------------------------------------------------
    wrong(
        "ratios",
        "divides the last step's norm by the first step's (the inverse ratio)",
        _RATIOS_HEAD
        + dedent(
            """
            rnn_norms = last_output_gradients(
                build_rnn("rnn", 4, 32, weight_scale=0.8, seed=0).double(), X_seq, u_seq
            )
            lstm_norms = last_output_gradients(
                build_rnn("lstm", 4, 32, weight_scale=0.8, forget_bias=1.0, seed=0).double(),
                X_seq,
                u_seq,
            )
            rnn_ratio = float(rnn_norms[-1] / rnn_norms[0])
            lstm_ratio = float(lstm_norms[-1] / lstm_norms[0])
            """
        ),
        feedback=("each ratio is the first step",),
    ),
    wrong(
        "ratios",
        "leaves the LSTM's forget-gate bias at torch's default instead of 1",
        _RATIOS_HEAD
        + dedent(
            """
            rnn_norms = last_output_gradients(
                build_rnn("rnn", 4, 32, weight_scale=0.8, seed=0).double(), X_seq, u_seq
            )
            lstm_norms = last_output_gradients(
                build_rnn("lstm", 4, 32, weight_scale=0.8, seed=0).double(), X_seq, u_seq
            )
            rnn_ratio = float(rnn_norms[0] / rnn_norms[-1])
            lstm_ratio = float(lstm_norms[0] / lstm_norms[-1])
            """
        ),
        feedback=("the LSTM with forget bias 1",),
    ),
    right(
        "ratios",
        "a loop over the two networks, ratios taken with .item() on numpy scalars",
        _RATIOS_HEAD
        + dedent(
            """
            ratio = {}
            for cell, extra in (("rnn", {}), ("lstm", {"forget_bias": 1.0})):
                net = build_rnn(cell, 4, 32, weight_scale=0.8, seed=0, **extra).double()
                norms = last_output_gradients(net, X_seq, u_seq)
                ratio[cell] = (norms[0] / norms[-1]).item()
            rnn_ratio, lstm_ratio = ratio["rnn"], ratio["lstm"]
            """
        ),
    ),
    # -- Task 3: set_forget_bias_ ------------------------------------------------------------
    wrong(
        "set_forget_bias",
        "sets the quarter of bias_ih only, so bias_hh still adds its random values",
        """
        def set_forget_bias_(lstm, value):
            h = lstm.hidden_size
            with torch.no_grad():
                for layer in range(lstm.num_layers):
                    getattr(lstm, f"bias_ih_l{layer}")[h : 2 * h] = value
            return lstm
        """,
        feedback=("biases, which are added, give the forget gate a total bias",),
    ),
    wrong(
        "set_forget_bias",
        "sets the first layer only",
        """
        def set_forget_bias_(lstm, value):
            h = lstm.hidden_size
            with torch.no_grad():
                lstm.bias_ih_l0[h : 2 * h] = value
                lstm.bias_hh_l0[h : 2 * h] = 0.0
            return lstm
        """,
        feedback=("should be set too (every layer)",),
    ),
    wrong(
        "set_forget_bias",
        "replaces the bias parameters by new ones instead of changing them in place",
        """
        def set_forget_bias_(lstm, value):
            h = lstm.hidden_size
            for layer in range(lstm.num_layers):
                for kind, fill in (("ih", value), ("hh", 0.0)):
                    name = f"bias_{kind}_l{layer}"
                    new = getattr(lstm, name).detach().clone()
                    new[h : 2 * h] = fill
                    setattr(lstm, name, nn.Parameter(new))
            return lstm
        """,
        feedback=("not replace the parameters by new ones",),
    ),
    wrong(
        "set_forget_bias",
        "takes the first quarter (the input gate) for the forget gate",
        """
        def set_forget_bias_(lstm, value):
            h = lstm.hidden_size
            with torch.no_grad():
                for layer in range(lstm.num_layers):
                    getattr(lstm, f"bias_ih_l{layer}")[:h] = value
                    getattr(lstm, f"bias_hh_l{layer}")[:h] = 0.0
            return lstm
        """,
        feedback=("order i, f, g, o",),
    ),
    right(
        "set_forget_bias",
        "walks named_parameters and fills the slices through .data",
        """
        def set_forget_bias_(lstm, value):
            h = lstm.hidden_size
            for name, param in lstm.named_parameters():
                if name.startswith("bias_ih"):
                    param.data[h : 2 * h].fill_(value)
                elif name.startswith("bias_hh"):
                    param.data[h : 2 * h].zero_()
            return lstm
        """,
    ),
    # -- Task 3: ratio_by_bias ---------------------------------------------------------------
    wrong(
        "ratio_by_bias",
        "casts the inputs to float32 to match a float32 model, so the smallest ratios underflow",
        _BIAS_HEAD
        + dedent(
            """
            for bias in (-2.0, 0.0, 1.0, 3.0):
                lstm = set_forget_bias_(build_rnn("lstm", 4, 32, seed=0), bias)
                norms = last_output_gradients(lstm, X_long.float(), u_seq.float())
                ratio_by_bias[bias] = float(norms[0] / norms[-1])
            """
        ),
        feedback=("float32 underflow",),
    ),
    wrong(
        "ratio_by_bias",
        "measures on the 60-step inputs X_seq instead of the 100-step X_long",
        _BIAS_HEAD
        + dedent(
            """
            for bias in (-2.0, 0.0, 1.0, 3.0):
                lstm = set_forget_bias_(build_rnn("lstm", 4, 32, seed=0).double(), bias)
                norms = last_output_gradients(lstm, X_seq, u_seq)
                ratio_by_bias[bias] = float(norms[0] / norms[-1])
            """
        ),
        feedback=("on X_long and u_seq: 100 steps",),
    ),
    right(
        "ratio_by_bias",
        "sets the bias before converting the model to float64, in a dict comprehension",
        _BIAS_HEAD
        + dedent(
            """
            ratio_by_bias = {
                b: float(np.divide(*last_output_gradients(
                    set_forget_bias_(build_rnn("lstm", 4, 32, seed=0), b).double(), X_long, u_seq
                )[[0, -1]]))
                for b in (-2.0, 0.0, 1.0, 3.0)
            }
            """
        ),
    ),
)
