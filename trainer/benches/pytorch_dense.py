"""PyTorch side of the training-speed comparison: configuration 4 trained densely on 40x40
labelled patches, the same work per step as `cargo bench -p bonemask-trainer --bench
train_speed` (2 patches per step: forward, softmax cross-entropy, backward, SGD with momentum).

The dense form: each pool has stride 1, and every later filter and pool is dilated by the
product of the pools before it, so a (40 + 127)^2 input patch gives 40 x 40 logit pairs, one per
labelled pixel.

PyTorch is not a dependency of the project; install it for this comparison only:
    python3 -m venv .cache/torch-venv && .cache/torch-venv/bin/pip install torch
Run:
    .cache/torch-venv/bin/python trainer/benches/pytorch_dense.py [STEPS] [THREADS]
Prints labelled pixels per second of wall time.
"""

import sys
import time

import torch
from torch import nn


def config4_dense():
    """Configuration 4 in dilated form: 7x7 / pool 2, 4x4 / pool 2, 6x6 / pool 6, 100 units."""
    return nn.Sequential(
        nn.Conv2d(1, 36, 7),
        nn.MaxPool2d(2, stride=1),
        nn.Tanh(),
        nn.Conv2d(36, 36, 4, dilation=2),
        nn.MaxPool2d(2, stride=1, dilation=2),
        nn.Tanh(),
        nn.Conv2d(36, 36, 6, dilation=4),
        nn.MaxPool2d(6, stride=1, dilation=4),
        nn.Tanh(),
        nn.Conv2d(36, 100, 4, dilation=24),
        nn.Tanh(),
        nn.Conv2d(100, 2, 1),
    )


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)

    patch, patches, window = 40, 2, 128
    side = patch + window - 1
    network = config4_dense()
    optimiser = torch.optim.SGD(network.parameters(), lr=0.01, momentum=0.9)
    loss_function = nn.CrossEntropyLoss()
    inputs = torch.rand(patches, 1, side, side) * 2 - 1
    labels = torch.randint(0, 2, (patches, patch, patch))

    logits = network(inputs)
    assert logits.shape == (patches, 2, patch, patch), logits.shape

    # One step to warm up, then the timed steps.
    for timed in (False, True):
        start = time.perf_counter()
        for _ in range(steps if timed else 1):
            optimiser.zero_grad()
            loss = loss_function(network(inputs), labels)
            loss.backward()
            optimiser.step()
        seconds = time.perf_counter() - start
    pixels = steps * patches * patch * patch
    print(
        f"pytorch {torch.__version__}, {threads} threads, dense {patch}x{patch} patches, "
        f"{patches} per step, {steps} steps: {pixels / seconds:.1f} labelled pixels/s"
    )


if __name__ == "__main__":
    main()
