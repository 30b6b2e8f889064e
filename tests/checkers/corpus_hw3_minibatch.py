"""sample_minibatch written the ways students write it: correct ones, then the usual mistakes."""

import random

import numpy as np
import torch


def sample_randint(input_data, target_data, num_points=100):
    idx = torch.randint(len(input_data), (num_points,))
    return input_data[idx], target_data[idx]


def sample_np_choice(input_data, target_data, num_points=100):
    batch_indices = np.random.choice(len(input_data), num_points)
    return input_data[batch_indices], target_data[batch_indices]


def sample_multinomial(input_data, target_data, num_points=100):
    weights = torch.ones(input_data.shape[0], device=input_data.device)
    idx = torch.multinomial(weights, num_points, replacement=True)
    return input_data[idx], target_data[idx]


def sample_random_choices(input_data, target_data, num_points=100):
    idx = random.choices(range(len(target_data)), k=num_points)
    return input_data[idx], target_data[idx]


def sample_randint_device(input_data, target_data, num_points=100):
    idx = torch.randint(0, input_data.size(0), size=(num_points,), device=input_data.device)
    return input_data.index_select(0, idx), target_data.index_select(0, idx)


CORRECT = [sample_randint, sample_np_choice, sample_multinomial, sample_random_choices,
           sample_randint_device]


def sample_randperm(input_data, target_data, num_points=100):
    idx = torch.randperm(len(input_data))[:num_points]
    return input_data[idx], target_data[idx]


def sample_choice_no_replace(input_data, target_data, num_points=100):
    idx = np.random.choice(len(input_data), num_points, replace=False)
    return input_data[idx], target_data[idx]


def sample_window(input_data, target_data, num_points=100):
    start = np.random.randint(0, max(1, len(input_data) - num_points + 1))
    return input_data[start:start + num_points], target_data[start:start + num_points]


def sample_off_by_one(input_data, target_data, num_points=100):
    idx = torch.randint(0, len(input_data) - 1, (num_points,))
    return input_data[idx], target_data[idx]


def sample_range_num_points(input_data, target_data, num_points=100):
    idx = torch.randint(0, num_points, (num_points,)) % len(input_data)
    return input_data[idx], target_data[idx]


def sample_unpaired(input_data, target_data, num_points=100):
    return (input_data[torch.randint(len(input_data), (num_points,))],
            target_data[torch.randint(len(target_data), (num_points,))])


def sample_seeded(input_data, target_data, num_points=100):
    generator = torch.Generator().manual_seed(0)
    idx = torch.randint(len(input_data), (num_points,), generator=generator)
    return input_data[idx], target_data[idx]


def sample_flattened(input_data, target_data, num_points=100):
    idx = torch.randint(len(input_data), (num_points,))
    return input_data.reshape(len(input_data), -1)[idx], target_data[idx]


def sample_swapped(input_data, target_data, num_points=100):
    idx = torch.randint(len(input_data), (num_points,))
    return target_data[idx], input_data[idx]


def sample_numpy(input_data, target_data, num_points=100):
    idx = np.random.choice(len(input_data), num_points)
    return input_data.cpu().numpy()[idx], target_data.cpu().numpy()[idx]


def sample_shuffles_data(input_data, target_data, num_points=100):
    perm = torch.randperm(len(input_data))
    input_data[:] = input_data[perm]
    target_data[:] = target_data[perm]
    idx = torch.randint(len(input_data), (num_points,))
    return input_data[idx], target_data[idx]


def sample_wrong_default(input_data, target_data, num_points=64):
    idx = torch.randint(len(input_data), (num_points,))
    return input_data[idx], target_data[idx]


def sample_float_targets(input_data, target_data, num_points=100):
    idx = torch.randint(len(input_data), (num_points,))
    return input_data[idx], target_data[idx].float()


def sample_first_half_heavy(input_data, target_data, num_points=100):
    n = len(input_data)
    weights = torch.ones(n)
    weights[: n // 2] = 2.0
    idx = torch.multinomial(weights, num_points, replacement=True)
    return input_data[idx], target_data[idx]


WRONG = [
    (sample_randperm, "sampling with replacement"),
    (sample_choice_no_replace, "sampling with replacement"),
    (sample_window, "sampling with replacement"),
    (sample_off_by_one, "every row equally likely"),
    (sample_range_num_points, "every row equally likely"),
    (sample_unpaired, "inputs and targets stay paired"),
    (sample_seeded, "a new batch each call"),
    (sample_flattened, "batch shape"),
    (sample_swapped, "batch shape"),
    (sample_numpy, "returns two tensors"),
    (sample_shuffles_data, "input data unchanged"),
    (sample_wrong_default, "default num_points"),
    (sample_float_targets, "dtype and device kept"),
    (sample_first_half_heavy, "every row equally likely"),
]
