//! `xnorc build`: model → verified core → board shell → yosys → nextpnr → bitstream
//! (`xnorc_bitstream`), and the report as a table or report.json.

use super::layer_table;
use crate::errors::CliError;
use crate::progress::Terminal;
use std::path::PathBuf;
use xnorc_bitstream::report::BuildReport;
use xnorc_bitstream::Options;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.xnm, or .onnx imported on the way).
    pub model: PathBuf,
    /// Board name (`xnorc boards`) or a board file.
    #[arg(long)]
    pub board: String,
    /// Folding file; without it the folding is chosen to fit the board's device.
    #[arg(long)]
    pub folding: Option<PathBuf>,
    /// LUT4 budget for the automatic folding (default: chosen for the device).
    #[arg(long, value_parser = super::at_least_one())]
    pub lut_budget: Option<usize>,
    /// Output directory (default: build/<board>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Core clock to ask of the PLL, in MHz. Without it xnorc aims at the family's goal and, if
    /// place and route misses it, builds once more at the frequency it reached.
    #[arg(long)]
    pub clock_mhz: Option<f64>,
    /// nextpnr's placer seed (the first placement's).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Placements to try, seeds --seed, --seed + 1, …: the first that meets the clock is kept,
    /// else the fastest. Placement moves Fmax by several percent between seeds. Default: 4 on
    /// iCE40 (a placement takes seconds there), 1 on ECP5.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=16))]
    pub placements: Option<u64>,
    /// Print report.json instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let built = xnorc_bitstream::build(
        &Options {
            model: args.model.clone(),
            board: args.board.clone(),
            folding: args.folding.clone(),
            lut_budget: args.lut_budget,
            out: args.out.clone(),
            clock_mhz: args.clock_mhz,
            seed: args.seed,
            placements: args.placements,
        },
        &Terminal::new(),
    )?;
    if args.json {
        print!("{}", built.report_json);
    } else {
        print_report(&built.report);
    }
    match built.timing_error() {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn print_report(r: &BuildReport) {
    let d = &r.device;
    let pct = |u: u64, a: u64| {
        let (u, a) = (u as f64, a as f64);
        format!("{:>7} / {:<7} {:>5.1}%", u, a, 100.0 * u / a.max(1.0))
    };
    println!("board {} ({} {} {})", r.board, d.family, d.part, d.package);
    let est = &r.estimate;
    let off = |e: usize, used: u64| 100.0 * (e as f64 - used as f64) / (used as f64).max(1.0);
    println!(
        "  logic cells {}  (estimated {}, {:+.0}%)",
        pct(r.luts, d.luts),
        est.logic_cells,
        off(est.logic_cells, r.luts)
    );
    println!(
        "  LUT4        {:>7}  (yosys, before packing; estimated {}, {:+.0}%)",
        r.synth.luts,
        est.total.luts,
        off(est.total.luts, r.synth.luts)
    );
    println!(
        "  FF          {}  (estimated {}, {:+.0}%)",
        pct(r.ffs, d.ffs),
        est.total.ffs,
        off(est.total.ffs, r.ffs)
    );
    println!("  block RAM   {}", pct(r.ram_blocks, d.ram_blocks));
    println!("  DSP         {}", pct(r.dsps, d.dsps));
    let met = if r.timing_met { "met" } else { "NOT MET" };
    println!(
        "  Fmax        {:.2} MHz (clock {:.3} MHz: timing {met})",
        r.fmax_mhz, r.clock_mhz
    );
    if r.placements.len() > 1 {
        let tried: Vec<String> = r
            .placements
            .iter()
            .map(|p| format!("{}: {:.2}", p.seed, p.fmax_mhz.unwrap_or(0.0)))
            .collect();
        println!(
            "  placements  seed {} kept; Fmax by seed (MHz) {}",
            r.pnr_seed,
            tried.join(", ")
        );
    }
    println!(
        "  throughput  {:.0} frames/s at the {:.3} MHz clock; II {} cycles ({:.0} at Fmax)",
        r.frames_per_second, r.clock_mhz, r.ii_cycles, r.frames_per_second_at_fmax
    );
    println!(
        "  latency     {} cycles ({:.2} µs)",
        r.latency_cycles, r.latency_us
    );
    let f = &r.fit;
    println!(
        "  lanes       {} of the device's ≈{} ({:.0}%); the II is {} cycles, set by {} ({} cycles a frame)",
        f.lanes,
        f.lane_bound,
        100.0 * f.lanes as f64 / f.lane_bound.max(1) as f64,
        r.ii_cycles,
        f.bottleneck,
        f.bottleneck_cycles
    );
    let u = &r.uart;
    println!(
        "  host link   {} baud ({}{} clocks a bit, {:+.2}%): {:.0} frames/s on the line, {:.0} end to end (`xnorc run --baud {}`)",
        u.baud,
        u.bridge.as_deref().map_or(String::new(), |b| format!("{b}, ")),
        u.clocks_per_bit,
        100.0 * u.rate_error,
        u.link_frames_per_second,
        u.end_to_end_frames_per_second,
        u.baud
    );
    println!(
        "  bitstream   {} ({} bytes)",
        r.bitstream, r.bitstream_bytes
    );
    let times: Vec<String> = r
        .steps
        .iter()
        .map(|s| format!("{} {:.1} s", s.step, s.seconds))
        .collect();
    println!(
        "  tools       {}; total {:.1} s",
        times.join(", "),
        r.total_seconds
    );
    println!();
    let rows: Vec<layer_table::Row> = r
        .layers
        .iter()
        .map(|l| layer_table::Row {
            instance: &l.instance,
            kind: &l.kind,
            layer: &l.layer,
            estimate: l.estimate,
            measured: Some(l.measured),
        })
        .collect();
    layer_table::print(&rows);
}
