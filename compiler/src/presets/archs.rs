//! The preset architectures: TFC, CNV and their small and sub-bit variants, as builder calls.

use super::builder::{Builder, Storage};
use super::knobs::Knobs;
use crate::format::{InputType, PadMode, WeightValues};

pub(super) fn tiny(b: &mut Builder, _: &Knobs) {
    b.input(&[16], InputType::Bits);
    b.mlp(&[12, 8, 4]);
}

pub(super) fn tfc(b: &mut Builder, _: &Knobs) {
    b.input(&[784], InputType::Bits);
    b.mlp(&[64, 64, 64, 10]);
}

pub(super) fn tfc_u8(b: &mut Builder, _: &Knobs) {
    b.input(&[784], InputType::Uint8);
    b.mlp(&[64, 64, 64, 10]);
}

pub(super) fn cnv_small(b: &mut Builder, _: &Knobs) {
    cnv_small_with(b, &|_| Storage::Dense, false);
}

pub(super) fn cnv_small_codebook(b: &mut Builder, k: &Knobs) {
    let book = Storage::Codebook {
        tau: k.tau,
        entries: 1 << k.tau,
    };
    cnv_small_with(
        b,
        &|layer| match layer {
            "conv2" | "conv3" => book,
            _ => Storage::Dense,
        },
        false,
    );
}

pub(super) fn cnv_small_tiled(b: &mut Builder, k: &Knobs) {
    let p = k.repeats;
    cnv_small_with(
        b,
        &|layer| match layer {
            "conv1" => Storage::Dense,
            "fc2" => Storage::Tiled { p, alpha: false },
            _ => Storage::Tiled { p, alpha: true },
        },
        true,
    );
}

/// Adds matrix layer `name`'s activation: a `binarize` epilogue after a layer with α (it
/// folds α), a threshold otherwise.
pub(super) fn activation(b: &mut Builder, name: &str, scaled: bool) {
    if scaled {
        b.binarize(name)
    } else {
        b.threshold(name, 1, false)
    }
}

pub(super) fn cnv_small_with(b: &mut Builder, storage: &dyn Fn(&str) -> Storage, scaled: bool) {
    use PadMode::Zero;
    use WeightValues::Pm1;
    let scaled =
        |layer: &str| scaled && matches!(storage(layer), Storage::Tiled { alpha: true, .. });
    b.input(&[1, 28, 28], InputType::Uint8);
    b.conv("conv1", 16, 3, 1, 1, Zero, Pm1);
    b.threshold("act1", 1, false);
    b.storage(storage("conv2"));
    b.conv("conv2", 16, 3, 1, 1, Zero, Pm1);
    activation(b, "act2", scaled("conv2"));
    b.maxpool("pool1", 2);
    b.storage(storage("conv3"));
    b.conv("conv3", 32, 3, 1, 0, Zero, Pm1);
    activation(b, "act3", scaled("conv3"));
    b.maxpool("pool2", 2);
    b.flatten("flatten");
    b.storage(storage("fc1"));
    b.dense("fc1", 64, Pm1);
    activation(b, "act4", scaled("fc1"));
    b.storage(storage("fc2"));
    b.dense("fc2", 10, Pm1);
    b.output(false);
}

pub(super) fn cnv(b: &mut Builder, _: &Knobs) {
    cnv_with(b, &|_| Storage::Dense);
}

pub(super) fn cnv_codebook(b: &mut Builder, k: &Knobs) {
    let book = Storage::Codebook {
        tau: k.tau,
        entries: 1 << k.tau,
    };
    cnv_with(b, &|layer| match layer {
        "conv1" | "fc3" => Storage::Dense,
        "fc1" | "fc2" => Storage::Tiled { p: 4, alpha: false },
        _ => book,
    });
}

pub(super) fn cnv_tiled(b: &mut Builder, k: &Knobs) {
    let p = k.repeats;
    cnv_with(b, &|layer| match layer {
        "conv1" => Storage::Dense,
        "fc3" => Storage::Tiled { p, alpha: false },
        _ => Storage::Tiled { p, alpha: true },
    });
}

/// FINN's CNV shape; `storage` picks each matrix layer's weight storage. Layers with α get a
/// `binarize` epilogue, the others a threshold.
pub(super) fn cnv_with(b: &mut Builder, storage: &dyn Fn(&str) -> Storage) {
    use PadMode::Zero;
    use WeightValues::Pm1;
    let scaled = |layer: &str| matches!(storage(layer), Storage::Tiled { alpha: true, .. });
    b.input(&[3, 32, 32], InputType::Uint8);
    let convs: [(usize, bool); 6] = [
        (64, false),
        (64, true),
        (128, false),
        (128, true),
        (256, false),
        (256, false),
    ];
    for (i, &(ch, pool)) in convs.iter().enumerate() {
        let name = format!("conv{}", i + 1);
        b.storage(storage(&name));
        b.conv(&name, ch, 3, 1, 0, Zero, Pm1);
        activation(b, &format!("act_conv{}", i + 1), scaled(&name));
        if pool {
            b.maxpool(&format!("pool{}", i / 2 + 1), 2);
        }
    }
    b.flatten("flatten");
    for (name, act) in [("fc1", "act_fc1"), ("fc2", "act_fc2")] {
        b.storage(storage(name));
        b.dense(name, 512, Pm1);
        activation(b, act, scaled(name));
    }
    b.storage(storage("fc3"));
    b.dense("fc3", 10, Pm1);
    b.output(false);
}

pub(super) fn tfc_tiled(b: &mut Builder, k: &Knobs) {
    use WeightValues::Pm1;
    let p = k.repeats;
    b.input(&[784], InputType::Bits);
    for (i, w) in [64, 64, 64].into_iter().enumerate() {
        b.storage(Storage::Tiled { p, alpha: true });
        b.dense(&format!("fc{}", i + 1), w, Pm1);
        b.binarize(&format!("act{}", i + 1));
    }
    b.storage(Storage::Tiled { p, alpha: false });
    b.dense("fc4", 10, Pm1);
    b.output(false);
}

pub(super) fn all_ops(b: &mut Builder, _: &Knobs) {
    use PadMode::{MinusOne, Zero};
    use WeightValues::{Pm1, ZeroOne};
    b.input(&[2, 13, 13], InputType::Int8);
    b.conv("conv_int_zero_pad", 6, 3, 1, 1, Zero, Pm1);
    b.binarize("bn_sign1");
    b.conv("conv_s2_minus_one", 5, 3, 2, 1, MinusOne, ZeroOne);
    b.threshold("multi_threshold", 3, true);
    b.conv("conv_1x1_int", 8, 1, 1, 0, Zero, Pm1);
    b.threshold("act2", 1, true);
    b.maxpool("pool", 2);
    b.flatten("flatten");
    b.dense("fc_zero_one", 7, ZeroOne);
    b.binarize("bn_sign2");
    b.dense("fc_out", 3, Pm1);
    b.output(true);
}
