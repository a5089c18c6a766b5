//! Each module of the Verilog library (`rtl/lib/`) on its own under Verilator: a wrapper top
//! instantiates it with chosen parameters, the harness streams random beats through it with
//! random input stalls and output backpressure, and the output beats are compared with a naive
//! model written here from the module's header — independent of the generator, which never
//! runs in these tests (memory images are encoded here too).
//!
//! The end-to-end tests (tests/hardware.rs) check whole cores against the reference simulator
//! and the cycle model; these check each module's contract in isolation, including
//! parameterizations the planner rarely produces, and that parameter limits stop elaboration.

mod common;

use common::require_tool;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use xnorc_rtl::verilog::{r, Instance, Module, Param};
use xnorc_verify::verilator::{self, Stalls};

/// A build directory shared by the tests, so Verilator builds are cached across runs.
fn cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("build/test-library")
}

/// A beat: its bits, least significant first.
type Beat = Vec<bool>;

fn bits_of(value: i64, width: usize) -> Beat {
    (0..width).map(|i| (value >> i.min(63)) & 1 == 1).collect()
}

fn value_of(bits: &[bool], signed: bool) -> i64 {
    let v = bits
        .iter()
        .enumerate()
        .fold(0i64, |v, (i, &b)| v | (i64::from(b) << i));
    if signed && bits.last() == Some(&true) {
        v - (1i64 << bits.len())
    } else {
        v
    }
}

/// Field `i` of `width` bits.
fn field(beat: &[bool], i: usize, width: usize) -> &[bool] {
    &beat[i * width..(i + 1) * width]
}

/// A hex image as `$readmemh` reads it: one word per line, most significant digit first.
fn hex(words: &[Beat]) -> String {
    words
        .iter()
        .map(|w| {
            let digits = w.len().div_ceil(4);
            (0..digits)
                .rev()
                .map(|d| {
                    let nibble = (0..4).fold(0u32, |v, b| {
                        v | u32::from(w.get(d * 4 + b).copied().unwrap_or(false)) << b
                    });
                    char::from_digit(nibble, 16).unwrap()
                })
                .collect::<String>()
                + "\n"
        })
        .collect()
}

/// Runs `module` with `params` under Verilator on `input` beats (of `in_width` bits) and
/// returns `outputs` output beats of `out_width` bits, with stalls on both sides.
fn run(
    module: &str,
    params: Vec<(&str, Param)>,
    images: &[(&str, String)],
    widths: (usize, usize),
    input: &[Beat],
    outputs: usize,
) -> Vec<Beat> {
    let mut files = xnorc_rtl::library::files_for([module]);
    for (name, text) in images {
        files.push((name.to_string(), text.clone()));
    }
    run_design(module, params, files, widths, input, outputs)
}

/// Runs `wrapper`, the Verilog of a module `tb_wrapped` with the single-stream ports of
/// [`run`] that connects library modules `uses` (a fork and its join, say).
fn run_wrapped(
    wrapper: &str,
    uses: &[&str],
    widths: (usize, usize),
    input: &[Beat],
    outputs: usize,
) -> Vec<Beat> {
    let mut files = xnorc_rtl::library::files_for(uses.iter().copied());
    files.push(("tb_wrapped.v".into(), wrapper.to_string()));
    run_design("tb_wrapped", Vec::new(), files, widths, input, outputs)
}

/// Runs `module` (with `params`) among `files` under Verilator: the harness of [`run`].
fn run_design(
    module: &str,
    params: Vec<(&str, Param)>,
    files: Vec<(String, String)>,
    widths: (usize, usize),
    input: &[Beat],
    outputs: usize,
) -> Vec<Beat> {
    let (_, out) = run_logged(module, params, files, widths, input, outputs);
    out.into_iter().map(|(_, beat)| beat).collect()
}

/// [`run_design`] with the cycles: those at which input beats were taken, and each output
/// beat's.
fn run_logged(
    module: &str,
    params: Vec<(&str, Param)>,
    mut files: Vec<(String, String)>,
    (in_width, out_width): (usize, usize),
    input: &[Beat],
    outputs: usize,
) -> (Vec<u64>, Vec<(u64, Beat)>) {
    require_tool("verilator");
    let dir = tempfile::tempdir().unwrap();
    let mut top = Module::new("tb_top");
    top.input("clk", 1);
    top.input("rst", 1);
    top.input("in_valid", 1);
    top.output("in_ready", 1);
    top.input("in_data", in_width);
    top.output("out_valid", 1);
    top.input("out_ready", 1);
    top.output("out_data", out_width);
    let ports = [
        "clk",
        "rst",
        "in_valid",
        "in_ready",
        "in_data",
        "out_valid",
        "out_ready",
        "out_data",
    ];
    top.instance(Instance {
        module: module.into(),
        name: "dut".into(),
        comment: Vec::new(),
        params: params.into_iter().map(|(p, v)| (p.into(), v)).collect(),
        ports: ports.iter().map(|p| (p.to_string(), r(*p))).collect(),
    });
    files.push((
        "tb_top.v".into(),
        format!(
            "`default_nettype none\n{}`default_nettype wire\n",
            top.render()
        ),
    ));
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let harness = verilator::build(dir.path(), "tb_top", in_width, &cache(), false)
        .unwrap_or_else(|e| panic!("{module}: {e}"));
    let words = in_width.div_ceil(32);
    let stimulus: Vec<u32> = input
        .iter()
        .flat_map(|beat| {
            (0..words).map(move |w| {
                (0..32).fold(0u32, |v, b| {
                    v | u32::from(beat.get(w * 32 + b).copied().unwrap_or(false)) << b
                })
            })
        })
        .collect();
    let stalls = Stalls {
        seed: 7,
        input_per_mille: 300,
        output_per_mille: 300,
    };
    let log = harness
        .run(&stimulus, outputs, stalls, 200_000, None)
        .unwrap_or_else(|e| panic!("{module}: {e}"));
    let beats = log
        .outputs
        .iter()
        .map(|(cycle, w)| {
            let beat = (0..out_width)
                .map(|i| (w[i / 32] >> (i % 32)) & 1 == 1)
                .collect();
            (*cycle, beat)
        })
        .collect();
    (log.input_cycles, beats)
}

fn random_beats(rng: &mut ChaCha8Rng, n: usize, width: usize) -> Vec<Beat> {
    (0..n)
        .map(|_| (0..width).map(|_| rng.gen()).collect())
        .collect()
}

#[test]
fn fifo_passes_every_beat_in_order() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let input = random_beats(&mut rng, 40, 37);
    for depth in [1, 2, 3] {
        let out = run(
            "xnorc_fifo",
            vec![
                ("WIDTH", Param::Int(37)),
                ("DEPTH", Param::Int(depth)),
                ("STYLE", Param::Str("auto".into())),
            ],
            &[],
            (37, 37),
            &input,
            input.len(),
        );
        assert_eq!(out, input, "depth {depth}");
    }
}

#[test]
fn two_entry_fifo_in_registers_keeps_the_queues_timing() {
    // DEPTH 2 in registers is a register slice (xnorc_slice); in block RAM style it is the
    // queue, whose timing the cycle model states. Under the same random stalls on both sides
    // both must take every input beat and give every output beat in the same cycle.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let input = random_beats(&mut rng, 200, 5);
    let logged = |style: &str| {
        let module = "xnorc_fifo";
        let params = vec![
            ("WIDTH", Param::Int(5)),
            ("DEPTH", Param::Int(2)),
            ("STYLE", Param::Str(style.into())),
        ];
        let files = xnorc_rtl::library::files_for([module]);
        run_logged(module, params, files, (5, 5), &input, input.len())
    };
    let (slice_in, slice_out) = logged("logic");
    let (queue_in, queue_out) = logged("block");
    assert_eq!(
        queue_out.iter().map(|(_, b)| b).collect::<Vec<_>>(),
        input.iter().collect::<Vec<_>>()
    );
    assert_eq!(slice_in, queue_in, "input cycles");
    assert_eq!(slice_out, queue_out, "output cycles and beats");
}

#[test]
fn bram_fifo_passes_every_beat_in_order() {
    // The harness stalls both sides at random, so the read register is both refilled while
    // taken and held while not; depth 2 fills up, 37 barely does.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    // The registered read side (FULL_RATE 0) too, with a count of 5 bits (two slices).
    let input = random_beats(&mut rng, 120, 8);
    for (depth, full_rate) in [(2, 1), (5, 1), (37, 1), (2, 0), (5, 0), (37, 0)] {
        let out = run(
            "xnorc_bram_fifo",
            vec![
                ("WIDTH", Param::Int(8)),
                ("DEPTH", Param::Int(depth)),
                ("FULL_RATE", Param::Int(full_rate)),
                ("STYLE", Param::Str("block".into())),
            ],
            &[],
            (8, 8),
            &input,
            input.len(),
        );
        assert_eq!(out, input, "depth {depth}, full rate {full_rate}");
    }
}

#[test]
fn width_converters_concatenate_and_split_low_bits_first() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let narrow = random_beats(&mut rng, 30, 5);
    let wide: Vec<Beat> = narrow.chunks(3).map(|c| c.concat()).collect();
    let up = run(
        "xnorc_dwc_up",
        vec![("WIDTH", Param::Int(5)), ("RATIO", Param::Int(3))],
        &[],
        (5, 15),
        &narrow,
        wide.len(),
    );
    assert_eq!(up, wide);
    let down = run(
        "xnorc_dwc_down",
        vec![("WIDTH", Param::Int(5)), ("RATIO", Param::Int(3))],
        &[],
        (15, 5),
        &wide,
        narrow.len(),
    );
    assert_eq!(down, narrow);
}

/// xnorc_pool over random maps of `c` channels (`elems` per beat, `eb`-bit elements), 5×5 with
/// 2×2 windows (the last row and column dropped), against a naive pool: per channel the max of
/// each window, or the min where `minimum` says.
fn pool_case(seed: u64, (c, elems): (usize, usize), eb: usize, signed: bool, minimum: &[bool]) {
    let (h, w, k) = (5, 5, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let frames = 2;
    let (lo, hi) = if signed {
        (-(1i64 << (eb - 1)), 1i64 << (eb - 1))
    } else {
        (0, 1i64 << eb)
    };
    let maps: Vec<Vec<i64>> = (0..frames)
        .map(|_| (0..h * w * c).map(|_| rng.gen_range(lo..hi)).collect())
        .collect();
    // Streamed pixel by pixel, channels innermost, `elems` channels per beat.
    let mut input = Vec::new();
    for map in &maps {
        for px in 0..h * w {
            for b in 0..c / elems {
                input.push(
                    (0..elems)
                        .flat_map(|e| bits_of(map[px * c + b * elems + e], eb))
                        .collect(),
                );
            }
        }
    }
    let mut want: Vec<Beat> = Vec::new();
    for map in &maps {
        for oy in 0..h / k {
            for ox in 0..w / k {
                for b in 0..c / elems {
                    want.push(
                        (0..elems)
                            .flat_map(|e| {
                                let ch = b * elems + e;
                                let window = (0..k * k)
                                    .map(|t| map[((oy * k + t / k) * w + ox * k + t % k) * c + ch]);
                                let pick = if minimum.get(ch) == Some(&true) {
                                    window.min()
                                } else {
                                    window.max()
                                };
                                bits_of(pick.unwrap(), eb)
                            })
                            .collect(),
                    );
                }
            }
        }
    }
    let mut params = vec![
        ("C", Param::Int(c as i64)),
        ("ELEMS", Param::Int(elems as i64)),
        ("EB", Param::Int(eb as i64)),
        ("IN_SIGNED", Param::flag(signed)),
        ("H", Param::Int(h as i64)),
        ("W", Param::Int(w as i64)),
        ("K", Param::Int(k as i64)),
    ];
    if !minimum.is_empty() {
        let mask = minimum.iter().map(|&m| i64::from(m)).collect();
        params.push(("MIN_MASK", Param::Fields(1, mask)));
    }
    let out = run(
        "xnorc_pool",
        params,
        &[],
        (elems * eb, elems * eb),
        &input,
        want.len(),
    );
    assert_eq!(
        out, want,
        "c {c}, elems {elems}, eb {eb}, minimum {minimum:?}"
    );
}

#[test]
fn pool_takes_the_max_of_each_whole_window() {
    // 4 channels, 2 per beat, 3-bit signed elements.
    pool_case(3, (4, 2), 3, true, &[]);
}

#[test]
fn pool_takes_the_min_where_its_mask_says() {
    // Bits (AND where masked), counts and signed values; the mask follows the channel block.
    pool_case(4, (4, 2), 1, false, &[false, true, true, false]);
    pool_case(
        5,
        (6, 2),
        2,
        false,
        &[true, false, false, false, true, true],
    );
    pool_case(6, (3, 3), 3, true, &[true, false, true]);
}

/// The window generator's taps for one frame: (pixel index or None for padding, channel
/// block), in the module's order.
#[allow(clippy::too_many_arguments)]
fn window_taps(
    (h, w, cb): (usize, usize, usize),
    (kh, kw, stride): (usize, usize, usize),
    (pad_top, pad_left): (usize, usize),
    (out_h, out_w): (usize, usize),
    cb_outer: bool,
) -> Vec<(Option<usize>, usize)> {
    let mut taps = Vec::new();
    for oy in 0..out_h {
        for ox in 0..out_w {
            let tap = |ky: usize, kx: usize, c: usize| {
                let (y, x) = (
                    (oy * stride + ky) as i64 - pad_top as i64,
                    (ox * stride + kx) as i64 - pad_left as i64,
                );
                let inside = (0..h as i64).contains(&y) && (0..w as i64).contains(&x);
                (inside.then(|| y as usize * w + x as usize), c)
            };
            if cb_outer {
                for c in 0..cb {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            taps.push(tap(ky, kx, c));
                        }
                    }
                }
            } else {
                for ky in 0..kh {
                    for kx in 0..kw {
                        for c in 0..cb {
                            taps.push(tap(ky, kx, c));
                        }
                    }
                }
            }
        }
    }
    taps
}

#[test]
fn window_generator_emits_every_tap_in_order() {
    // 5×4 map, 2 beats of 3 bits per pixel, 3×2 kernel, stride 2, padding 1/1.
    let (h, w, cb, dw) = (5, 4, 2, 3);
    let (kh, kw, stride, pad_top, pad_left) = (3, 2, 2, 1, 1);
    let (out_h, out_w) = (
        (h + 2 * pad_top - kh) / stride + 1,
        (w + pad_left - kw) / stride + 1,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let frames = 3;
    let input = random_beats(&mut rng, frames * h * w * cb, dw);
    for (masked, cb_outer) in [(true, false), (false, true)] {
        let mut want = Vec::new();
        for f in 0..frames {
            for (px, c) in window_taps(
                (h, w, cb),
                (kh, kw, stride),
                (pad_top, pad_left),
                (out_h, out_w),
                cb_outer,
            ) {
                let mut beat = match px {
                    Some(p) => input[(f * h * w + p) * cb + c].clone(),
                    None => vec![false; dw],
                };
                if masked {
                    beat.push(px.is_some());
                }
                want.push(beat);
            }
        }
        let int = |v: usize| Param::Int(v as i64);
        let out = run(
            "xnorc_swg",
            vec![
                ("H", int(h)),
                ("W", int(w)),
                ("CB", int(cb)),
                ("DW", int(dw)),
                ("KH", int(kh)),
                ("KW", int(kw)),
                ("STRIDE", int(stride)),
                ("PAD_TOP", int(pad_top)),
                ("PAD_LEFT", int(pad_left)),
                ("OUT_H", int(out_h)),
                ("OUT_W", int(out_w)),
                ("ROWS", int(8)),
                ("MASKED", Param::flag(masked)),
                ("CB_OUTER", Param::flag(cb_outer)),
            ],
            &[],
            (dw, dw + usize::from(masked)),
            &input,
            want.len(),
        );
        assert_eq!(
            out, want,
            "masked {masked}, channel blocks outer {cb_outer}"
        );
    }
}

/// A small MVU under test: K inputs, O outputs, its weights (`weights[o][k]`) and what it
/// outputs per vector.
struct MvuCase {
    params: Vec<(&'static str, Param)>,
    images: Vec<(&'static str, String)>,
    in_width: usize,
    out_width: usize,
    input: Vec<Beat>,
    want: Vec<Beat>,
}

/// A binary (XNOR) layer with 3-level thresholds (2-bit counts) and fan-out 2: K = 6 inputs,
/// PE 2 × SIMD 3, NF 2 × SF 2, 4 computed filters sent to 2 channel groups each.
fn xnor_threshold_case(rng: &mut ChaCha8Rng) -> MvuCase {
    let (k, pe, simd, fanout, levels, ob) = (6, 2, 3, 2, 3, 2);
    let (sf, filters) = (k / simd, 4);
    let nf = filters / pe;
    let outs = pe * fanout;
    let acc_w = 4; // popcounts 0..=6 with room for −1 and 7; bounds lie in 0..=7
    let weights: Vec<Vec<bool>> = (0..filters)
        .map(|_| (0..k).map(|_| rng.gen()).collect())
        .collect();
    // Output e of pass n is channel n·outs + e, computing filter n·PE + e mod PE; per channel,
    // ascending thresholds and a direction.
    let channels = nf * outs;
    let ge: Vec<bool> = (0..channels).map(|_| rng.gen()).collect();
    let thresholds: Vec<Vec<i64>> = (0..channels)
        .map(|_| {
            let mut t: Vec<i64> = (0..levels).map(|_| rng.gen_range(0..=6)).collect();
            t.sort_unstable();
            t
        })
        .collect();
    // Weight word at nf·SF + sf: bit pe·SIMD + s = weight of filter nf·PE + pe, input sf·SIMD + s.
    let weight_words: Vec<Beat> = (0..nf * sf)
        .map(|a| {
            let (n, s0) = (a / sf, a % sf);
            (0..pe * simd)
                .map(|b| weights[n * pe + b / simd][s0 * simd + b % simd])
                .collect()
        })
        .collect();
    // Threshold word per nf: offset-binary bounds (≤ t stored as ≥ t + 1), then directions.
    let bound = |t: i64, ge: bool| {
        let mut b = bits_of(if ge { t } else { t + 1 }, acc_w);
        b[acc_w - 1] = !b[acc_w - 1];
        b
    };
    let threshold_words: Vec<Beat> = (0..nf)
        .map(|n| {
            let mut word = Vec::new();
            for e in 0..outs {
                for &t in &thresholds[n * outs + e] {
                    word.extend(bound(t, ge[n * outs + e]));
                }
            }
            word.extend((0..outs).map(|e| ge[n * outs + e]));
            word
        })
        .collect();
    let vectors = 5;
    let input_vectors: Vec<Vec<bool>> = (0..vectors)
        .map(|_| (0..k).map(|_| rng.gen()).collect())
        .collect();
    let input: Vec<Beat> = input_vectors
        .iter()
        .flat_map(|v| v.chunks(simd).map(<[bool]>::to_vec))
        .collect();
    let mut want = Vec::new();
    for v in &input_vectors {
        for n in 0..nf {
            let mut beat = Vec::new();
            for e in 0..outs {
                let filter = n * pe + e % pe;
                let p = (0..k).filter(|&i| weights[filter][i] == v[i]).count() as i64;
                let ch = n * outs + e;
                let count = thresholds[ch]
                    .iter()
                    .filter(|&&t| if ge[ch] { p >= t } else { p <= t })
                    .count();
                beat.extend(bits_of(count as i64, ob));
            }
            want.push(beat);
        }
    }
    let int = |v: usize| Param::Int(v as i64);
    MvuCase {
        params: vec![
            ("PE", int(pe)),
            ("SIMD", int(simd)),
            ("NF", int(nf)),
            ("SF", int(sf)),
            ("FANOUT", int(fanout)),
            ("LANE", Param::Str("xnor".into())),
            ("ACC_W", int(acc_w)),
            ("WEIGHT_WORD", int(pe * simd)),
            ("WEIGHT_DEPTH", int(nf * sf)),
            ("WEIGHTS_FILE", Param::Str("w.hex".into())),
            ("OUTPUT", Param::Str("threshold".into())),
            ("LEVELS", int(levels)),
            ("OB", int(ob)),
            ("THRESHOLDS_FILE", Param::Str("t.hex".into())),
            ("TREE_PIPELINE", int(1)),
            ("QUEUE", int(2)),
            ("OUT_BITS", int(outs * ob)),
        ],
        images: vec![
            ("w.hex", hex(&weight_words)),
            ("t.hex", hex(&threshold_words)),
        ],
        in_width: simd,
        out_width: outs * ob,
        input,
        want,
    }
}

/// An integer (add/sub) layer streaming its accumulators: int4 inputs, ±1 weights, K = 4,
/// O = 3, PE 3 × SIMD 2, a second operand register, an unpipelined tree.
fn add_sub_accumulator_case(rng: &mut ChaCha8Rng) -> MvuCase {
    let (k, o, pe, simd, eb, acc_w) = (4, 3, 3, 2, 4, 7);
    let sf = k / simd;
    let weights: Vec<Vec<bool>> = (0..o)
        .map(|_| (0..k).map(|_| rng.gen()).collect())
        .collect();
    let weight_words: Vec<Beat> = (0..sf)
        .map(|s0| {
            (0..pe * simd)
                .map(|b| weights[b / simd][s0 * simd + b % simd])
                .collect()
        })
        .collect();
    let vectors: Vec<Vec<i64>> = (0..6)
        .map(|_| (0..k).map(|_| rng.gen_range(-8..8)).collect())
        .collect();
    let input: Vec<Beat> = vectors
        .iter()
        .flat_map(|v| {
            v.chunks(simd)
                .map(|c| c.iter().flat_map(|&x| bits_of(x, eb)).collect())
        })
        .collect();
    let want: Vec<Beat> = vectors
        .iter()
        .map(|v| {
            (0..o)
                .flat_map(|f| {
                    let s: i64 = (0..k)
                        .map(|i| if weights[f][i] { v[i] } else { -v[i] })
                        .sum();
                    bits_of(s, acc_w)
                })
                .collect()
        })
        .collect();
    let int = |v: usize| Param::Int(v as i64);
    MvuCase {
        params: vec![
            ("PE", int(pe)),
            ("SIMD", int(simd)),
            ("NF", int(1)),
            ("SF", int(sf)),
            ("EB", int(eb)),
            ("IN_SIGNED", int(1)),
            ("LANE", Param::Str("add_sub".into())),
            ("LEAF_W", int(eb + 1)),
            ("LEAF_SIGNED", int(1)),
            ("ACC_W", int(acc_w)),
            ("WEIGHT_WORD", int(pe * simd)),
            ("WEIGHT_DEPTH", int(sf)),
            ("WEIGHTS_FILE", Param::Str("w.hex".into())),
            ("OUTPUT", Param::Str("accumulator".into())),
            ("TREE_PIPELINE", int(0)),
            ("MEM_REG", int(1)),
            ("QUEUE", int(1)),
            ("OUT_BITS", int(pe * acc_w)),
        ],
        images: vec![("w.hex", hex(&weight_words))],
        in_width: simd * eb,
        out_width: pe * acc_w,
        input,
        want,
    }
}

/// A kernel-codebook layer decoding whole kernels (DECODE = 2) and streaming its
/// accumulators: 3 kernel positions, 5 codebook entries of 3-bit indices (entries 5..7 never
/// named), 4 channels in 2 blocks of 2, 4 filters at PE 2 (NF 2: passes reread the input
/// buffer). A beat holds its block's 2 channels at each of the 3 positions, position-major.
fn whole_kernel_case(rng: &mut ChaCha8Rng) -> MvuCase {
    let (taps, entries, tau, c, filters, pe, kch, acc_w) = (3, 5, 3, 4, 4, 2, 2, 5);
    let (nf, sf, simd) = (filters / pe, c / kch, kch * taps);
    let codebook: Vec<Vec<bool>> = (0..entries)
        .map(|_| (0..taps).map(|_| rng.gen()).collect())
        .collect();
    let index: Vec<Vec<usize>> = (0..filters)
        .map(|_| (0..c).map(|_| rng.gen_range(0..entries)).collect())
        .collect();
    // Word nf·SF + sf: index (pe, s) at [(pe·KCH + s)·τ, +τ) of filter nf·PE + pe, channel
    // sf·KCH + s.
    let weight_words: Vec<Beat> = (0..nf * sf)
        .map(|a| {
            let (n, b) = (a / sf, a % sf);
            (0..pe * kch)
                .flat_map(|l| bits_of(index[n * pe + l / kch][b * kch + l % kch] as i64, tau))
                .collect()
        })
        .collect();
    let vectors: Vec<Vec<Vec<bool>>> = (0..5)
        .map(|_| {
            (0..c)
                .map(|_| (0..taps).map(|_| rng.gen()).collect())
                .collect()
        })
        .collect();
    let input: Vec<Beat> = vectors
        .iter()
        .flat_map(|v| {
            (0..sf).map(move |b| {
                (0..simd)
                    .map(|i| v[b * kch + i % kch][i / kch])
                    .collect::<Beat>()
            })
        })
        .collect();
    // Naively: the popcount of matches of every channel's taps against its kernel.
    let want: Vec<Beat> = vectors
        .iter()
        .flat_map(|v| {
            let index = &index;
            let codebook = &codebook;
            (0..nf).map(move |n| {
                (0..pe)
                    .flat_map(|p| {
                        let f = n * pe + p;
                        let matches = (0..c)
                            .map(|ch| {
                                let kernel = &codebook[index[f][ch]];
                                (0..taps).filter(|&t| kernel[t] == v[ch][t]).count()
                            })
                            .sum::<usize>();
                        bits_of(matches as i64, acc_w)
                    })
                    .collect::<Beat>()
            })
        })
        .collect();
    // Entry j's kernel at [j·taps, +taps): fields of `taps` bits.
    let kernels = codebook
        .iter()
        .map(|k| (0..taps).map(|t| i64::from(k[t]) << t).sum())
        .collect();
    let int = |v: usize| Param::Int(v as i64);
    MvuCase {
        params: vec![
            ("PE", int(pe)),
            ("SIMD", int(simd)),
            ("NF", int(nf)),
            ("SF", int(sf)),
            ("LANE", Param::Str("xnor".into())),
            ("TAU", int(tau)),
            ("ENTRIES", int(entries)),
            ("ACC_W", int(acc_w)),
            ("WEIGHT_WORD", int(pe * kch * tau)),
            ("WEIGHT_DEPTH", int(nf * sf)),
            ("WEIGHTS_FILE", Param::Str("w.hex".into())),
            ("DECODE", int(2)),
            ("KPOS", int(taps)),
            ("CODEBOOK", Param::Fields(taps, kernels)),
            ("OUTPUT", Param::Str("accumulator".into())),
            ("TREE_PIPELINE", int(1)),
            ("QUEUE", int(2)),
            ("OUT_BITS", int(pe * acc_w)),
        ],
        images: vec![("w.hex", hex(&weight_words))],
        in_width: simd,
        out_width: pe * acc_w,
        input,
        want: want.into_iter().collect(),
    }
}

#[test]
fn mvu_computes_thresholds_and_accumulators() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for case in [
        xnor_threshold_case(&mut rng),
        add_sub_accumulator_case(&mut rng),
        whole_kernel_case(&mut rng),
    ] {
        let images: Vec<(&str, String)> = case.images.clone();
        let out = run(
            "xnorc_mvu",
            case.params,
            &images,
            (case.in_width, case.out_width),
            &case.input,
            case.want.len(),
        );
        assert_eq!(out, case.want);
    }
}

#[test]
fn scores_are_affine_with_the_lowest_index_winning_ties() {
    // The tree and the scan, the scan also with one class and with an index of 4 bits.
    for (classes, scan, seed) in [(5, false, 6), (5, true, 6), (1, true, 7), (9, true, 8)] {
        check_scores(classes, scan, seed);
    }
}

fn check_scores(classes: usize, scan: bool, seed: u64) {
    let (acc_w, score_w) = (6, 10);
    let idx_w = (usize::BITS - classes.saturating_sub(1).leading_zeros()).max(1) as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mul: Vec<i64> = (0..classes).map(|_| rng.gen_range(-3..=3)).collect();
    let add: Vec<i64> = (0..classes).map(|_| rng.gen_range(-20..=20)).collect();
    // Small accumulators so that ties happen.
    let frames: Vec<Vec<i64>> = (0..40)
        .map(|_| (0..classes).map(|_| rng.gen_range(-2..=2)).collect())
        .collect();
    let input: Vec<Beat> = frames
        .iter()
        .map(|f| f.iter().flat_map(|&a| bits_of(a, acc_w)).collect())
        .collect();
    let want: Vec<Beat> = frames
        .iter()
        .map(|f| {
            let scores: Vec<i64> = (0..classes).map(|c| mul[c] * f[c] + add[c]).collect();
            let best = (0..classes).fold(0, |b, c| if scores[c] > scores[b] { c } else { b });
            let mut beat: Beat = scores.iter().flat_map(|&s| bits_of(s, score_w)).collect();
            beat.extend(bits_of(best as i64, idx_w));
            beat
        })
        .collect();
    let out = run(
        "xnorc_scores",
        vec![
            ("CLASSES", Param::Int(classes as i64)),
            ("ACC_W", Param::Int(acc_w as i64)),
            ("SCORE_W", Param::Int(score_w as i64)),
            ("MUL", Param::Fields(score_w, mul)),
            ("ADD", Param::Fields(score_w, add)),
            ("SCAN", Param::flag(scan)),
        ],
        &[],
        (classes * acc_w, classes * score_w + idx_w),
        &input,
        want.len(),
    );
    assert_eq!(out.len(), want.len());
    for (got, want) in out.iter().zip(&want) {
        let decode = |b: &Beat| {
            let scores: Vec<i64> = (0..classes)
                .map(|c| value_of(field(b, c, score_w), true))
                .collect();
            (scores, value_of(&b[classes * score_w..], false))
        };
        assert_eq!(decode(got), decode(want), "{classes} classes, scan {scan}");
    }
}

#[test]
fn responses_sum_each_kernels_taps_per_channel() {
    // 2 channels per beat, 3 kernel positions, 3 codebook kernels, XNOR taps.
    let (simd, taps, entries) = (2, 3, 3);
    let rb = 2; // responses 0..3
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let planes: Vec<Beat> = (0..taps)
        .map(|_| (0..entries).map(|_| rng.gen()).collect())
        .collect();
    let blocks = 10;
    let input = random_beats(&mut rng, blocks * taps, simd);
    let mut want: Vec<Beat> = Vec::new();
    for block in input.chunks(taps) {
        // Kernel j's response on channel s: the taps where the input matches its bit.
        let response = |s: usize, j: usize| {
            block
                .iter()
                .zip(&planes)
                .filter(|(x, p)| x[s] == p[j])
                .count() as i64
        };
        let mut beat = Vec::new();
        for s in 0..simd {
            for j in 0..entries {
                beat.extend(bits_of(response(s, j), rb));
            }
        }
        want.push(beat);
    }
    let out = run(
        "xnorc_responses",
        vec![
            ("SIMD", Param::Int(simd as i64)),
            ("TAPS", Param::Int(taps as i64)),
            ("ENTRIES", Param::Int(entries as i64)),
            ("LANE", Param::Str("xnor".into())),
            ("RESPONSE_BITS", Param::Int(rb as i64)),
            ("PLANES_FILE", Param::Str("p.hex".into())),
        ],
        &[("p.hex", hex(&planes))],
        (simd, simd * entries * rb),
        &input,
        want.len(),
    );
    assert_eq!(out, want);
}

#[test]
fn split_threshold_decides_split_channels_by_their_tables() {
    // 3 channels, 5 rows (3 outputs, 2 probe rows), 5-bit accumulators. Channel 1 is split
    // with key v − u (table on keys −2..=2), channel 2 with key u (keys 0..=3).
    let (o, rows, a) = (3, 5, 5);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let plain: Vec<(i64, bool)> = (0..o).map(|_| (rng.gen_range(-6..6), rng.gen())).collect();
    let tables: [(usize, usize, u8, i64, bool, Vec<i64>); 2] = [
        (
            1,
            3,
            0,
            -2,
            true,
            (0..5).map(|_| rng.gen_range(-8..8)).collect(),
        ),
        (
            2,
            4,
            2,
            0,
            false,
            (0..4).map(|_| rng.gen_range(-8..8)).collect(),
        ),
    ];
    let bound = |t: i64, ge: bool| {
        let mut b = bits_of(if ge { t } else { t + 1 }, a);
        b[a - 1] = !b[a - 1];
        b
    };
    let threshold_words: Vec<Beat> = plain
        .iter()
        .map(|&(t, ge)| {
            let mut w = bound(t, ge);
            w.push(ge);
            w
        })
        .collect();
    let table_words: Vec<Beat> = tables
        .iter()
        .flat_map(|(_, _, _, _, ge, t)| t.iter().map(move |&v| bound(v, *ge)))
        .collect();
    let total = table_words.len();
    let aw = usize::BITS as usize - (total - 1).leading_zeros() as usize;
    let mut base = 0;
    let offsets: Vec<i64> = tables
        .iter()
        .map(|(_, _, _, key_min, _, t)| {
            let off = (base as i64 - key_min).rem_euclid(1 << aw);
            base += t.len();
            off
        })
        .collect();
    let mut input = Vec::new();
    let mut want = Vec::new();
    for _ in 0..12 {
        // Accumulators chosen so every key stays inside its table.
        let v: Vec<i64> = (0..o).map(|_| rng.gen_range(-8..8)).collect();
        let u1 = v[1] - rng.gen_range(-2..=2);
        let u2 = rng.gen_range(0..=3);
        for acc in v.iter().chain([u1, u2].iter()) {
            input.push(bits_of(*acc, a));
        }
        let mut bits: Vec<bool> = (0..o)
            .map(|c| {
                let (t, ge) = plain[c];
                if ge {
                    v[c] >= t
                } else {
                    v[c] <= t
                }
            })
            .collect();
        for (q, (ch, _, _, key_min, ge, table)) in tables.iter().enumerate() {
            let key = if q == 0 { v[1] - u1 } else { u2 };
            let t = table[(key - key_min) as usize];
            bits[*ch] = if *ge { v[*ch] >= t } else { v[*ch] <= t };
        }
        want.push(bits);
    }
    assert_eq!(rows, o + 2);
    let out = run(
        "xnorc_split_threshold",
        vec![
            ("O", Param::Int(o as i64)),
            ("ROWS", Param::Int(rows as i64)),
            ("ACC_W", Param::Int(a as i64)),
            ("IN_W", Param::Int(a as i64)),
            ("THRESHOLDS_FILE", Param::Str("t.hex".into())),
            ("TABLES_FILE", Param::Str("tables.hex".into())),
            ("TABLE_DEPTH", Param::Int(total as i64)),
            ("SPLITS", Param::Int(2)),
            ("SPLIT_CHANNEL", Param::Fields(32, vec![1, 2])),
            ("SPLIT_PROBE_ROW", Param::Fields(32, vec![3, 4])),
            ("SPLIT_KEY", Param::Fields(2, vec![0, 2])),
            ("SPLIT_OFFSET", Param::Fields(32, offsets)),
            ("SPLIT_GE", Param::Fields(1, vec![1, 0])),
        ],
        &[
            ("t.hex", hex(&threshold_words)),
            ("tables.hex", hex(&table_words)),
        ],
        (a, o),
        &input,
        want.len(),
    );
    assert_eq!(out, want);
}

#[test]
fn gearboxes_carry_frames_through_bytes() {
    // 3 beats of 5 bits per frame: 15 bits in 2 bytes, the last bit of the second padding.
    let (width, beats) = (5, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let frames = random_beats(&mut rng, 6, width * beats);
    let bytes: Vec<Beat> = frames
        .iter()
        .flat_map(|f| {
            let mut padded = f.clone();
            padded.resize(16, false);
            padded.chunks(8).map(<[bool]>::to_vec).collect::<Vec<_>>()
        })
        .collect();
    let beats_out = run(
        "xnorc_bytes_to_beats",
        vec![
            ("WIDTH", Param::Int(width as i64)),
            ("BEATS", Param::Int(beats as i64)),
        ],
        &[],
        (8, width),
        &bytes,
        frames.len() * beats,
    );
    let want: Vec<Beat> = frames
        .iter()
        .flat_map(|f| f.chunks(width).map(<[bool]>::to_vec).collect::<Vec<_>>())
        .collect();
    assert_eq!(beats_out, want);
    let bytes_out = run(
        "xnorc_beat_to_bytes",
        vec![("WIDTH", Param::Int((width * beats) as i64))],
        &[],
        (width * beats, 8),
        &frames,
        bytes.len(),
    );
    assert_eq!(bytes_out, bytes);
}

/// A residual block's skeleton: the input forks to an `xnorc_affine` path and a shortcut of
/// `fifos` FIFOs of `depth` beats, joined by `xnorc_add` — random signed maps, per-channel
/// parameters of both signs (PReLU slopes, shifts before the multiply, biases), saturation on
/// both ops, the affine's shift flooring or rounding half to even, under random stalls and
/// backpressure, against the formulas of docs/semantics.md written out here.
fn residual_block_case(seed: u64, fifos: usize, depth: usize, half_even: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (c, elems, pixels, frames) = (6, 2, 10, 2);
    let (in_bits, param_bits, acc_bits, shift) = (6, 6, 20, 3);
    let (aff_bits, out_bits, sum_bits) = (5usize, 6usize, 9usize);
    let per_channel = |rng: &mut ChaCha8Rng, lo: i64, hi: i64| -> Vec<i64> {
        (0..c).map(|_| rng.gen_range(lo..=hi)).collect()
    };
    let mul = per_channel(&mut rng, -20, 20);
    let neg_mul = per_channel(&mut rng, -20, 20);
    let pre = per_channel(&mut rng, -8, 8);
    let bias = per_channel(&mut rng, -64, 64);
    let clamp = |v: i64, bits: usize| v.clamp(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
    let x: Vec<i64> = (0..frames * pixels * c)
        .map(|_| rng.gen_range(-32..32))
        .collect();
    let want_values: Vec<i64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i % c;
            let t = v + pre[ch];
            let u = if t >= 0 { mul[ch] } else { neg_mul[ch] } * t + bias[ch];
            // Floor division by 2^shift, written as such; half to even compares twice the
            // remainder with the divisor.
            let (q, rem) = (u.div_euclid(1 << shift), u.rem_euclid(1 << shift));
            let q = match (half_even, (2 * rem).cmp(&(1 << shift))) {
                (false, _) | (true, std::cmp::Ordering::Less) => q,
                (true, std::cmp::Ordering::Greater) => q + 1,
                (true, std::cmp::Ordering::Equal) => q + q.rem_euclid(2),
            };
            let y = clamp(q, aff_bits);
            clamp(2 * y + v, out_bits)
        })
        .collect();
    let beats = |values: &[i64], bits: usize| -> Vec<Beat> {
        values
            .chunks(elems)
            .map(|e| e.iter().flat_map(|&v| bits_of(v, bits)).collect())
            .collect()
    };
    let mut m = Module::new("tb_wrapped");
    for (name, width) in [("clk", 1), ("rst", 1), ("in_valid", 1), ("out_ready", 1)] {
        m.input(name, width);
    }
    m.input("in_data", elems * in_bits);
    m.output("in_ready", 1);
    m.output("out_valid", 1);
    m.output("out_data", elems * out_bits);
    let stream = |m: &mut Module, name: &str, width: usize| {
        m.wire(&format!("{name}_valid"), 1);
        m.wire(&format!("{name}_ready"), 1);
        m.wire(&format!("{name}_data"), width);
    };
    stream(&mut m, "main", elems * in_bits);
    stream(&mut m, "short", elems * in_bits);
    stream(&mut m, "scaled", elems * aff_bits);
    for f in 0..fifos {
        stream(&mut m, &format!("delayed{f}"), elems * in_bits);
    }
    let ports = |pairs: &[(&str, &str)]| -> Vec<(String, xnorc_rtl::verilog::Expr)> {
        pairs.iter().map(|(p, w)| (p.to_string(), r(*w))).collect()
    };
    let link = |port: &str, wire: &str| -> Vec<(String, String)> {
        ["valid", "ready", "data"]
            .iter()
            .map(|k| (format!("{port}_{k}"), format!("{wire}_{k}")))
            .collect()
    };
    let instance =
        |module: &str, name: &str, params: Vec<(&str, Param)>, links: Vec<(String, String)>| {
            let mut all: Vec<(&str, &str)> = vec![("clk", "clk"), ("rst", "rst")];
            all.extend(links.iter().map(|(p, w)| (p.as_str(), w.as_str())));
            Instance {
                module: module.into(),
                name: name.into(),
                comment: Vec::new(),
                params: params.into_iter().map(|(p, v)| (p.into(), v)).collect(),
                ports: ports(&all),
            }
        };
    let i = |v: usize| Param::int(v);
    m.instance(instance(
        "xnorc_fork",
        "duplicate",
        vec![("WIDTH", i(elems * in_bits))],
        [
            link("in", "in"),
            link("out0", "main"),
            link("out1", "short"),
        ]
        .concat(),
    ));
    m.instance(instance(
        "xnorc_affine",
        "rescale",
        vec![
            ("C", i(c)),
            ("ELEMS", i(elems)),
            ("IN_BITS", i(in_bits)),
            ("IN_SIGNED", Param::flag(true)),
            ("OUT_BITS", i(aff_bits)),
            ("SAT_BITS", i(aff_bits)),
            ("PARAM_BITS", i(param_bits)),
            ("ACC_BITS", i(acc_bits)),
            ("SHIFT", i(shift)),
            ("ROUND_HALF_EVEN", Param::flag(half_even)),
            ("MUL", Param::Fields(param_bits, mul.clone())),
            ("NEG_MUL", Param::Fields(param_bits, neg_mul.clone())),
            ("PRE_BITS", i(acc_bits)),
            ("BIAS_BITS", i(8)),
            ("PRE", Param::Fields(acc_bits, pre.clone())),
            ("BIAS", Param::Fields(8, bias.clone())),
        ],
        [link("in", "main"), link("out", "scaled")].concat(),
    ));
    for f in 0..fifos {
        let from = if f == 0 {
            "short".to_string()
        } else {
            format!("delayed{}", f - 1)
        };
        m.instance(instance(
            "xnorc_fifo",
            &format!("shortcut{f}"),
            vec![("WIDTH", i(elems * in_bits)), ("DEPTH", i(depth))],
            [link("in", &from), link("out", &format!("delayed{f}"))].concat(),
        ));
    }
    let delayed = format!("delayed{}", fifos - 1);
    m.instance(instance(
        "xnorc_add",
        "merge",
        vec![
            ("ELEMS", i(elems)),
            ("A_BITS", i(aff_bits)),
            ("B_BITS", i(in_bits)),
            ("SHIFT_A", i(1)),
            ("SUM_BITS", i(sum_bits)),
            ("OUT_BITS", i(out_bits)),
            ("SAT_BITS", i(out_bits)),
        ],
        [link("a", "scaled"), link("b", &delayed), link("out", "out")].concat(),
    ));
    let wrapper = format!(
        "`default_nettype none\n{}`default_nettype wire\n",
        m.render()
    );
    let input = beats(&x, in_bits);
    let want = beats(&want_values, out_bits);
    let out = run_wrapped(
        &wrapper,
        &["xnorc_fork", "xnorc_affine", "xnorc_fifo", "xnorc_add"],
        (elems * in_bits, elems * out_bits),
        &input,
        want.len(),
    );
    let got: Vec<i64> = out
        .iter()
        .flat_map(|b| (0..elems).map(move |e| value_of(field(b, e, out_bits), true)))
        .collect();
    assert_eq!(got, want_values, "{fifos} FIFOs of {depth} on the shortcut");
}

#[test]
fn fork_affine_and_add_join_a_residual_block() {
    // A one-beat shortcut that is often full (the fork must wait for it), and a slower
    // two-FIFO shortcut (the join must wait for it while the affine's beat is ready).
    residual_block_case(20, 1, 1, false);
    residual_block_case(21, 2, 4, true);
}

#[test]
fn parameter_limits_stop_elaboration() {
    require_tool("verilator");
    // A window generator whose line buffer is not a power of two, an MVU whose weight word
    // does not hold PE·SIMD bits, a join whose sum register cannot hold a shifted operand and
    // an affine whose arithmetic is narrower than its input: each module's own check names
    // the problem.
    for (module, params, message) in [
        (
            "xnorc_swg",
            "#(.H(4), .W(4), .KH(3), .KW(3), .OUT_H(2), .OUT_W(2), .ROWS(6))",
            "ROWS must be a power of two",
        ),
        (
            "xnorc_mvu",
            "#(.PE(2), .SIMD(2), .WEIGHT_WORD(3), .WEIGHTS_FILE(\"w.hex\"), .OUT_BITS(2))",
            "WEIGHT_WORD must be",
        ),
        (
            "xnorc_rom",
            "#(.REGISTERED(4))",
            "REGISTERED must be 0, 1, 2 or 3",
        ),
        (
            "xnorc_mvu",
            "#(.PE(2), .SIMD(2), .WEIGHT_WORD(4), .WEIGHTS_FILE(\"w.hex\"), .OUT_BITS(2), \
             .BCAST_REG(1))",
            "BCAST_REG must be 0, or 1 with MEM_REG = 1",
        ),
        (
            "xnorc_rom",
            "#(.WIDTH(64001), .DEPTH(2), .REGISTERED(2), .STYLE(\"logic\"))",
            "at most 1000 slices",
        ),
        (
            "xnorc_add",
            "#(.A_BITS(8), .SHIFT_A(2), .SUM_BITS(10))",
            "needs SUM_BITS > A_BITS + SHIFT_A",
        ),
        (
            "xnorc_affine",
            "#(.IN_BITS(8), .ACC_BITS(8))",
            "IN_BITS < ACC_BITS",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in xnorc_rtl::library::files_for([module]) {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        std::fs::write(dir.path().join("w.hex"), "0\n").unwrap();
        std::fs::write(
            dir.path().join("bad.v"),
            format!("module bad; {module} {params} dut (); endmodule\n"),
        )
        .unwrap();
        let out = std::process::Command::new("verilator")
            .current_dir(dir.path())
            .args(["--lint-only", "-Wno-PINMISSING", "--top-module", "bad"])
            .args(
                std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "v")),
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{module}: elaborated with {params}");
        assert!(stderr.contains(message), "{module}: {stderr}");
    }
}
