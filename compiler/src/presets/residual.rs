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
    b.affine(&format!("{name}_bn"), false, Some(STREAM_BITS));
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
        b.affine(&format!("{name}_down_bn"), false, Some(STREAM_BITS));
    }
    b.add(&format!("{name}_add"), &main, [0, 0], Some(STREAM_BITS));
    b.affine(&format!("{name}_prelu"), true, Some(STREAM_BITS));
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

pub(super) fn resnet_mini(b: &mut Builder, _: &Knobs) {
    b.input(&[1, 28, 28], InputType::Uint8);
    stem(b, 16, 2);
    basic_block(b, "block1", 16, 1);
    basic_block(b, "block2", 32, 2);
    head(b, 10);
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
