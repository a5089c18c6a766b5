//! Random residual models: a fork on the stream, two paths, a saturating join — over every
//! residual op and option (integer weights on binary and integer inputs, affine with and
//! without PReLU, floor or half-even shifts, saturation or none, operand shifts, window and global sums, downsampling
//! shortcuts, a node added to itself).

use rand::Rng;
use xnorc_compiler::format::{InputType, ModelFile, PadMode, ShiftRounding, WeightValues};
use xnorc_compiler::presets::Builder;

fn bits(b: &mut Builder) -> Option<u32> {
    b.rng().gen_bool(0.7).then(|| b.rng().gen_range(3..=12))
}

/// An affine whose shift floors, or (one in three) rounds half to even.
fn affine(b: &mut Builder, name: &str, piecewise: bool, sat: Option<u32>) {
    let rounding = if b.rng().gen_ratio(1, 3) {
        ShiftRounding::HalfEven
    } else {
        ShiftRounding::Floor
    };
    b.affine_rounded(name, piecewise, sat, rounding);
}

fn binary_values(b: &mut Builder) -> WeightValues {
    if b.rng().gen_bool(0.3) {
        WeightValues::ZeroOne
    } else {
        WeightValues::Pm1
    }
}

/// One block from the current (integer) activation: a path chosen at random, then the join.
fn block(b: &mut Builder, i: usize) {
    let x = b.fork();
    let (c, h, w) = (b.dims()[0], b.dims()[1], b.dims()[2]);
    let name = |s: &str| format!("b{i}_{s}");
    let out = [1, 3, 8, 16, 65][b.rng().gen_range(0..5)];
    match b.rng().gen_range(0..5) {
        // SiMaN: the sign against the frame's mean, then the option-A shortcut when the
        // block downsamples (every other pixel, zero channels around).
        4 => {
            b.meansign(&name("sign"));
            let v = binary_values(b);
            let stride = b.rng().gen_range(1..=2);
            let wider = c + b.rng().gen_range(0..=3);
            let k = if h >= 3 && w >= 3 { 3 } else { 1 };
            b.conv(&name("conv"), wider, k, stride, k / 2, PadMode::Zero, v);
            let sat = bits(b);
            affine(b, &name("bn"), false, sat);
            let main = b.fork();
            b.resume(&x);
            if stride == 2 || wider != c {
                b.sumpool(&name("subsample"), Some((1, stride)));
                let before = b.rng().gen_range(0..=wider - c);
                b.pad_channels(&name("pad"), before, wider - c - before);
            }
            let shift = [b.rng().gen_range(0..=2), b.rng().gen_range(0..=2)];
            let sat = bits(b);
            b.add(&name("add"), &main, shift, sat);
            return;
        }
        // Binary path, shape kept: sign, binary 3×3 (or 1×1) conv, affine.
        0 => {
            let levels = if b.rng().gen_bool(0.8) { 1 } else { 3 };
            b.threshold(&name("sign"), levels, true);
            let k = if h >= 3 && w >= 3 && b.rng().gen_bool(0.7) {
                3
            } else {
                1
            };
            let v = binary_values(b);
            b.conv(&name("conv"), c, k, 1, k / 2, PadMode::Zero, v);
            let piecewise = b.rng().gen_bool(0.3);
            let sat = bits(b);
            affine(b, &name("bn"), piecewise, sat);
        }
        // Downsampling: binary conv with stride 2 against a sum-pooled, projected shortcut.
        1 if h >= 2 && w >= 2 => {
            b.threshold(&name("sign"), 1, false);
            let v = binary_values(b);
            b.conv(&name("conv"), out, 3, 2, 1, PadMode::Zero, v);
            let sat = bits(b);
            affine(b, &name("bn"), false, sat);
            let main = b.fork();
            b.resume(&x);
            // ⌈h/2⌉ rows like the conv: 2×2 windows on even sizes, every other pixel else.
            let k = if h % 2 == 0 && w % 2 == 0 { 2 } else { 1 };
            b.sumpool(&name("pool"), Some((k, 2)));
            b.conv(
                &name("proj"),
                out,
                1,
                1,
                0,
                PadMode::Zero,
                WeightValues::Int,
            );
            let sat = bits(b);
            affine(b, &name("proj_bn"), false, sat);
            let shift = [b.rng().gen_range(0..=2), b.rng().gen_range(0..=2)];
            let sat = bits(b);
            b.add(&name("add"), &main, shift, sat);
            return;
        }
        // Integer path: an int8 3×3 convolution straight on the stream.
        2 => {
            let k = if h >= 3 && w >= 3 { 3 } else { 1 };
            b.conv(
                &name("conv"),
                c,
                k,
                1,
                k / 2,
                PadMode::Zero,
                WeightValues::Int,
            );
            let sat = bits(b);
            let piecewise = b.rng().gen_bool(0.5);
            affine(b, &name("bn"), piecewise, sat);
        }
        // x + x.
        _ => {}
    }
    let shift = [b.rng().gen_range(0..=2), b.rng().gen_range(0..=2)];
    let sat = bits(b);
    b.add(&name("add"), &x, shift, sat);
}

/// A random residual model: integer stem, 1–3 blocks, an optional window sum, a head.
pub fn random_residual_model(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    let dtype = match b.rng().gen_range(0..3) {
        0 => InputType::Bits,
        1 => InputType::Uint8,
        _ => InputType::Int8,
    };
    let c = b.rng().gen_range(1..=4);
    let h = b.rng().gen_range(3..=9);
    let w = b.rng().gen_range(3..=9);
    b.input(&[c, h, w], dtype);
    let mode = if dtype == InputType::Bits && b.rng().gen_bool(0.5) {
        PadMode::MinusOne
    } else {
        PadMode::Zero
    };
    let stem = [2, 5, 8][b.rng().gen_range(0..3)];
    let k = b.rng().gen_range(1..=3);
    let stride = b.rng().gen_range(1..=2);
    b.conv("stem", stem, k, stride, k / 2, mode, WeightValues::Int);
    let piecewise = b.rng().gen_bool(0.5);
    let sat = bits(&mut b);
    affine(&mut b, "stem_bn", piecewise, sat);
    for i in 0..b.rng().gen_range(1..=3) {
        block(&mut b, i);
        if b.rng().gen_bool(0.5) {
            let sat = bits(&mut b);
            affine(&mut b, &format!("b{i}_prelu"), true, sat);
        }
    }
    let (h, w) = (b.dims()[1], b.dims()[2]);
    if b.rng().gen_bool(0.3) && h >= 2 && w >= 2 {
        let k = b.rng().gen_range(1..=2);
        let stride = b.rng().gen_range(1..=2);
        b.sumpool("pool", Some((k, stride)));
    }
    if b.rng().gen_bool(0.6) {
        b.sumpool("global", None);
    }
    b.flatten("flatten");
    let classes = b.rng().gen_range(1..=10);
    if b.rng().gen_bool(0.7) {
        b.dense("fc", classes, WeightValues::Int);
    } else {
        b.threshold("fc_sign", 1, true);
        let v = binary_values(&mut b);
        b.dense("fc", classes, v);
    }
    let affine = b.rng().gen_bool(0.5);
    b.output(affine);
    b.finish("random-residual")
}
