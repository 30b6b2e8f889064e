"""hw5 models, training loops and evaluation as students write them.

Each WRONG_* list holds (implementation, the prop its CheckFailure must name).
"""

import copy
from collections import OrderedDict

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

# ---------------------------------------------------------------------------------------
# build_model
# ---------------------------------------------------------------------------------------


def build_list(input_size, hidden_size, dropout=0.0):
    layers = []
    for n_in in (input_size, hidden_size):
        layers += [nn.Linear(n_in, hidden_size), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(hidden_size, 1), nn.Sigmoid())


def build_explicit(input_size, hidden_size, dropout=0.0):
    if dropout:
        return nn.Sequential(
            nn.Linear(in_features=input_size, out_features=hidden_size), nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(in_features=hidden_size, out_features=hidden_size), nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(in_features=hidden_size, out_features=1), nn.Sigmoid())
    return nn.Sequential(
        nn.Linear(in_features=input_size, out_features=hidden_size), nn.ReLU(),
        nn.Linear(in_features=hidden_size, out_features=hidden_size), nn.ReLU(),
        nn.Linear(in_features=hidden_size, out_features=1), nn.Sigmoid())


def build_named(input_size, hidden_size, dropout=0.0):
    """Named layers, and Dropout(0) kept when there is no dropout (harmless)."""
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(input_size, hidden_size)), ("act1", nn.ReLU()),
        ("drop1", nn.Dropout(dropout)),
        ("fc2", nn.Linear(hidden_size, hidden_size)), ("act2", nn.ReLU()),
        ("drop2", nn.Dropout(p=dropout)),
        ("out", nn.Linear(hidden_size, 1)), ("prob", nn.Sigmoid()),
    ]))


def build_dropout_before_relu(input_size, hidden_size, dropout=0.0):
    """Dropout between Linear and ReLU: the same function (ReLU and dropout commute)."""
    def block(n_in):
        return [nn.Linear(n_in, hidden_size)] + ([nn.Dropout(dropout)] if dropout else []) + \
            [nn.ReLU()]
    return nn.Sequential(*block(input_size), *block(hidden_size), nn.Linear(hidden_size, 1),
                         nn.Sigmoid())


BUILD_CORRECT = [build_list, build_explicit, build_named, build_dropout_before_relu]


def build_no_sigmoid(input_size, hidden_size, dropout=0.0):
    return nn.Sequential(*list(build_list(input_size, hidden_size, dropout))[:-1])


def build_dropout_on_input(input_size, hidden_size, dropout=0.0):
    layers = [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(input_size, hidden_size), nn.ReLU(),
               nn.Linear(hidden_size, hidden_size), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(hidden_size, 1), nn.Sigmoid())


def build_fixed_width(input_size, hidden_size, dropout=0.0):
    return build_list(input_size, 16, dropout)


def build_keep_probability(input_size, hidden_size, dropout=0.0):
    return build_list(input_size, hidden_size, 1 - dropout if dropout else 0.0)


BUILD_WRONG = [
    (build_no_sigmoid, "layer order"),
    (build_dropout_on_input, "layer order"),
    (build_fixed_width, "layer sizes"),
    (build_keep_probability, "dropout rate"),
]

# ---------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------


def _accuracy(prediction, target):
    return float(((prediction > 0.5).float() == target).float().mean())


def train_reference(model, loss, optimizer, train_dataset, val_dataset, batch_size, epochs,
                    early_stopping=False, patience=2):
    """Weighted running sums, deepcopy of the best state, tqdm over epochs."""
    metrics = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(val_dataset, batch_size=batch_size)
    best, best_state, strikes = float("inf"), None, 0
    for _ in tqdm(range(epochs), leave=False):
        model.train()
        total, preds, targets = 0.0, [], []
        for x, y in train_loader:
            y_hat = model(x).squeeze(1)
            batch_loss = loss(y_hat, y)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            total += batch_loss.item() * len(y)
            preds.append(y_hat.detach())
            targets.append(y)
        metrics["train_loss"].append(total / len(train_dataset))
        metrics["train_acc"].append(_accuracy(torch.cat(preds), torch.cat(targets)))
        model.eval()
        total, preds, targets = 0.0, [], []
        with torch.no_grad():
            for x, y in val_loader:
                y_hat = model(x).squeeze(1)
                total += loss(y_hat, y).item() * len(y)
                preds.append(y_hat)
                targets.append(y)
        val_loss = total / len(val_dataset)
        metrics["val_loss"].append(val_loss)
        metrics["val_acc"].append(_accuracy(torch.cat(preds), torch.cat(targets)))
        if val_loss < best:
            best, strikes, best_state = val_loss, 0, copy.deepcopy(model.state_dict())
        else:
            strikes += 1
        if early_stopping and strikes >= patience:
            break
    if early_stopping and best_state is not None:
        model.load_state_dict(best_state)
    return metrics


def train_counts(model, loss, optimizer, train_dataset, val_dataset, batch_size, epochs,
                 early_stopping=False, patience=2):
    """Counts instead of means, zero_grad before the forward pass, inference_mode,
    argmin over the recorded losses, a cloned state dict."""
    metrics = {key: [] for key in ("train_loss", "train_acc", "val_loss", "val_acc")}
    best_state = None
    for epoch in range(epochs):
        model.train()
        loss_sum, right, seen = 0.0, 0, 0
        for x, y in DataLoader(train_dataset, batch_size, shuffle=True):
            optimizer.zero_grad()
            p = model(x).view(-1)
            batch_loss = loss(p, y)
            batch_loss.backward()
            optimizer.step()
            loss_sum += float(batch_loss) * x.shape[0]
            right += int(((p > 0.5) == (y > 0.5)).sum())
            seen += x.shape[0]
        metrics["train_loss"].append(loss_sum / seen)
        metrics["train_acc"].append(right / seen)
        model.eval()
        loss_sum, right, seen = 0.0, 0, 0
        with torch.inference_mode():
            for x, y in DataLoader(val_dataset, batch_size):
                p = model(x).view(-1)
                loss_sum += float(loss(p, y)) * len(x)
                right += int(((p > 0.5) == (y > 0.5)).sum())
                seen += len(x)
        metrics["val_loss"].append(loss_sum / seen)
        metrics["val_acc"].append(right / seen)
        history = metrics["val_loss"]
        best_epoch = min(range(len(history)), key=history.__getitem__)
        if best_epoch == epoch:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if early_stopping and epoch - best_epoch >= patience:
            break
    if early_stopping:
        model.load_state_dict(best_state)
    return metrics


def train_concatenated(model, loss, optimizer, train_dataset, val_dataset, batch_size, epochs,
                       early_stopping=False, patience=2):
    """Validation loss from one call on all predictions; zero_grad after step;
    a deepcopy of the whole model; accuracy with round()."""
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)
    best_val, best_model, waited = None, None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        weighted, preds, labels = [], [], []
        for inputs, targets in train_loader:
            out = model(inputs)[:, 0]
            batch_loss = loss(out, targets)
            batch_loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            weighted.append(batch_loss.detach() * len(targets))
            preds.append(out.detach())
            labels.append(targets)
        history["train_loss"].append(float(torch.stack(weighted).sum() / len(train_dataset)))
        history["train_acc"].append(float((torch.cat(preds).round() == torch.cat(labels))
                                          .float().mean()))
        model.eval()
        with torch.no_grad():
            pairs = [(model(x)[:, 0], y) for x, y in DataLoader(val_dataset, batch_size)]
            out = torch.cat([p for p, _ in pairs])
            targets = torch.cat([y for _, y in pairs])
            val_loss = float(loss(out, targets))
        history["val_loss"].append(val_loss)
        history["val_acc"].append(float((out.round() == targets).float().mean()))
        if best_val is None or val_loss < best_val:
            best_val, best_model, waited = val_loss, copy.deepcopy(model), 0
        else:
            waited += 1
            if early_stopping and waited == patience:
                break
    if early_stopping:
        model.load_state_dict(best_model.state_dict())
    return history


TRAIN_CORRECT = [train_reference, train_counts, train_concatenated]


def _variant(**changes):
    """train_reference with one line changed (see the flags below)."""
    def variant(model, loss, optimizer, train_dataset, val_dataset, batch_size, epochs,
                early_stopping=False, patience=2):
        metrics = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
        train_loader = DataLoader(train_dataset, batch_size=batch_size,
                                  shuffle=not changes.get("no_shuffle"))
        val_loader = DataLoader(val_dataset, batch_size=batch_size)
        best, best_state, strikes, previous = float("inf"), None, 0, float("inf")
        if changes.get("train_once"):
            model.train()
        for _ in range(epochs):
            if not changes.get("train_once"):
                model.train()
            total, batch_means, preds, targets = 0.0, [], [], []
            for x, y in train_loader:
                y_hat = model(x).squeeze(1)
                batch_loss = loss(y_hat, y)
                if not changes.get("no_zero_grad"):
                    optimizer.zero_grad()
                batch_loss.backward()
                optimizer.step()
                total += batch_loss.item() * len(y)
                batch_means.append(batch_loss.item())
                preds.append(y_hat.detach())
                targets.append(y)
            train_loss = sum(batch_means) / len(batch_means) if changes.get("batch_mean") \
                else total / len(train_dataset)
            metrics["train_loss"].append(train_loss)
            metrics["train_acc"].append(_accuracy(torch.cat(preds), torch.cat(targets)))
            if not changes.get("no_eval"):
                model.eval()
            total, preds, targets = 0.0, [], []
            with torch.set_grad_enabled(bool(changes.get("no_no_grad"))):
                for x, y in val_loader:
                    y_hat = model(x).squeeze(1)
                    total += loss(y_hat, y).item() * len(y)
                    preds.append(y_hat.detach())
                    targets.append(y)
            val_loss = total / len(val_dataset)
            metrics["val_loss"].append(min(val_loss, best) if changes.get("record_best")
                                       else val_loss)
            metrics["val_acc"].append(_accuracy(torch.cat(preds), torch.cat(targets)))
            watched = train_loss if changes.get("watch_train_loss") else val_loss
            if changes.get("versus_previous"):
                improved = watched < previous
            elif changes.get("ties_improve"):
                improved = watched <= best
            else:
                improved = watched < best
            previous = watched
            if improved:
                best, strikes = watched, 0
                best_state = model.state_dict() if changes.get("shallow_state") \
                    else copy.deepcopy(model.state_dict())
            else:
                strikes += 1
            limit = patience + 1 if changes.get("off_by_one") else patience
            if early_stopping and strikes >= limit:
                break
        if early_stopping and best_state is not None and not changes.get("no_restore"):
            model.load_state_dict(best_state)
        return metrics
    variant.__name__ = "train_" + "_".join(changes)
    return variant


TRAIN_WRONG = [
    (_variant(no_zero_grad=True), "gradients zeroed every step"),
    (_variant(no_shuffle=True), "training data shuffled"),
    (_variant(no_eval=True), "model.eval() for validation"),
    (_variant(no_no_grad=True), "validation without gradients"),
    (_variant(train_once=True), "model.train() while training"),
    (_variant(batch_mean=True), "train_loss"),
]

EARLY_CORRECT = TRAIN_CORRECT

EARLY_WRONG = [
    (_variant(off_by_one=True), "epochs run"),
    (_variant(versus_previous=True), "epochs run"),
    (_variant(watch_train_loss=True), "epochs run"),
    (_variant(ties_improve=True), "epochs run"),
    (_variant(no_restore=True), "best weights restored"),
    (_variant(shallow_state=True), "best weights restored"),
    (_variant(record_best=True), "val_loss"),  # records the best val_loss so far
]


def train_seed_early_stopping(model, loss, optimizer, train_dataset, val_dataset, batch_size,
                              epochs, early_stopping=False, patience=2):
    """The seed's rule: compare with the previous epoch, from epoch 2 on, no restore."""
    metrics = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    strikes = 0
    for ep in range(1, epochs + 1):
        model.train()
        losses, preds, targets = [], [], []
        for x, y in DataLoader(train_dataset, batch_size=batch_size, shuffle=True):
            y_hat = model(x).squeeze()
            batch_loss = loss(y_hat, y)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            losses.append(batch_loss.item() * len(y))
            preds.append(y_hat.detach())
            targets.append(y)
        metrics["train_loss"].append(sum(losses) / len(train_dataset))
        metrics["train_acc"].append(_accuracy(torch.cat(preds), torch.cat(targets)))
        model.eval()
        with torch.no_grad():
            x, y = next(iter(DataLoader(val_dataset, batch_size=len(val_dataset))))
            y_hat = model(x).squeeze()
            metrics["val_loss"].append(loss(y_hat, y).item())
            metrics["val_acc"].append(_accuracy(y_hat, y))
        if early_stopping and ep > 1:
            if metrics["val_loss"][-2] <= metrics["val_loss"][-1]:
                strikes += 1
            else:
                strikes = 0
            if strikes >= patience:
                break
    return metrics


EARLY_WRONG.append((train_seed_early_stopping, "epochs run"))

# Partial credit (test_early_stopping declares stopping epoch 0.5, recorded val_loss 0.2,
# best weights restored 0.3): a wrong train -> (the share of the points it earns, the
# properties that hold), on every seed.
EARLY_PARTIAL = [
    (EARLY_WRONG[6][0], 0.8, ("stopping epoch", "best weights restored")),  # best so far
    (EARLY_WRONG[4][0], 0.7, ("stopping epoch", "recorded val_loss")),  # no restore
    (EARLY_WRONG[5][0], 0.7, ("stopping epoch", "recorded val_loss")),  # state_dict() kept
    (EARLY_WRONG[3][0], 0.0, ()),  # ties count as improvements: stops late
]

# ---------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------


def evaluate_weighted(model, test_dataset, batch_size=512):
    loss = nn.BCELoss()
    model.eval()
    total, right = 0.0, 0
    with torch.no_grad():
        for x, y in DataLoader(test_dataset, batch_size=batch_size):
            p = model(x).squeeze(1)
            total += loss(p, y).item() * len(y)
            right += int(((p > 0.5).float() == y).sum())
    return {"test_loss": total / len(test_dataset), "test_acc": right / len(test_dataset)}


def evaluate_sum_reduction(model, test_dataset, batch_size=512):
    loss = nn.BCELoss(reduction="sum")
    model.eval()
    loss_sum, right = 0.0, 0
    with torch.inference_mode():
        for x, y in DataLoader(test_dataset, batch_size):
            p = model(x).view(-1)
            loss_sum += float(loss(p, y))
            right += int(((p > 0.5) == (y == 1)).sum())
    return {"test_loss": loss_sum / len(test_dataset), "test_acc": right / len(test_dataset)}


def evaluate_concatenated(model, test_dataset, batch_size=512):
    model.eval()
    with torch.no_grad():
        pairs = [(model(x)[:, 0], y) for x, y in DataLoader(test_dataset, batch_size)]
    p = torch.cat([a for a, _ in pairs])
    y = torch.cat([b for _, b in pairs])
    return {"test_loss": nn.functional.binary_cross_entropy(p, y).item(),
            "test_acc": (p.round() == y).float().mean().item()}


EVALUATE_CORRECT = [evaluate_weighted, evaluate_sum_reduction, evaluate_concatenated]


def evaluate_batch_mean(model, test_dataset, batch_size=512):   # the seed's averaging
    loss = nn.BCELoss()
    model.eval()
    losses, preds, targets = [], [], []
    with torch.no_grad():
        for x, y in DataLoader(test_dataset, batch_size):
            y_hat = model(x).squeeze(1)
            losses.append(loss(y_hat, y))
            preds.append(y_hat)
            targets.append(y)
    return {"test_loss": float(torch.mean(torch.stack(losses))),
            "test_acc": _accuracy(torch.cat(preds), torch.cat(targets))}


def evaluate_train_mode(model, test_dataset, batch_size=512):
    loss = nn.BCELoss()
    total, right = 0.0, 0
    with torch.no_grad():
        for x, y in DataLoader(test_dataset, batch_size=batch_size):
            p = model(x).squeeze(1)
            total += loss(p, y).item() * len(y)
            right += int(((p > 0.5).float() == y).sum())
    return {"test_loss": total / len(test_dataset), "test_acc": right / len(test_dataset)}


def evaluate_with_grad(model, test_dataset, batch_size=512):
    loss = nn.BCELoss()
    model.eval()
    total, right = 0.0, 0
    for x, y in DataLoader(test_dataset, batch_size=batch_size):
        p = model(x).squeeze(1)
        total += loss(p, y).item() * len(y)
        right += int(((p > 0.5).float() == y).sum())
    return {"test_loss": total / len(test_dataset), "test_acc": right / len(test_dataset)}


def evaluate_count_not_fraction(model, test_dataset, batch_size=512):
    result = evaluate_weighted(model, test_dataset, batch_size)
    result["test_acc"] *= len(test_dataset)
    return result


EVALUATE_WRONG = [
    (evaluate_batch_mean, "test_loss"),
    (evaluate_train_mode, "model.eval() in evaluate"),
    (evaluate_with_grad, "no gradients in evaluate"),
    (evaluate_count_not_fraction, "test_acc"),
]
