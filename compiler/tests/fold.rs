//! Folding is exact: for random float epilogues (negative, tiny and zero scales, negative γ,
//! PReLU, shifts) the folded integer rule and a direct f64 evaluation agree on every S of the
//! accumulator range.

use proptest::prelude::*;
use xnorc_compiler::ir::{Arithmetic, Binarize, ChannelRule, FloatStep};
use xnorc_compiler::passes::fold::fold_channel;

/// One step in f64, written out independently of the compiler.
fn step_f64(step: &FloatStep, y: f64) -> f64 {
    match step {
        FloatStep::Mul(a) => y * a[0],
        FloatStep::Add(b) => y + b[0],
        FloatStep::Div(d) => y / d[0],
        FloatStep::BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps,
        } => (y - mean[0]) / (var[0] + eps).sqrt() * gamma[0] + beta[0],
        FloatStep::Prelu(p) => {
            if y < 0.0 {
                y * p[0]
            } else {
                y
            }
        }
    }
}

/// One step in f32 (ONNX's operation order, one rounding per operation).
fn step_f32(step: &FloatStep, y: f32) -> f32 {
    let f = |v: &[f64]| v[0] as f32;
    match step {
        FloatStep::Mul(a) => y * f(a),
        FloatStep::Add(b) => y + f(b),
        FloatStep::Div(d) => y / f(d),
        FloatStep::BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps,
        } => {
            let sd = (f(var) + *eps as f32).sqrt();
            (y - f(mean)) / sd * f(gamma) + f(beta)
        }
        FloatStep::Prelu(p) => {
            if y < 0.0 {
                y * f(p)
            } else {
                y
            }
        }
    }
}

/// The values the float model computes for S, each step's result in turn.
fn trace(steps: &[FloatStep], arithmetic: Arithmetic, s: i64) -> Vec<f64> {
    match arithmetic {
        Arithmetic::Float64 => steps
            .iter()
            .scan(s as f64, |y, st| {
                *y = step_f64(st, *y);
                Some(*y)
            })
            .collect(),
        Arithmetic::Float32 => steps
            .iter()
            .scan(s as f32, |y, st| {
                *y = step_f32(st, *y);
                Some(*y as f64)
            })
            .collect(),
    }
}

/// The float model's decision, written out independently of the compiler.
fn float_decision(steps: &[FloatStep], arithmetic: Arithmetic, s: i64) -> bool {
    trace(steps, arithmetic, s)
        .last()
        .copied()
        .unwrap_or(s as f64)
        >= 0.0
}

/// The step with every parameter rounded to float32 (a float32 epilogue's parameters).
fn to_f32_params(step: FloatStep) -> FloatStep {
    let r = |v: Vec<f64>| v.into_iter().map(|x| x as f32 as f64).collect::<Vec<_>>();
    match step {
        FloatStep::Mul(a) => FloatStep::Mul(r(a)),
        FloatStep::Add(b) => FloatStep::Add(r(b)),
        FloatStep::Div(d) => FloatStep::Div(r(d)),
        FloatStep::Prelu(p) => FloatStep::Prelu(r(p)),
        FloatStep::BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps,
        } => FloatStep::BatchNorm {
            gamma: r(gamma),
            beta: r(beta),
            mean: r(mean),
            var: r(var),
            eps: eps as f32 as f64,
        },
    }
}

/// The integer rule's decision, written out independently of `ChannelRule::apply`.
fn rule_decision(rule: &ChannelRule, s: i64) -> bool {
    match rule {
        ChannelRule::Ge(t) => s >= t[0],
        ChannelRule::Le(t) => s <= t[0],
        ChannelRule::Const(v) => *v == 1,
        ChannelRule::Split(_) => panic!("a binarize without tiled scales never folds to a split"),
    }
}

fn scale() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => -100.0..100.0f64,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => prop_oneof![Just(1e-300), Just(-1e-300), Just(5e-324), Just(1e-20)],
        1 => -1e-6..1e-6f64,
        1 => prop_oneof![Just(1e300), Just(-1e300)],
    ]
}

fn offset() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => -200.0..200.0f64,
        1 => (-200i64..200).prop_map(|v| v as f64),
        1 => (-200i64..200).prop_map(|v| v as f64 + 0.5),
        1 => Just(0.0),
    ]
}

fn step() -> impl Strategy<Value = FloatStep> {
    prop_oneof![
        scale().prop_map(|a| FloatStep::Mul(vec![a])),
        offset().prop_map(|b| FloatStep::Add(vec![b])),
        scale()
            .prop_filter("a divisor is not zero", |d| *d != 0.0)
            .prop_map(|d| FloatStep::Div(vec![d])),
        (
            scale(),
            offset(),
            offset(),
            0.0..50.0f64,
            prop_oneof![Just(0.0), Just(1e-5), Just(1e-3)]
        )
            .prop_filter("var + eps > 0", |(_, _, _, v, e)| v + e > 0.0)
            .prop_map(|(g, b, m, v, e)| FloatStep::BatchNorm {
                gamma: vec![g],
                beta: vec![b],
                mean: vec![m],
                var: vec![v],
                eps: e,
            }),
        prop_oneof![Just(0.0), 0.0..2.0f64].prop_map(|p| FloatStep::Prelu(vec![p])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn folded_rule_matches_the_float_model_on_every_accumulator_value(
        steps in prop::collection::vec(step(), 0..6),
        lo in -300i64..0,
        width in 0i64..600,
        float32 in any::<bool>(),
    ) {
        let hi = lo + width;
        let (steps, arithmetic) = if float32 {
            (steps.into_iter().map(to_f32_params).collect(), Arithmetic::Float32)
        } else {
            (steps, Arithmetic::Float64)
        };
        let valid_bn = steps.iter().all(|st| match st {
            FloatStep::BatchNorm { var, eps, .. } => match arithmetic {
                Arithmetic::Float64 => var[0] + eps > 0.0,
                Arithmetic::Float32 => var[0] as f32 + *eps as f32 > 0.0,
            },
            _ => true,
        });
        prop_assume!(valid_bn);
        let b = Binarize { scale: None, steps: steps.clone(), arithmetic };
        let Ok(rule) = fold_channel(&b, 0, lo, hi) else {
            // Rejected: then some intermediate value really is infinite at an end of the range.
            let overflows = [lo, hi]
                .iter()
                .any(|&s| trace(&steps, arithmetic, s).iter().any(|y| !y.is_finite()));
            prop_assert!(overflows, "rejected without overflow");
            return Ok(());
        };
        for s in lo..=hi {
            prop_assert_eq!(
                rule_decision(&rule, s),
                float_decision(&steps, arithmetic, s),
                "S = {} rule {:?} ({:?})", s, rule, arithmetic
            );
        }
    }
}

#[test]
fn documented_examples() {
    // XNOR-Net-style: α = 0.5, BN(γ=2, β=−1, μ=1, σ²=4, ε=0): y = (0.5·S − 1)/2·2 − 1 ≥ 0 ⇔ S ≥ 4.
    let b = Binarize {
        arithmetic: Arithmetic::Float64,
        scale: None,
        steps: vec![
            FloatStep::Mul(vec![0.5]),
            FloatStep::BatchNorm {
                gamma: vec![2.0],
                beta: vec![-1.0],
                mean: vec![1.0],
                var: vec![4.0],
                eps: 0.0,
            },
        ],
    };
    assert_eq!(
        fold_channel(&b, 0, -10, 10).unwrap(),
        ChannelRule::Ge(vec![4])
    );
    // Tie: y = S − 4 is exactly 0 at S = 4, which gives +1 (x >= 0).
    let tie = Binarize {
        arithmetic: Arithmetic::Float64,
        scale: None,
        steps: vec![FloatStep::Add(vec![-4.0])],
    };
    assert_eq!(
        fold_channel(&tie, 0, -10, 10).unwrap(),
        ChannelRule::Ge(vec![4])
    );
    // Negative scale (SiMaN α < 0): y = −2·S + 3 ≥ 0 ⇔ S ≤ 1.
    let neg = Binarize {
        arithmetic: Arithmetic::Float64,
        scale: None,
        steps: vec![FloatStep::Mul(vec![-2.0]), FloatStep::Add(vec![3.0])],
    };
    assert_eq!(
        fold_channel(&neg, 0, -10, 10).unwrap(),
        ChannelRule::Le(vec![1])
    );
    // Zero scale: constant, decided by the rest (here 0·S − 1 < 0 → bit 0).
    let zero = Binarize {
        arithmetic: Arithmetic::Float64,
        scale: None,
        steps: vec![FloatStep::Mul(vec![0.0]), FloatStep::Add(vec![-1.0])],
    };
    assert_eq!(
        fold_channel(&zero, 0, -10, 10).unwrap(),
        ChannelRule::Const(0)
    );
    // Threshold outside the range folds to a constant as well.
    let far = Binarize {
        arithmetic: Arithmetic::Float64,
        scale: None,
        steps: vec![FloatStep::Add(vec![100.0])],
    };
    assert_eq!(
        fold_channel(&far, 0, -10, 10).unwrap(),
        ChannelRule::Const(1)
    );
    // Overflowing parameters are an error, not a silent NaN decision.
    let inf = Binarize {
        arithmetic: Arithmetic::Float64,
        scale: None,
        steps: vec![FloatStep::Mul(vec![1e300]), FloatStep::Mul(vec![1e300])],
    };
    let err = fold_channel(&inf, 0, -10, 10).unwrap_err();
    assert!(err.to_string().contains("overflows f64"), "{err}");
}

/// A filter spanning chunks of different α keeps its float decision on the runs' partial sums:
/// y = α_1·S_1 + α_2·S_2 (left to right), then the steps, with ties to +1.
#[test]
fn split_channels_decide_on_partial_sums() {
    use xnorc_compiler::ir::ScaledRun;
    let run = |start, end, alpha| ScaledRun { start, end, alpha };
    let b = Binarize {
        arithmetic: Arithmetic::Float64,
        scale: Some(vec![
            vec![run(0, 6, 0.5), run(6, 8, 2.0)],
            vec![run(0, 8, 0.5)],
        ]),
        steps: vec![FloatStep::Add(vec![-1.0, -1.0])],
    };
    let ChannelRule::Split(rule) = fold_channel(&b, 0, -8, 8).unwrap() else {
        panic!("channel 0 spans two α and must stay split")
    };
    assert_eq!(rule.runs, vec![run(0, 6, 0.5), run(6, 8, 2.0)]);
    // 0.5·2 + 2·0 − 1 = 0: a tie, +1.
    assert!(rule.fires(&[2, 0]));
    // 0.5·4 + 2·(−1) − 1 = −1.
    assert!(!rule.fires(&[4, -1]));
    // Same S = −4, different decisions: 0.5·(−6) + 2·2 − 1 = 0 fires, 0.5·2 + 2·(−6) − 1 does not.
    assert!(rule.fires(&[-6, 2]));
    assert!(!rule.fires(&[2, -6]));
    // One run is an ordinary threshold: 0.5·S − 1 ≥ 0 ⇔ S ≥ 2.
    assert_eq!(
        fold_channel(&b, 1, -8, 8).unwrap(),
        ChannelRule::Ge(vec![2])
    );
}
