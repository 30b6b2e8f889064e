"""hw1 Parts 3-4 as students write them: sigmoid, relu, the two BCE losses, model1, network,
make_layer.  CORRECT_* lists must pass; WRONG_* dicts map an implementation to the ``prop``
its failure must name.  Notebook-style globals (w, b for model1, a params list, x) exist so
that code reading globals instead of its arguments can be written.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from support.hw1_gradient_descent.data import model1_parameters

w, b = model1_parameters()  # the notebook's given parameters of model1


# ----------------------------------------------------------------------------- sigmoid

def sigmoid_exp(x):
    return 1 / (1 + torch.exp(-x))


def sigmoid_math_e(x):
    """The seed's spelling: math.e ** (-x) works on tensors."""
    return 1 / (1 + math.e ** (-x))


def sigmoid_torch(x):
    return torch.sigmoid(x)


def sigmoid_tanh(x):
    return 0.5 * (1 + torch.tanh(x / 2))


def sigmoid_reciprocal(x):
    return torch.reciprocal(1.0 + (-x).exp())


CORRECT_SIGMOID = [sigmoid_exp, sigmoid_math_e, sigmoid_torch, sigmoid_tanh, sigmoid_reciprocal]


def sigmoid_ratio(x):
    """exp(x) / (1 + exp(x)): inf / inf = nan for large x."""
    return torch.exp(x) / (1 + torch.exp(x))


def sigmoid_sign(x):
    return 1 / (1 + torch.exp(x))


def sigmoid_numpy(x):
    return torch.tensor(1 / (1 + np.exp(-x.detach().cpu().numpy())), dtype=x.dtype)


def sigmoid_inplace(x):
    return x.neg_().exp_().add_(1).reciprocal_()


def sigmoid_float(x):
    return torch.sigmoid(x.float())


def sigmoid_math(x):
    return 1 / (1 + math.exp(-x))


WRONG_SIGMOID = {
    sigmoid_ratio: "finite for large inputs",
    sigmoid_sign: "values",
    sigmoid_numpy: "works with autograd",
    sigmoid_inplace: "input unchanged",
    sigmoid_float: "dtype",
    sigmoid_math: "your code raised an exception",
}


# ----------------------------------------------------------------------------- relu

def relu_max_tensor(x):
    """The seed's spelling."""
    return torch.max(x, torch.tensor(0))


def relu_clamp(x):
    return torch.clamp(x, min=0)


def relu_mask(x):
    return x * (x > 0)


def relu_where(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_functional(x):
    return F.relu(x)


def relu_maximum(x):
    return torch.maximum(x, torch.zeros_like(x))


CORRECT_RELU = [relu_max_tensor, relu_clamp, relu_mask, relu_where, relu_functional,
                relu_maximum]


def relu_reduce(x):
    return torch.max(x)


def relu_abs(x):
    return torch.abs(x)


def relu_inplace(x):
    x[x < 0] = 0
    return x


def relu_numpy(x):
    return np.maximum(x, 0)


def relu_clip01(x):
    return x.clamp(0, 1)


def relu_mask_only(x):
    return x > 0


WRONG_RELU = {
    relu_reduce: "output shape",
    relu_abs: "values",
    relu_inplace: "input unchanged",
    relu_numpy: "works with autograd",
    relu_clip01: "values",
    relu_mask_only: "dtype",
}


# ----------------------------------------------------------------------------- bce_loss

def bce_seed(y, y_hat):
    bce = -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat))
    return torch.mean(bce)


def bce_sum_div(y, y_hat):
    return -(y * y_hat.log() + (1 - y) * (1 - y_hat).log()).sum() / len(y)


def bce_functional(y, y_hat):
    return F.binary_cross_entropy(y_hat, y)


def bce_module(y, y_hat):
    return nn.BCELoss()(y_hat, y)


def bce_log1p(y, y_hat):
    return torch.mean(-y * torch.log(y_hat) - (1 - y) * torch.log1p(-y_hat))


CORRECT_BCE = [bce_seed, bce_sum_div, bce_functional, bce_module, bce_log1p]


def bce_sum(y, y_hat):
    return -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).sum()


def bce_no_minus(y, y_hat):
    return torch.mean(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat))


def bce_swapped(y, y_hat):
    return torch.mean(-(y_hat * torch.log(y) + (1 - y_hat) * torch.log(1 - y)))


def bce_log10(y, y_hat):
    return torch.mean(-(y * torch.log10(y_hat) + (1 - y) * torch.log10(1 - y_hat)))


def bce_item(y, y_hat):
    return torch.mean(-(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat))).item()


def bce_no_mean(y, y_hat):
    return -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat))


def bce_numpy(y, y_hat):
    yn, pn = y.cpu().numpy(), y_hat.detach().cpu().numpy()
    return torch.tensor(np.mean(-(yn * np.log(pn) + (1 - yn) * np.log(1 - pn))))


WRONG_BCE = {
    bce_sum: "value",
    bce_no_minus: "value",
    bce_swapped: "value",
    bce_log10: "value",
    bce_item: "returns a tensor",
    bce_no_mean: "scalar output",
    bce_numpy: "differentiable",
}


# ----------------------------------------------------------------------------- stable_bce_loss

def stable_clamp(y, y_hat):
    y_hat = torch.clamp(y_hat, 1e-6, 1 - 1e-6)
    return torch.mean(-(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)))


def stable_eps_inside(y, y_hat):
    eps = 1e-7
    return -(y * torch.log(y_hat + eps) + (1 - y) * torch.log(1 - y_hat + eps)).mean()


def stable_functional(y, y_hat):
    return F.binary_cross_entropy(y_hat, y)


def stable_finfo(y, y_hat):
    eps = torch.finfo(y_hat.dtype).eps
    p = y_hat.clamp(eps, 1 - eps)
    return torch.mean(-(y * p.log() + (1 - y) * (1 - p).log()))


def stable_where_clamped(y, y_hat):
    """torch.where over clamped predictions: both branches finite."""
    p = y_hat.clamp(1e-6, 1 - 1e-6)
    return torch.where(y == 1, -torch.log(p), -torch.log(1 - p)).mean()


def stable_scale(y, y_hat):
    """The seed's first suggestion: squeeze the predictions into [1e-6, 1 - 1e-6]."""
    p = y_hat * (1 - 2e-6) + 1e-6
    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))


CORRECT_STABLE = [stable_clamp, stable_eps_inside, stable_functional, stable_finfo,
                  stable_where_clamped, stable_scale, bce_module]


def stable_where(y, y_hat):
    """torch.where on the raw predictions: the unused branch's gradient is 0 * inf = nan."""
    return torch.where(y == 1, -torch.log(y_hat), -torch.log(1 - y_hat)).mean()


def stable_tiny_eps(y, y_hat):
    """1 - 1e-10 rounds to 1 in float32."""
    p = y_hat.clamp(1e-10, 1 - 1e-10)
    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))


def stable_big_eps(y, y_hat):
    p = y_hat.clamp(0.01, 0.99)
    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))


def stable_nan_to_zero(y, y_hat):
    """Replaces nan terms by 0 (perfect predictions fine) but keeps inf for wrong ones."""
    terms = -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat))
    return torch.where(torch.isnan(terms), torch.zeros_like(terms), terms).mean()


def stable_clamp_detached(y, y_hat):
    p = torch.tensor(y_hat.detach().clamp(1e-6, 1 - 1e-6))
    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))


WRONG_STABLE = {
    bce_seed: "finite for predictions of exactly 0 or 1",
    stable_where: "finite gradient",
    stable_tiny_eps: "finite for predictions of exactly 0 or 1",
    stable_big_eps: "value with predictions of exactly 0 or 1",
    stable_nan_to_zero: "finite gradient",
    stable_clamp_detached: "differentiable",
}


# ----------------------------------------------------------------------------- model1

def model1_at(x):
    y_tilde = x @ w + b
    return sigmoid_exp(y_tilde)


def model1_dot(x):
    return torch.sigmoid(torch.dot(x, w) + b)


def model1_sum(x):
    return 1 / (1 + torch.exp(-((x * w).sum() + b)))


def model1_matmul(x):
    return torch.sigmoid(torch.matmul(w, x) + b)


CORRECT_MODEL1 = [model1_at, model1_dot, model1_sum, model1_matmul]


def model1_no_sigmoid(x):
    return x @ w + b


def model1_no_bias(x):
    return torch.sigmoid(x @ w)


def model1_elementwise(x):
    return torch.sigmoid(x * w + b)


def model1_relu(x):
    return torch.relu(x @ w + b)


def model1_bias_after(x):
    return torch.sigmoid(x @ w) + b


WRONG_MODEL1 = {
    model1_no_sigmoid: "values",
    model1_no_bias: "values",
    model1_elementwise: "output shape",
    model1_relu: "values",
    model1_bias_after: "values",
}


# ----------------------------------------------------------------------------- network

def network_seed(x, params):
    z = x
    for w_, b_, h in params:
        z = h(z @ w_ + b_)
    return z.squeeze(dim=-1)


def network_index(x, params):
    z = x
    for layer in params:
        z = layer[2](torch.matmul(z, layer[0]) + layer[1])
    return z[:, 0]


def network_reshape(x, params):
    z = x
    for weight, bias, activation in params:
        z = activation(torch.addmm(bias, z, weight))
    return z.reshape(-1)


def network_recursive(x, params):
    if not params:
        return x.squeeze(-1)
    (w_, b_, h), rest = params[0], params[1:]
    return network_recursive(h(x @ w_ + b_), rest)


def network_view(x, params):
    out = x
    for i in range(len(params)):
        out = params[i][2](F.linear(out, params[i][0].T, params[i][1]))
    return out.view(len(x))


CORRECT_NETWORK = [network_seed, network_index, network_reshape, network_recursive,
                   network_view]

params = [(torch.randn(64, 32), torch.zeros(32), torch.relu),
          (torch.randn(32, 1), torch.zeros(1), torch.sigmoid)]  # notebook-style global


def network_squeeze_all(x, params):
    z = x
    for w_, b_, h in params:
        z = h(z @ w_ + b_)
    return z.squeeze()


def network_no_squeeze(x, params):
    z = x
    for w_, b_, h in params:
        z = h(z @ w_ + b_)
    return z


def network_no_bias(x, params):
    z = x
    for w_, b_, h in params:
        z = h(z @ w_)
    return z.squeeze(-1)


def network_activation_first(x, params):
    z = x
    for w_, b_, h in params:
        z = h(z) @ w_ + b_
    return z.squeeze(-1)


def network_transposed(x, params):
    z = x
    for w_, b_, h in params:
        z = h((w_.T @ z.T).T + b_)
    return z.squeeze(-1)


def network_fixed_activations(x, params):
    z = x
    for i, (w_, b_, _) in enumerate(params):
        z = z @ w_ + b_
        z = torch.sigmoid(z) if i == len(params) - 1 else torch.relu(z)
    return z.squeeze(-1)


def network_uses_x(x, params):
    z = x
    for w_, b_, h in params:
        z = h(x @ w_ + b_)
    return z.squeeze(-1)


def network_global_params(x, params_):
    z = x
    for w_, b_, h in params:
        z = h(z @ w_ + b_)
    return z.squeeze(-1)


def network_numpy(x, params):
    z = x.detach().cpu().numpy()
    for w_, b_, h in params:
        z = h(torch.tensor(z @ w_.detach().cpu().numpy() + b_.detach().cpu().numpy())).numpy()
    return torch.tensor(z).squeeze(-1)


WRONG_NETWORK = {
    network_squeeze_all: "output shape with one sample",
    network_no_squeeze: "output shape",
    network_no_bias: "values",
    network_activation_first: "values",
    network_fixed_activations: "values",
    network_uses_x: "your code raised an exception",
    network_global_params: "your code raised an exception",
    network_numpy: "gradient reaches the weights",
}


# ----------------------------------------------------------------------------- make_layer

def layer_randn(d0, d1, activation):
    w_ = torch.randn(d0, d1) * math.sqrt(2 / d0)
    return w_, torch.zeros(d1), activation


def layer_normal(d0, d1, activation):
    w_ = torch.normal(0.0, math.sqrt(2.0 / d0), size=(d0, d1))
    return (w_, torch.zeros(d1), activation)


def layer_init(d0, d1, activation):
    w_ = torch.empty(d0, d1)
    nn.init.normal_(w_, mean=0.0, std=(2.0 / d0) ** 0.5)
    b_ = torch.empty(d1)
    nn.init.zeros_(b_)
    return [w_, b_, activation]


def layer_kaiming(d0, d1, activation):
    """torch's kaiming_normal_ on the (d1, d0) layout, transposed back and copied."""
    w_ = torch.empty(d1, d0)
    nn.init.kaiming_normal_(w_, nonlinearity="relu")
    return w_.T.contiguous(), torch.zeros(d1), activation


def layer_requires_grad(d0, d1, activation):
    w_ = (torch.randn(d0, d1) * np.sqrt(2 / d0)).requires_grad_()
    b_ = torch.zeros(d1, requires_grad=True)
    return w_, b_, activation


CORRECT_LAYER = [layer_randn, layer_normal, layer_init, layer_kaiming, layer_requires_grad]


def layer_seed_answer(d0, d1, activation):
    """The seed's answer: epsilon = sqrt(2/d1), then epsilon^2 used as the std, float64."""
    epsilon = torch.sqrt(torch.tensor(2 / d1))
    w_ = torch.normal(torch.zeros(d0, d1), math.pow(epsilon, 2))
    return w_, torch.zeros(d1), activation


def layer_fan_out(d0, d1, activation):
    return torch.randn(d0, d1) * math.sqrt(2 / d1), torch.zeros(d1), activation


def layer_no_gain(d0, d1, activation):
    return torch.randn(d0, d1) / math.sqrt(d0), torch.zeros(d1), activation


def layer_uniform(d0, d1, activation):
    bound = math.sqrt(3 * 2 / d0)
    return (torch.rand(d0, d1) * 2 - 1) * bound, torch.zeros(d1), activation


def layer_double(d0, d1, activation):
    return ((torch.randn(d0, d1) * math.sqrt(2 / d0)).double(), torch.zeros(d1).double(),
            activation)


def layer_transposed(d0, d1, activation):
    return torch.randn(d1, d0) * math.sqrt(2 / d0), torch.zeros(d1), activation


def layer_random_bias(d0, d1, activation):
    return torch.randn(d0, d1) * math.sqrt(2 / d0), torch.randn(d1) * 0.01, activation


def layer_non_leaf(d0, d1, activation):
    return (torch.randn(d0, d1, requires_grad=True) * math.sqrt(2 / d0), torch.zeros(d1),
            activation)


def layer_seeded(d0, d1, activation):
    torch.manual_seed(0)
    return torch.randn(d0, d1) * math.sqrt(2 / d0), torch.zeros(d1), activation


def layer_two(d0, d1, activation):
    return torch.randn(d0, d1) * math.sqrt(2 / d0), torch.zeros(d1)


def layer_fixed_relu(d0, d1, activation):
    return torch.randn(d0, d1) * math.sqrt(2 / d0), torch.zeros(d1), torch.relu


def layer_bias_row(d0, d1, activation):
    return torch.randn(d0, d1) * math.sqrt(2 / d0), torch.zeros(1, d1), activation


def layer_glorot(d0, d1, activation):
    return torch.randn(d0, d1) * math.sqrt(2 / (d0 + d1)), torch.zeros(d1), activation


WRONG_LAYER = {
    layer_seed_answer: "weight std",
    layer_fan_out: "weight std",
    layer_no_gain: "weight std",
    layer_uniform: "weight distribution",
    layer_double: "dtype",
    layer_transposed: "weights shape",
    layer_random_bias: "bias zero",
    layer_non_leaf: "weights are leaf tensors",
    layer_seeded: "layers identical",
    layer_two: "returns (w, b, activation)",
    layer_fixed_relu: "activation returned",
    layer_bias_row: "bias shape",
    layer_glorot: "weight std",
}
