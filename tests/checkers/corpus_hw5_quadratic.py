"""hw5 quadratic surfaces as students write them: Function, descent paths, the stable rate.

Each WRONG_* list holds (implementation, the prop its CheckFailure must name).
"""

import numpy as np
import torch

# ---------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------


class FunctionSeed:
    def __init__(self, lambda_1, lambda_2):
        self.lambda_1, self.lambda_2 = lambda_1, lambda_2

    def __call__(self, x):
        return self.lambda_1 * x[:, 0] ** 2 / 2 + self.lambda_2 * x[:, 1] ** 2 / 2

    def grad(self, x):
        return torch.stack([self.lambda_1 * x[:, 0], self.lambda_2 * x[:, 1]]).T


class FunctionVector:
    def __init__(self, lambda_1, lambda_2):
        self.lambda_1, self.lambda_2 = lambda_1, lambda_2

    def _lam(self, x):
        return torch.tensor([self.lambda_1, self.lambda_2], dtype=x.dtype, device=x.device)

    def __call__(self, x):
        return 0.5 * (self._lam(x) * x ** 2).sum(dim=1)

    def grad(self, x):
        return self._lam(x) * x


class FunctionMatrix:
    def __init__(self, lambda_1, lambda_2):
        self.lambda_1, self.lambda_2 = lambda_1, lambda_2

    def hessian(self, x):
        return torch.diag(torch.tensor([self.lambda_1, self.lambda_2], dtype=x.dtype,
                                       device=x.device))

    def __call__(self, x):
        return 0.5 * torch.einsum("ni,ij,nj->n", x, self.hessian(x), x)

    def grad(self, x):
        return x @ self.hessian(x)


class FunctionAutograd(FunctionSeed):
    def grad(self, x):
        x = x.detach().clone().requires_grad_(True)
        self(x).sum().backward()
        return x.grad


FUNCTION_CORRECT = [FunctionSeed, FunctionVector, FunctionMatrix, FunctionAutograd]


class FunctionNoHalf(FunctionSeed):
    def __call__(self, x):
        return self.lambda_1 * x[:, 0] ** 2 + self.lambda_2 * x[:, 1] ** 2


class FunctionSwapped(FunctionSeed):
    def __call__(self, x):
        return self.lambda_2 * x[:, 0] ** 2 / 2 + self.lambda_1 * x[:, 1] ** 2 / 2


class FunctionGradRows(FunctionSeed):
    def grad(self, x):
        return torch.stack([self.lambda_1 * x[:, 0], self.lambda_2 * x[:, 1]])


class FunctionKeepdim(FunctionVector):
    def __call__(self, x):
        return 0.5 * (self._lam(x) * x ** 2).sum(dim=1, keepdim=True)


class FunctionInPlaceGrad(FunctionSeed):
    def grad(self, x):
        x[:, 0] *= self.lambda_1
        x[:, 1] *= self.lambda_2
        return x.clone()


class FunctionHiddenNames(FunctionSeed):
    def __init__(self, lambda_1, lambda_2):
        self.l1, self.l2 = lambda_1, lambda_2
        self.lambda_1 = self.lambda_2 = None

    def __call__(self, x):
        return self.l1 * x[:, 0] ** 2 / 2 + self.l2 * x[:, 1] ** 2 / 2

    def grad(self, x):
        return torch.stack([self.l1 * x[:, 0], self.l2 * x[:, 1]], dim=1)


FUNCTION_WRONG = [
    (FunctionNoHalf, "values"),
    (FunctionSwapped, "values"),
    (FunctionGradRows, "gradient shape"),
    (FunctionKeepdim, "value shape"),
    (FunctionInPlaceGrad, "input unchanged"),
    (FunctionHiddenNames, "attributes lambda_1 and lambda_2"),
]

# ---------------------------------------------------------------------------------------
# gradient descent
# ---------------------------------------------------------------------------------------


def gd_clone(x, func_obj, max_steps, lr):
    x = x.clone()
    path = [x.clone()]
    for _ in range(max_steps):
        x = x - lr * func_obj.grad(x)
        path.append(x.clone())
    return torch.cat(path)


def gd_detached_copy(x, func_obj, max_steps, lr):
    current = x.detach().clone()
    path = [current.clone()]
    for _ in range(max_steps):
        current -= lr * func_obj.grad(current)
        path.append(current.clone())
    return torch.cat(path, dim=0)


def gd_autograd(x, func_obj, max_steps, lr):
    points = [x.detach().clone()]
    for _ in range(max_steps):
        point = points[-1].clone().requires_grad_(True)
        func_obj(point).sum().backward()
        points.append((point - lr * point.grad).detach())
    return torch.stack(points).reshape(-1, 2)


def gd_numpy_list(x, func_obj, max_steps, lr):
    path = [x[0].tolist()]
    current = x.clone()
    for _ in range(max_steps):
        current = current - lr * func_obj.grad(current)
        path.append(current[0].tolist())
    return torch.tensor(path, dtype=x.dtype, device=x.device)


GD_CORRECT = [gd_clone, gd_detached_copy, gd_autograd, gd_numpy_list]


def gd_seed_in_place(x, func_obj, max_steps, lr):   # the seed's version
    path = [x.clone()]
    for _ in range(max_steps):
        x -= lr * func_obj.grad(x)
        path.append(x.clone())
    return torch.cat(path)


def gd_without_start(x, func_obj, max_steps, lr):
    x = x.clone()
    path = []
    for _ in range(max_steps):
        x = x - lr * func_obj.grad(x)
        path.append(x.clone())
    return torch.cat(path)


def gd_uphill(x, func_obj, max_steps, lr):
    x = x.clone()
    path = [x.clone()]
    for _ in range(max_steps):
        x = x + lr * func_obj.grad(x)
        path.append(x.clone())
    return torch.cat(path)


def gd_no_clone(x, func_obj, max_steps, lr):
    x = x.clone()
    path = [x]
    for _ in range(max_steps):
        x -= lr * func_obj.grad(x)
        path.append(x)
    return torch.cat(path)


def gd_stacked(x, func_obj, max_steps, lr):
    x = x.clone()
    path = [x.clone()]
    for _ in range(max_steps):
        x = x - lr * func_obj.grad(x)
        path.append(x.clone())
    return torch.stack(path)


GD_WRONG = [
    (gd_seed_in_place, "start point not modified"),
    (gd_without_start, "path shape"),
    (gd_uphill, "steps go downhill"),
    (gd_no_clone, "path rows are copies"),
    (gd_stacked, "path shape"),
]

# ---------------------------------------------------------------------------------------
# momentum
# ---------------------------------------------------------------------------------------


def momentum_seed_fixed(x, func_obj, max_steps, lr, momentum):
    x = x.clone()
    path = [x.clone()]
    velocity = torch.zeros_like(x)
    for _ in range(max_steps):
        velocity = momentum * velocity - lr * func_obj.grad(x)
        x = x + velocity
        path.append(x.clone())
    return torch.cat(path)


def momentum_torch_form(x, func_obj, max_steps, lr, momentum):
    """PyTorch's form, b = m b + g, x = x - lr b: the same path for a constant lr."""
    x = x.detach().clone()
    buffer = torch.zeros_like(x)
    path = [x]
    for _ in range(max_steps):
        buffer = momentum * buffer + func_obj.grad(x)
        x = x - lr * buffer
        path.append(x)
    return torch.cat(path)


def momentum_numpy(x, func_obj, max_steps, lr, momentum):
    current = x.clone()
    velocity = np.zeros(2)
    path = [current[0].cpu().numpy().astype(float)]
    for _ in range(max_steps):
        grad = func_obj.grad(current)[0].cpu().numpy()
        velocity = momentum * velocity - lr * grad
        path.append(path[-1] + velocity)
        current = torch.tensor(path[-1][None, :], dtype=x.dtype, device=x.device)
    return torch.tensor(np.array(path), dtype=x.dtype, device=x.device)


MOMENTUM_CORRECT = [momentum_seed_fixed, momentum_torch_form, momentum_numpy]


def momentum_seed_in_place(x, func_obj, max_steps, lr, momentum):   # the seed's version
    path = [x.clone()]
    velocity = torch.zeros(x.shape)
    for _ in range(max_steps):
        velocity = momentum * velocity - lr * func_obj.grad(x)
        x += velocity
        path.append(x.clone())
    return torch.cat(path)


def momentum_sign_error(x, func_obj, max_steps, lr, momentum):
    x = x.clone()
    path = [x.clone()]
    velocity = torch.zeros_like(x)
    for _ in range(max_steps):
        velocity = momentum * velocity + lr * func_obj.grad(x)
        x = x + velocity
        path.append(x.clone())
    return torch.cat(path)


def momentum_ignored(x, func_obj, max_steps, lr, momentum):
    x = x.clone()
    path = [x.clone()]
    for _ in range(max_steps):
        x = x - lr * func_obj.grad(x)
        path.append(x.clone())
    return torch.cat(path)


def momentum_stale_velocity(x, func_obj, max_steps, lr, momentum):
    x = x.clone()
    path = [x.clone()]
    velocity = torch.zeros_like(x)
    for _ in range(max_steps):
        x, velocity = x + velocity, momentum * velocity - lr * func_obj.grad(x)
        path.append(x.clone())
    return torch.cat(path)


def momentum_without_start(x, func_obj, max_steps, lr, momentum):
    return momentum_seed_fixed(x, func_obj, max_steps, lr, momentum)[1:]


MOMENTUM_WRONG = [
    (momentum_seed_in_place, "start point not modified"),
    (momentum_sign_error, "steps go downhill"),
    (momentum_ignored, "momentum used"),
    (momentum_stale_velocity, "move by the new velocity"),
    (momentum_without_start, "path shape"),
]

# ---------------------------------------------------------------------------------------
# largest stable learning rate
# ---------------------------------------------------------------------------------------


def lr_max(func_obj):
    return 2 / max(func_obj.lambda_1, func_obj.lambda_2)


def lr_tensor(func_obj):
    return 2.0 / torch.tensor([func_obj.lambda_1, func_obj.lambda_2]).max()


def lr_min_of_bounds(func_obj):
    return min(2 / func_obj.lambda_1, 2 / func_obj.lambda_2)


LR_CORRECT = [lr_max, lr_tensor, lr_min_of_bounds]


def lr_first_lambda(func_obj):
    return 2 / func_obj.lambda_1


def lr_seed_typo(func_obj):
    small, big = sorted([func_obj.lambda_1, func_obj.lambda_2])
    return 2 * small / big


def lr_one_over(func_obj):
    return 1 / max(func_obj.lambda_1, func_obj.lambda_2)


LR_WRONG = [
    (lr_first_lambda, "uses the largest eigenvalue"),
    (lr_seed_typo, "bound is 2 / lambda_max"),
    (lr_one_over, "bound is 2 / lambda_max"),
]
