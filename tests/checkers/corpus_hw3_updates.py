"""Update rules for the hw3 checks: gradient descent, momentum, RMSprop, written the ways
students write them (correct ones first, then the usual mistakes)."""

import torch


def _zero(params):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()


# ----------------------------------------------------------------------------- gradient descent

def gd_data(loss, params, lr):
    _zero(params)
    loss.backward()
    for p in params:
        p.data -= lr * p.grad.data


def gd_autograd(loss, params, lr):
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p -= lr * g


def gd_zero_after(loss, params, lr):
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(lr * p.grad)
            p.grad = None


def gd_set_none(loss, params, lr):
    for p in params:
        p.grad = None
    loss.backward()
    for p in params:
        p.data = p.data - lr * p.grad


GD_CORRECT = [gd_data, gd_autograd, gd_zero_after, gd_set_none]


def gd_no_zero(loss, params, lr):
    loss.backward()
    for p in params:
        p.data -= lr * p.grad


def gd_ascent(loss, params, lr):
    _zero(params)
    loss.backward()
    for p in params:
        p.data += lr * p.grad


def gd_rebinds(loss, params, lr):
    _zero(params)
    loss.backward()
    for p in params:
        p = p - lr * p.grad  # noqa: PLW2901 - the mistake


def gd_replaces_list(loss, params, lr):
    _zero(params)
    loss.backward()
    for i, p in enumerate(params):
        params[i] = (p - lr * p.grad).detach().requires_grad_()


def gd_returns_new(loss, params, lr):
    grads = torch.autograd.grad(loss, params)
    return [p - lr * g for p, g in zip(params, grads)]


def gd_fixed_rate(loss, params, lr):
    _zero(params)
    loss.backward()
    for p in params:
        p.data -= 0.01 * p.grad


def gd_freezes(loss, params, lr):
    _zero(params)
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
        p.requires_grad_(False)


GD_WRONG = [
    (gd_no_zero, "gradients zeroed between calls"),
    (gd_ascent, "update direction (sign)"),
    (gd_rebinds, "parameters updated in place"),
    (gd_replaces_list, "parameters updated in place"),
    (gd_returns_new, "parameters updated in place"),
    (gd_fixed_rate, "learning rate"),
    (gd_freezes, "parameters still trainable"),
]


# ----------------------------------------------------------------------------- momentum

def mom_data(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for par, vel in zip(params, grad_vel):
        vel.data = -lr * par.grad.data + beta * vel.data
        par.data += vel.data


def mom_inplace(loss, params, grad_vel, lr=1e-3, beta=0.8):
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p, v in zip(params, grad_vel):
            v.mul_(beta).add_(p.grad, alpha=-lr)
            p.add_(v)


def mom_list_replace(loss, params, grad_vel, lr=1e-3, beta=0.8):
    grads = torch.autograd.grad(loss, params)
    for i, (p, g) in enumerate(zip(params, grads)):
        grad_vel[i] = beta * grad_vel[i] - lr * g
        p.data.add_(grad_vel[i])


def mom_copy(loss, params, grad_vel, lr=1e-3, beta=0.8):
    loss.backward()
    with torch.no_grad():
        for p, v in zip(params, grad_vel):
            v.copy_(beta * v - lr * p.grad)
            p += v
            p.grad.zero_()


MOMENTUM_CORRECT = [mom_data, mom_inplace, mom_list_replace, mom_copy]


def mom_ascent(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        v.data = lr * p.grad + beta * v.data
        p.data += v.data


def mom_subtracts_velocity(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        v.data = -lr * p.grad + beta * v.data
        p.data -= v.data


def mom_local_velocity(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        v = -lr * p.grad + beta * v  # noqa: PLW2901 - the mistake
        p.data += v


def mom_returns_velocity(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    new = []
    for p, v in zip(params, grad_vel):
        new.append(-lr * p.grad + beta * v)
        p.data += new[-1]
    return new


def mom_torch_convention(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        v.data = beta * v.data + p.grad
        p.data -= lr * v.data


def mom_no_zero(loss, params, grad_vel, lr=1e-3, beta=0.8):
    loss.backward()
    for p, v in zip(params, grad_vel):
        v.data = -lr * p.grad + beta * v.data
        p.data += v.data


def mom_old_velocity(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        p.data += v.data
        v.data = -lr * p.grad + beta * v.data


def mom_hard_coded(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        v.data = -1e-3 * p.grad + 0.8 * v.data
        p.data += v.data


def mom_dampened(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        v.data = -(1 - beta) * lr * p.grad + beta * v.data
        p.data += v.data


def mom_wrong_default(loss, params, grad_vel, lr=1e-3, beta=0.9):
    _zero(params)
    loss.backward()
    for p, v in zip(params, grad_vel):
        v.data = -lr * p.grad + beta * v.data
        p.data += v.data


def mom_rebinds_params(loss, params, grad_vel, lr=1e-3, beta=0.8):
    _zero(params)
    loss.backward()
    for i, (p, v) in enumerate(zip(params, grad_vel)):
        v.data = -lr * p.grad + beta * v.data
        params[i] = (p + v).detach().requires_grad_()


MOMENTUM_WRONG = [
    (mom_ascent, "update direction (sign)"),
    (mom_subtracts_velocity, "update direction (sign)"),
    (mom_local_velocity, "velocity stored in grad_vel"),
    (mom_returns_velocity, "velocity stored in grad_vel"),
    (mom_torch_convention, "velocity convention"),
    (mom_no_zero, "gradients zeroed between calls"),
    (mom_old_velocity, "parameters use the new velocity"),
    (mom_hard_coded, "hyper-parameter arguments"),
    (mom_dampened, "velocity update"),
    (mom_wrong_default, "default hyper-parameters"),
    (mom_rebinds_params, "parameters updated in place"),
]


# ----------------------------------------------------------------------------- RMSprop

def rms_data(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for par, gsq in zip(params, grad_sq):
        gsq.data = alpha * gsq.data + (1 - alpha) * par.grad.data ** 2
        par.data -= lr * par.grad.data / torch.sqrt(gsq.data + epsilon)


def rms_inplace(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p, s in zip(params, grad_sq):
            s.mul_(alpha).addcmul_(p.grad, p.grad, value=1 - alpha)
            p.addcdiv_(p.grad, (s + epsilon).sqrt(), value=-lr)


def rms_list_replace(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    grads = torch.autograd.grad(loss, params)
    for i, (p, g) in enumerate(zip(params, grads)):
        grad_sq[i] = alpha * grad_sq[i] + (1 - alpha) * g * g
        p.data -= lr * g * torch.rsqrt(grad_sq[i] + epsilon)


def rms_pow(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    loss.backward()
    with torch.no_grad():
        for p, s in zip(params, grad_sq):
            s[...] = alpha * s + (1 - alpha) * p.grad.pow(2)
            p -= lr * p.grad / (s + epsilon) ** 0.5
            p.grad.zero_()


RMSPROP_CORRECT = [rms_data, rms_inplace, rms_list_replace, rms_pow]


def rms_eps_outside(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = alpha * s.data + (1 - alpha) * p.grad ** 2
        p.data -= lr * p.grad / (torch.sqrt(s.data) + epsilon)


def rms_alpha_swapped(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = (1 - alpha) * s.data + alpha * p.grad ** 2
        p.data -= lr * p.grad / torch.sqrt(s.data + epsilon)


def rms_old_average(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        p.data -= lr * p.grad / torch.sqrt(s.data + epsilon)
        s.data = alpha * s.data + (1 - alpha) * p.grad ** 2


def rms_no_sqrt(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = alpha * s.data + (1 - alpha) * p.grad ** 2
        p.data -= lr * p.grad / (s.data + epsilon)


def rms_ascent(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = alpha * s.data + (1 - alpha) * p.grad ** 2
        p.data += lr * p.grad / torch.sqrt(s.data + epsilon)


def rms_no_zero(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = alpha * s.data + (1 - alpha) * p.grad ** 2
        p.data -= lr * p.grad / torch.sqrt(s.data + epsilon)


def rms_local_average(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s = alpha * s + (1 - alpha) * p.grad ** 2  # noqa: PLW2901 - the mistake
        p.data -= lr * p.grad / torch.sqrt(s + epsilon)


def rms_abs_gradient(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = alpha * s.data + (1 - alpha) * p.grad.abs()
        p.data -= lr * p.grad / torch.sqrt(s.data + epsilon)


def rms_wrong_default(loss, params, grad_sq, lr=1e-3, alpha=0.9, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = alpha * s.data + (1 - alpha) * p.grad ** 2
        p.data -= lr * p.grad / torch.sqrt(s.data + epsilon)


def rms_ignores_epsilon(loss, params, grad_sq, lr=1e-3, alpha=0.8, epsilon=1e-8):
    _zero(params)
    loss.backward()
    for p, s in zip(params, grad_sq):
        s.data = alpha * s.data + (1 - alpha) * p.grad ** 2
        p.data -= lr * p.grad / torch.sqrt(s.data + 1e-8)


RMSPROP_WRONG = [
    (rms_eps_outside, "epsilon inside the square root"),
    (rms_alpha_swapped, "moving-average weights"),
    (rms_old_average, "parameters use the new average"),
    (rms_no_sqrt, "square root"),
    (rms_ascent, "update direction (sign)"),
    (rms_no_zero, "gradients zeroed between calls"),
    (rms_local_average, "average stored in grad_sq"),
    (rms_abs_gradient, "average update"),
    (rms_wrong_default, "default hyper-parameters"),
    (rms_ignores_epsilon, "parameter update"),
]

# Partial credit (test_momentum_update and test_rmsprop_update declare update rule 0.75 and
# default hyper-parameters 0.25; test_gradient_update declares none): a wrong update ->
# (the share of the points it earns, the properties that hold), on every seed.
MOMENTUM_PARTIAL = {
    mom_wrong_default: (0.75, ("update rule",)),
    mom_hard_coded: (0.25, ("default hyper-parameters",)),
}
RMSPROP_PARTIAL = {
    rms_wrong_default: (0.75, ("update rule",)),
    rms_eps_outside: (0.25, ("default hyper-parameters",)),
}
