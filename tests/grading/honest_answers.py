"""Honest answers to hw4_pytorch_regularization's questions, written by hand, beside the
course's own solution: for the similarity tests (tests/test_similarity.py) and the synthetic
class of ``make bench-scale`` (course/bench/synthetic.py).

``BEN`` is the course's solution copied, renamed, re-commented and re-spaced; ``CARA`` and
``DEV`` are written independently; ``ELI_MSE`` is one more mse_loss.  CARA's
gradient_descent carries ``ATTACK``, a comment with HTML that the report must escape.
"""

ATTACK = '# </pre><script>alert("owned")</script>\n'

BEN = {  # ana's answers, renamed, re-commented and re-spaced
    "mse_loss": '''def mse_loss(pred, y):
    # mean of the squared differences
    return torch.mean( (pred.reshape(-1) - y.reshape(-1))**2 )
''',
    "gradient_descent": '''def gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    # set up the optimiser first
    opt = optim.SGD(model.parameters(), lr = lr)
    train_hist, val_hist = [], []

    for step in tqdm(range(steps)):
        # forward pass, then one update
        l = loss_func(model(x), y)
        opt.zero_grad()
        l.backward()
        opt.step()
        with torch.no_grad():   # no graph for the validation loss
            vl = loss_func(model(xvalid), yvalid)
        train_hist.append(l.item())
        val_hist.append(vl.item())
    return train_hist, val_hist
''',
    "dropout": '''class Dropout(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, inputs):
        # only drop units while training
        if self.training:
            keep = (torch.rand_like(inputs) >= self.rate).to(inputs.dtype)
            return inputs * keep
        # evaluation: scale by the keep probability instead
        return inputs * (1 - self.rate)
''',
    "linear_zeros": '''class LinearZeros(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(in_dimensions, out_dimensions))   # weights
        self.b = nn.Parameter(torch.zeros(out_dimensions))                  # bias

    def forward(self, x):
        return x @ self.W + self.b
''',
}

CARA = {  # written independently
    "mse_loss": '''def mse_loss(prediction, labels):
    difference = prediction.view(-1) - labels.view(-1)
    return (difference * difference).sum() / difference.numel()
''',
    "gradient_descent": '''def gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    ''' + ATTACK + '''    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    valid_losses = []
    for _ in range(steps):
        prediction = model(x)
        loss = loss_func(prediction, y)
        losses.append(float(loss))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            valid_losses.append(float(loss_func(model(xvalid), yvalid)))
    return losses, valid_losses
''',
    "dropout": '''class Dropout(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training:
            return (1 - self.rate) * x
        mask = torch.bernoulli(torch.full_like(x, 1 - self.rate))
        return mask * x
''',
    "linear_zeros": '''class LinearZeros(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros((in_dimensions, out_dimensions)))
        self.bias = nn.Parameter(torch.zeros((out_dimensions,)))

    def forward(self, x):
        return torch.matmul(x, self.weight) + self.bias
''',
}

DEV = {  # written independently too
    "mse_loss": '''def mse_loss(prediction, labels):
    return torch.nn.functional.mse_loss(prediction.squeeze(1), labels.reshape(-1))
''',
    "gradient_descent": '''def gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    sgd = optim.SGD(params=list(model.parameters()), lr=lr)
    history = {"train": [], "valid": []}
    step = 0
    while step < steps:
        sgd.zero_grad()
        training_loss = loss_func(model(x), y)
        history["train"].append(training_loss.detach().item())
        training_loss.backward()
        sgd.step()
        validation = loss_func(model(xvalid), yvalid).detach()
        history["valid"].append(validation.item())
        step += 1
    return history["train"], history["valid"]
''',
    "dropout": '''class Dropout(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.training:
            return x * (torch.rand(x.shape, device=x.device) > self.rate).float()
        return x * (1.0 - self.rate)
''',
    "linear_zeros": '''class LinearZeros(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.register_parameter("w", nn.Parameter(torch.zeros(in_dimensions, out_dimensions)))
        self.register_parameter("c", nn.Parameter(torch.zeros(out_dimensions)))

    def forward(self, x):
        return torch.addmm(self.c, x, self.w)
''',
}

ELI_MSE = '''def mse_loss(prediction, labels):
    return ((prediction.flatten() - labels.flatten()) ** 2).mean()
'''
