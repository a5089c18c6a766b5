//! The analytical cycle model: a cycle-stepped model of the pipeline's handshake control.
//!
//! Every component of the generated RTL (FIFO, width converter, MVU, scores stage) decides
//! `ready`, `valid` and its next state from the same few counters this model keeps; the model
//! steps them cycle by cycle without touching data. It therefore predicts the exact cycle of
//! every output beat of a stall-free run, which `xnorc verify` compares with Verilator's
//! measurement, and it sizes the buffers: each FIFO (each MVU output queue) gets the smallest
//! size (≥ 2; ≥ 1) that leaves every output time of an 8-frame back-to-back run unchanged
//! compared with buffers of two frames each — throughput and latency are then exactly those of
//! unbounded buffering, at the least memory.
//!
//! Modules, in dependency order: the components ([`components`]), their control state
//! ([`state`]), one cycle of one component ([`step`]), quiet stretches ([`quiet`]), the run
//! ([`cycles`]), runs recorded with checkpoints to resume from (`recorded`) and the buffer
//! sizing ([`sizing`]).

pub mod components;
pub mod cycles;
mod quiet;
mod recorded;
pub mod sizing;
mod state;
mod step;

pub use components::{
    chain_sources, is_chain, scan_period, scores_depth, swg_available, swg_write_ok, Component,
    Source, SwgState, WindowGeometry,
};
pub use cycles::{simulate, simulate_graph, Timing};
pub use sizing::{buffers, size_fifos, SIZING_FRAMES};

#[cfg(test)]
mod tests {
    use super::cycles::run;
    use super::sizing::{buffer, generous, least};
    use super::*;
    use xnorc_compiler::progress::Silent;

    fn mvu(nf: usize, sf: usize, r: usize) -> Component {
        Component::Mvu {
            nf,
            sf,
            tree_registers: r,
            operand_registers: 2,
            stage: 0,
            queue: 2,
        }
    }

    fn fifo() -> Component {
        Component::Fifo { depth: 2, beats: 4 }
    }

    #[test]
    fn scanning_scores_by_hand() {
        // A FIFO, then scores scanning 3 classes. Frame 0's beat, written at 0, is taken at 1;
        // the scan works in 2..=9 (load, fetch, compare/select × 3) and the beat is valid at
        // 10, taken at once. The stage takes frame 1 at 11 (its flags fall at the end of 10),
        // frame 2 at 21: a frame every 2·3 + 4 cycles. The FIFO takes beats 0, 1, 2 at once.
        let c = vec![
            fifo(),
            Component::Scores {
                stage: 1,
                depth: 1,
                scan: Some(3),
            },
        ];
        let t = simulate(&c, 1, 3);
        assert_eq!(t.input_cycles, vec![0, 1, 2]);
        assert_eq!(t.output_cycles, vec![10, 20, 30]);
        assert_eq!(t.ii() as usize, scan_period(3));
        // The same without skipping quiet cycles.
        let stepped = run(&c, &chain_sources(c.len()), 1, 3, false, None).unwrap();
        assert_eq!(stepped.output_cycles, t.output_cycles);
    }

    #[test]
    fn single_mvu_latency_and_ii_by_hand() {
        // Input FIFO, MVU (NF 2, SF 3, 1 tree register), up-converter 2:1, FIFO, scores.
        // Beat j accepted at cycle j, visible to the MVU at j + 1: ops (0,0..2) issue at 1, 2, 3
        // and (1,0..2) at 4, 5, 6. A pass's last op issued at t passes the operand register
        // (end of t), the second operand register (t + 1), the tree register (t + 2), the
        // accumulator (t + 3), the compare's result register (t + 4) and the queue (t + 5),
        // visible at t + 6: beats at 9 and 12. The converter completes at 12 → visible 13; the
        // FIFO shows it at 14; scores (2 classes: depth 2): affine register at the end of 14,
        // argmax register at the end of 15, visible at 16. The queue's credits are claimed at
        // 3 and 6; the first comes back the cycle after the beat visible at 9 leaves (at once:
        // the converter is empty), at the end of 10.
        let mut c = vec![
            fifo(),
            mvu(2, 3, 1),
            Component::DwcUp { ratio: 2 },
            fifo(),
            Component::Scores {
                stage: 1,
                depth: 2,
                scan: None,
            },
        ];
        let t = simulate(&c, 3, 1);
        assert_eq!(t.input_cycles, vec![0, 1, 2]);
        assert_eq!(t.output_cycles, vec![16]);
        assert_eq!(t.latency(), 16);
        // With one operand register every beat is a cycle earlier: 15.
        let mut single = c.clone();
        if let Component::Mvu {
            operand_registers, ..
        } = &mut single[1]
        {
            *operand_registers = 1;
        }
        assert_eq!(simulate(&single, 3, 1).output_cycles, vec![15]);
        // Back to back the MVU issues one op per cycle: 6 cycles per frame.
        let t = size_fifos(&mut c, &chain_sources(5), 3, &Silent);
        assert_eq!(t.ii(), 6);
        // One credit: claimed at 3, usable again in cycle 11 (the beat visible at 9 leaves at
        // 9, and its credit returns through a register at the end of 10), so the second
        // pass's last op waits from 6 to 11, its beat shows at 17 instead of 12 and the
        // converter's at 18.
        let one = vec![
            fifo(),
            Component::Mvu {
                nf: 2,
                sf: 3,
                tree_registers: 1,
                operand_registers: 2,
                stage: 0,
                queue: 1,
            },
            Component::DwcUp { ratio: 2 },
        ];
        let t = simulate(&one, 3, 1);
        assert_eq!(t.output_cycles, vec![18]);
        // Which is why sizing gives this queue three entries: back to back a credit is held 8
        // cycles (claimed at t, usable again at t + 8) and a pass lasts 3, so the claim at
        // t + 6 needs a third, and the one at t + 9 takes the first back.
        assert!(
            matches!(c[1], Component::Mvu { queue: 3, .. }),
            "{:?}",
            c[1]
        );
    }

    #[test]
    fn a_padding_that_emits_before_its_input_has_latency_zero() {
        // Input FIFO, then a channel padding with two zero beats before each pixel's own: they
        // load in cycles 0 and 1 and leave in 1 and 2, so the FIFO's first beat (in at 0,
        // shown from 1) is taken at 2, a cycle after the first output beat.
        let c = vec![
            fifo(),
            Component::PadChannels {
                stage: 0,
                before: 2,
                own: 1,
                after: 0,
            },
        ];
        // (The run counts the core's output beats: three are the first pixel's.)
        let t = simulate(&c, 1, 3);
        assert_eq!(t.first_beats[1], (Some(2), Some(1)));
        assert_eq!(t.component_latency(1), Some(0));
    }

    /// The skipping run against stepping every cycle, on the pipelines of real plans (presets
    /// of every stage kind, serial and wide foldings) with their buffers as sized, as generous
    /// as sizing starts them, and at their least (queues out of credits, FIFOs full).
    #[test]
    fn skipping_quiet_cycles_changes_nothing() {
        use crate::folding::FoldingFile;
        let mut runs = 0;
        // (Stepping a serial cnv-small costs seconds: one of them is enough.)
        let wide = [Some(6), None];
        let all = [Some(1), Some(6), None];
        for (preset, seed, budgets) in [
            ("all-ops", 1, &all[..]),
            ("tfc", 2, &all),
            ("tfc-tiled", 3, &all),
            ("cnv-small-codebook", 4, &wide),
            ("cnv-small-tiled", 5, &all),
        ] {
            let model = xnorc_compiler::presets::find(preset)
                .unwrap()
                .generate(seed);
            let graph = xnorc_compiler::passes::lower(&model).unwrap();
            for &budget in budgets {
                let folding = FoldingFile {
                    lane_budget: budget,
                    ..Default::default()
                };
                let plan = crate::stages::plan(&graph, &folding).unwrap();
                let beats = plan.stages[0].input.beats;
                let sized = plan.pipeline.clone();
                let resized = |size: fn(&Component) -> usize| {
                    let mut p = sized.clone();
                    for c in p.iter_mut() {
                        let s = size(c);
                        if let Some(b) = buffer(c) {
                            *b = s;
                        }
                    }
                    p
                };
                for pipeline in [sized.clone(), resized(generous), resized(least)] {
                    // Timing's equality covers the buffers' needs and first beats too.
                    let sources = chain_sources(pipeline.len());
                    let skipped = run(&pipeline, &sources, beats, 2, true, None);
                    let stepped = run(&pipeline, &sources, beats, 2, false, None);
                    assert_eq!(skipped, stepped, "{preset} budget {budget:?}");
                    runs += 1;
                }
            }
        }
        assert_eq!(runs, 42);
    }

    /// Sizing with checkpointed runs (candidates resumed where they first differ, stopped where
    /// they rejoin) against every candidate run from reset: the same sizes and the same timing,
    /// on plans with forks and joins, frame buffers and serial foldings.
    #[test]
    fn checkpoints_change_no_size() {
        use crate::folding::FoldingFile;
        let mut compared = 0;
        for (preset, seed, budget) in [
            ("tiny-residual", 1, None),
            ("tiny-residual", 2, Some(1)),
            ("resnet-mini", 3, None),
            ("tfc", 4, Some(1)),
            ("cnv-small", 4, None),
            ("all-ops", 5, None),
        ] {
            let model = xnorc_compiler::presets::find(preset)
                .unwrap()
                .generate(seed);
            let graph = xnorc_compiler::passes::lower(&model).unwrap();
            let folding = FoldingFile {
                lane_budget: budget,
                ..Default::default()
            };
            let plan = crate::stages::plan(&graph, &folding).unwrap();
            let beats = plan.stages[0].input.beats;
            let mut from_reset = plan.pipeline.clone();
            let mut resumed = plan.pipeline.clone();
            let a = sizing::size_fifos_with(&mut from_reset, &plan.sources, beats, 1, &Silent);
            let b = sizing::size_fifos_with(&mut resumed, &plan.sources, beats, 64, &Silent);
            assert_eq!(a, b, "{preset}");
            assert_eq!(
                format!("{from_reset:?}"),
                format!("{resumed:?}"),
                "{preset}"
            );
            compared += 1;
        }
        assert_eq!(compared, 6);
    }

    #[test]
    fn responses_stage_by_hand() {
        // Three taps per channel block, two blocks: input beats in cycles 0–5; the beat
        // completing a group (cycles 2 and 5) is registered, so the outputs show in 3 and 6.
        // (A frame here is one group of three beats.)
        let c = [Component::Responses { stage: 0, ratio: 3 }];
        let t = simulate(&c, 3, 2);
        assert_eq!(t.input_cycles, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(t.output_cycles, vec![3, 6]);
    }

    #[test]
    fn sliding_window_by_hand() {
        // 2×2 map, one beat per pixel, 1×1 kernel, stride 1, no padding, 2-row buffer.
        // Pixel (0,0) is written in cycle 0, so its window is available in cycle 1 and the
        // registered output shows in cycle 2; each later pixel follows one cycle behind. The
        // next frame's row 0 (cycle 4) fits once the read side is on row 1 (first needed row 1,
        // 2 + 0 < 1 + 2).
        let g = WindowGeometry {
            cb: 1,
            h: 2,
            w: 2,
            kh: 1,
            kw: 1,
            stride: 1,
            pad_top: 0,
            pad_left: 0,
            out_h: 2,
            out_w: 2,
            rows: 2,
            channel_blocks_outer: false,
        };
        let t = simulate(
            &[Component::Swg {
                stage: 0,
                geometry: g,
            }],
            4,
            4,
        );
        assert_eq!(t.output_cycles, vec![2, 3, 4, 5]);
        assert_eq!(&t.input_cycles[..5], &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_buffer_at_its_need_reproduces_the_run() {
        // A TFC-like chain whose fc4 input FIFO sees a write and a read in the same cycle when
        // full: its need must count that write. The SF = 1 units hold several credits at once.
        let chain = |d: usize| {
            vec![
                Component::Fifo {
                    depth: 32,
                    beats: 16,
                },
                mvu(4, 16, 6),
                Component::DwcUp { ratio: 4 },
                Component::Fifo { depth: 2, beats: 1 },
                mvu(64, 1, 6),
                Component::DwcUp { ratio: 64 },
                Component::Fifo { depth: 2, beats: 1 },
                mvu(64, 1, 6),
                Component::DwcUp { ratio: 2 },
                Component::Fifo {
                    depth: d,
                    beats: 32,
                },
                mvu(2, 32, 1),
                Component::DwcUp { ratio: 2 },
                Component::Fifo { depth: 2, beats: 1 },
                Component::Scores {
                    stage: 4,
                    depth: 2,
                    scan: None,
                },
            ]
        };
        let roomy = || {
            let mut c = chain(64);
            for unit in c.iter_mut() {
                if let Component::Mvu { queue, .. } = unit {
                    *queue = 64;
                }
            }
            c
        };
        let generous = simulate(&roomy(), 16, SIZING_FRAMES);
        let mut multi_credit = 0;
        for i in 0..roomy().len() {
            let mut sized = roomy();
            let Some(size) = buffer(&mut sized[i]) else {
                continue;
            };
            *size = generous.occupancy[i].max(1);
            if matches!(sized[i], Component::Mvu { queue, .. } if queue > 1) {
                multi_credit += 1;
            }
            let t = simulate(&sized, 16, SIZING_FRAMES);
            assert_eq!(t.output_cycles, generous.output_cycles, "buffer {i}");
            assert_eq!(t.input_cycles, generous.input_cycles, "buffer {i}");
        }
        assert!(multi_credit >= 2, "the SF = 1 units need several credits");
    }

    #[test]
    fn converters_by_hand() {
        // Up 2: beats accepted at 0 and 1 → one beat visible at 2; then FIFO → 3.
        let c = vec![Component::DwcUp { ratio: 2 }, fifo()];
        let t = simulate(&c, 2, 1);
        assert_eq!(t.output_cycles, vec![3]);
        // Down 3: accepted at 0, pieces visible 1, 2, 3, through the FIFO at 2, 3, 4; the next
        // input is accepted when the last piece leaves (cycle 3).
        let c = vec![Component::DwcDown { ratio: 3 }, fifo()];
        let t = simulate(&c, 1, 2);
        assert_eq!(t.input_cycles, vec![0, 3]);
        assert_eq!(t.output_cycles.len(), 2);
    }

    /// A fork to a one-register path (port 1) and a FIFO (port 0), joined again: its timing
    /// by hand.
    #[test]
    fn fork_and_join_by_hand() {
        let c = vec![
            Component::Fork,
            fifo(),
            Component::Elementwise { stage: 0, depth: 1 },
            Component::Add { stage: 1 },
        ];
        let at = |index: usize, port: usize| Source::Component { index, port };
        let sources = vec![
            vec![Source::Input],
            vec![at(0, 0)],
            vec![at(0, 1)],
            vec![at(1, 0), at(2, 0)],
        ];
        // Beat j: both outputs take it at j (the FIFO has room, the register is free or
        // leaving); the FIFO shows it and the register holds it at j + 1, so the pair moves at
        // j + 1 and the sum is out at j + 2.
        let t = simulate_graph(&c, &sources, 1, 3);
        assert_eq!(t.input_cycles, vec![0, 1, 2]);
        assert_eq!(t.output_cycles, vec![2, 3, 4]);
    }

    /// A main path that holds a whole frame of 4 beats before its first output (collect 4,
    /// then split): the shortcut FIFO must take all 4 meanwhile, as the fork moves both
    /// together.
    fn holding_block(shortcut: usize) -> (Vec<Component>, Vec<Vec<Source>>) {
        let at = |index: usize, port: usize| Source::Component { index, port };
        (
            vec![
                Component::Fork,
                Component::DwcUp { ratio: 4 },
                Component::DwcDown { ratio: 4 },
                Component::Fifo {
                    depth: shortcut,
                    beats: 4,
                },
                Component::Add { stage: 0 },
            ],
            vec![
                vec![Source::Input],
                vec![at(0, 0)],
                vec![at(1, 0)],
                vec![at(0, 1)],
                vec![at(2, 0), at(3, 0)],
            ],
        )
    }

    #[test]
    #[should_panic(expected = "never drains")]
    fn a_short_shortcut_deadlocks_the_join() {
        let (c, sources) = holding_block(2);
        simulate_graph(&c, &sources, 4, 2);
    }

    #[test]
    fn sizing_gives_the_shortcut_what_the_join_needs() {
        let (mut c, sources) = holding_block(2);
        let t = size_fifos(&mut c, &sources, 4, &Silent);
        let Component::Fifo { depth, .. } = c[3] else {
            unreachable!()
        };
        assert!(
            depth >= 4,
            "the shortcut holds the 4 beats the main path collects"
        );
        // As fast as with two frames of buffering.
        let (roomy, _) = holding_block(8);
        let reference = simulate_graph(&roomy, &sources, 4, SIZING_FRAMES);
        assert_eq!(t.output_cycles, reference.output_cycles);
        // And one less would not do.
        let (smaller, _) = holding_block(depth - 1);
        let late =
            std::panic::catch_unwind(|| simulate_graph(&smaller, &sources, 4, SIZING_FRAMES));
        assert!(late.map_or(true, |r| r.output_cycles != reference.output_cycles));
    }
}
