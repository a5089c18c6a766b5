//! Residual binary networks (Bi-Real / ReActNet style): a multi-bit stream carried through
//! every block's shortcut, binary 3×3 convolutions on its sign, integer stem, shortcut
//! projections and head.

use super::builder::Builder;
use super::knobs::Knobs;
use crate::format::{InputType, PadMode, WeightValues};

/// Width of the residual stream (signed, saturating): 8 bits, as the seeds' int8 activations.
const STREAM_BITS: u32 = 8;

/// One basic block on the stream: RSign (a threshold on the stream) → binary 3×3 conv →
/// BatchNorm as a fixed-point affine → + shortcut → RPReLU. With `stride` 2 the shortcut is
/// Bi-Real's 2×2 average pool (a sum) and an integer 1×1 convolution to `out` channels.
pub(super) fn basic_block(b: &mut Builder, name: &str, out: usize, stride: usize) {
    basic_block_bits(b, name, out, stride, STREAM_BITS)
}

/// [`basic_block`] on a stream of `bits` bits.
fn basic_block_bits(b: &mut Builder, name: &str, out: usize, stride: usize, bits: u32) {
    let input = b.fork();
    b.threshold(&format!("{name}_sign"), 1, false);
    b.conv(
        &format!("{name}_conv"),
        out,
        3,
        stride,
        1,
        PadMode::Zero,
        WeightValues::Pm1,
    );
    b.affine(&format!("{name}_bn"), false, Some(bits));
    let main = b.fork();
    b.resume(&input);
    if stride != 1 || b.dims()[0] != out {
        b.sumpool(&format!("{name}_down_pool"), Some((stride, stride)));
        b.conv(
            &format!("{name}_down_conv"),
            out,
            1,
            1,
            0,
            PadMode::Zero,
            WeightValues::Int,
        );
        b.affine(&format!("{name}_down_bn"), false, Some(bits));
    }
    b.add(&format!("{name}_add"), &main, [0, 0], Some(bits));
    b.affine(&format!("{name}_prelu"), true, Some(bits));
}

/// An integer stem: a 3×3 convolution with int8 weights and its BatchNorm as an affine.
fn stem(b: &mut Builder, out: usize, stride: usize) {
    b.conv("stem", out, 3, stride, 1, PadMode::Zero, WeightValues::Int);
    b.affine("stem_bn", false, Some(STREAM_BITS));
}

/// Global average pool (a sum), flatten, and an int8 classifier.
fn head(b: &mut Builder, classes: usize) {
    b.sumpool("pool", None);
    b.flatten("flatten");
    b.dense_int("fc", classes);
    b.output(false);
}

/// Small enough for an iCE40 UP5K: a binary-weight stem on the pixels (±x lanes, no
/// multiplier) with stride 2, its BatchNorm into a 6-bit stream, one Bi-Real block, then the
/// stream's sign, a 2×2 max-pool of the bits and a binary classifier.
pub(super) fn resnet_mini(b: &mut Builder, _: &Knobs) {
    const BITS: u32 = 6;
    b.input(&[1, 28, 28], InputType::Uint8);
    b.conv("stem", 8, 3, 2, 1, PadMode::Zero, WeightValues::Pm1);
    b.affine("stem_bn", false, Some(BITS));
    basic_block_bits(b, "block1", 8, 1, BITS);
    b.threshold("head_sign", 1, false);
    b.maxpool("pool", 2);
    b.flatten("flatten");
    b.dense("fc", 10, WeightValues::Pm1);
    b.output(false);
}

/// A residual MLP for fast tests: binary 16 inputs, a dense layer into a 6-bit stream, one
/// block (sign, dense, affine, saturating join, PReLU), sign, a 4-class dense layer.
pub(super) fn tiny_residual(b: &mut Builder, _: &Knobs) {
    b.input(&[16], InputType::Bits);
    b.dense("fc1", 12, WeightValues::Pm1);
    b.affine("bn1", false, Some(6));
    let x = b.fork();
    b.threshold("sign", 1, true);
    b.dense("fc2", 12, WeightValues::Pm1);
    b.affine("bn2", false, Some(6));
    b.add("join", &x, [0, 0], Some(6));
    b.affine("prelu", true, Some(6));
    b.threshold("head_sign", 1, false);
    b.dense("fc3", 4, WeightValues::Pm1);
    b.output(false);
}

pub(super) fn resnet20(b: &mut Builder, _: &Knobs) {
    b.input(&[3, 32, 32], InputType::Uint8);
    stem(b, 16, 1);
    for (stage, width) in [16, 32, 64].into_iter().enumerate() {
        for block in 0..3 {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            basic_block(
                b,
                &format!("stage{}_block{}", stage + 1, block + 1),
                width,
                stride,
            );
        }
    }
    head(b, 10);
}

/// SiMaN's CIFAR block: the sign against the frame's mean, a {0,+1}-weight 3×3 convolution and
/// its BatchNorm (α of either sign folded in) as an affine, joined with the option-A shortcut —
/// every other pixel (a 1×1 sum-pool with stride 2) and zero channels on either side when the
/// block downsamples — then a PReLU.
fn siman_block(b: &mut Builder, name: &str, out: usize, stride: usize) {
    let input = b.fork();
    let c = b.dims()[0];
    b.meansign(&format!("{name}_sign"));
    b.conv(
        &format!("{name}_conv"),
        out,
        3,
        stride,
        1,
        PadMode::Zero,
        WeightValues::ZeroOne,
    );
    b.affine(&format!("{name}_bn"), false, Some(STREAM_BITS));
    let main = b.fork();
    b.resume(&input);
    if stride != 1 || c != out {
        b.sumpool(&format!("{name}_subsample"), Some((1, stride)));
        let pad = (out - c) / 2;
        b.pad_channels(&format!("{name}_pad"), pad, out - c - pad);
    }
    b.add(&format!("{name}_add"), &main, [0, 0], Some(STREAM_BITS));
    b.affine(&format!("{name}_prelu"), true, Some(STREAM_BITS));
}

pub(super) fn resnet20_siman(b: &mut Builder, _: &Knobs) {
    b.input(&[3, 32, 32], InputType::Uint8);
    stem(b, 16, 1);
    for (stage, width) in [16, 32, 64].into_iter().enumerate() {
        for block in 0..3 {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            siman_block(
                b,
                &format!("stage{}_block{}", stage + 1, block + 1),
                width,
                stride,
            );
        }
    }
    head(b, 10);
}
