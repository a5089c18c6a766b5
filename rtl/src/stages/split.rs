//! The split threshold stage of a layer with split channels (`xnorc_split_threshold`).

use super::{Context, StageInstance};
use crate::images::{bound_bits, hex_words};
use crate::verilog::{clog2, Param};
use xnorc_plan::split::{ProbeKey, SplitThreshold};
use xnorc_plan::Stage;

/// The split threshold stage of stage `s` named `name`.
pub(super) fn split_threshold(
    ctx: &Context<'_>,
    name: &str,
    s: &Stage,
    st: &SplitThreshold,
) -> StageInstance {
    let a = st.acc_bits as usize;
    assert!(
        s.output.width() == st.o && !st.split.is_empty(),
        "generator bug: a split threshold stage emits every channel's bit and splits some"
    );
    let total = st.table_entries();
    let aw = clog2(total);
    // Each table's entry for key k is at base + k − key_min, modulo 2^aw (the true address
    // is below it, so the key is only needed modulo 2^aw).
    let mut offsets = Vec::with_capacity(st.split.len());
    let mut tables = Vec::with_capacity(total);
    let mut base = 0usize;
    for sc in &st.split {
        offsets.push((base as i128 - i128::from(sc.key_min)).rem_euclid(1 << aw) as i64);
        tables.extend(sc.table.iter().map(|&t| bound_bits(t, sc.ge, a)));
        base += sc.table.len();
    }
    let thresholds = (0..st.o).map(|c| {
        let mut w = bound_bits(st.thresholds[c], st.ge[c], a);
        w.push(st.ge[c]);
        w
    });
    let field = |f: &dyn Fn(&xnorc_plan::split::SplitChannel) -> i64| {
        st.split.iter().map(f).collect::<Vec<_>>()
    };
    let key = |k: ProbeKey| match k {
        ProbeKey::Difference => 0,
        ProbeKey::HalfDifference => 1,
        ProbeKey::Probe => 2,
    };
    let (thr_file, table_file) = (ctx.image(name, "thresholds"), ctx.image(name, "tables"));
    StageInstance {
        module: "xnorc_split_threshold",
        summary: vec![format!(
            "Split threshold: {} channels, {} on split partial sums, {} accumulators ({a} \
             bits) per vector",
            st.o,
            st.split.len(),
            st.rows
        )],
        params: vec![
            ("O", Param::int(st.o)),
            ("ROWS", Param::int(st.rows)),
            ("ACC_W", Param::int(a)),
            ("IN_W", Param::int(s.input.width())),
            ("THRESHOLDS_FILE", Param::Str(thr_file.clone())),
            ("TABLES_FILE", Param::Str(table_file.clone())),
            ("TABLE_DEPTH", Param::int(total)),
            ("SPLITS", Param::int(st.split.len())),
            (
                "SPLIT_CHANNEL",
                Param::Fields(32, field(&|sc| sc.channel as i64)),
            ),
            (
                "SPLIT_PROBE_ROW",
                Param::Fields(32, field(&|sc| sc.probe_row as i64)),
            ),
            ("SPLIT_KEY", Param::Fields(2, field(&|sc| key(sc.key)))),
            ("SPLIT_OFFSET", Param::Fields(32, offsets)),
            ("SPLIT_GE", Param::Fields(1, field(&|sc| i64::from(sc.ge)))),
        ],
        files: vec![
            (thr_file, hex_words(thresholds)),
            (table_file, hex_words(tables.into_iter())),
        ],
    }
}
