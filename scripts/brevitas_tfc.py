#!/usr/bin/env python3
"""Times Brevitas training TFC-w1a1 on datasets/mnist.npz, for the side-by-side figure of
docs/benchmarks.md ("Training"): the recipe of models/train_tfc_w1a1.py (bnn_pynq FC, Adam 0.02
cosine over 40 epochs, batch 100, latent weights clipped to [-1, 1]) on the same 4,000 / 1,000
split, without the export. Prints one JSON line per seed: held-out accuracy and wall seconds.

Needs torch and brevitas (not part of the set-up; CI never runs this):
    pip install torch brevitas
Usage: python3 scripts/brevitas_tfc.py [SEED ...]   (from the repository root)
"""

import json
import sys
import time

import numpy as np
import torch
from brevitas_examples.bnn_pynq.models.FC import FC

EPOCHS, BATCH, LR = 40, 100, 0.02


def run(seed, data):
    torch.manual_seed(seed)
    xtr, ytr = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    xte, yte = torch.from_numpy(data["x_test"]), data["y_test"]
    start = time.perf_counter()
    model = FC(num_classes=10, weight_bit_width=1, act_bit_width=1, in_bit_width=1,
               in_channels=1, out_features=[64, 64, 64])
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(ytr)
    for _ in range(EPOCHS):
        model.train()
        perm = torch.randperm(n)
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss_fn(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
            model.clip_weights(-1.0, 1.0)
        sched.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = float((model(xte).argmax(1).numpy() == yte).mean())
    return {"seed": seed, "accuracy": accuracy, "seconds": round(seconds, 2),
            "threads": torch.get_num_threads()}


def main():
    data = dict(np.load("datasets/mnist.npz"))
    for seed in [int(s) for s in sys.argv[1:]] or [0]:
        print(json.dumps(run(seed, data)), flush=True)


if __name__ == "__main__":
    main()
