//! The worked example in docs/model-format.md loads and computes what the page derives by hand.

mod common;

use xnorc_compiler::{format, passes};
use xnorc_sim::{Frames, Simulator};

/// The docs' JSON block whose text contains `marker`, loaded.
fn example(marker: &str) -> format::ModelFile {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/model-format.md"))
        .unwrap();
    let block = doc
        .split("```json\n")
        .filter_map(|s| s.split("```").next())
        .find(|s| s.contains(marker))
        .expect("the example's JSON block");
    format::parse(block.as_bytes()).unwrap()
}

#[test]
fn worked_example_from_the_docs() {
    let model = example("worked-example");
    let sim = Simulator::new(passes::lower(&model).unwrap()).unwrap();
    let r = sim.run(Frames::U8(&[1, 1, 0, 1])).unwrap();
    assert_eq!(r.scores, vec![0, 2]);
    assert_eq!(r.argmax, vec![1]);
}

#[test]
fn sub_bit_example_from_the_docs() {
    let model = example("subbit-example");
    let sim = Simulator::new(passes::lower(&model).unwrap()).unwrap();
    let r = sim.run(Frames::U8(&[1, 1, 0, 1, 0, 1, 0, 1, 1])).unwrap();
    assert_eq!(r.scores, vec![2, -2, 0]);
    assert_eq!(r.argmax, vec![0]);
}

#[test]
fn residual_example_from_the_docs() {
    let model = example("residual-example");
    let sim = Simulator::new(passes::lower(&model).unwrap()).unwrap();
    let r = sim.run(Frames::I8(&[5, -3, 2, 7])).unwrap();
    assert_eq!(r.scores, vec![24, -16]);
    assert_eq!(r.argmax, vec![0]);
    // Saturation is what made 10 a 7 in `r`: the derivation's middle step.
    let trace = sim.trace(Frames::I8(&[5, -3, 2, 7])).unwrap();
    let r_node = trace
        .iter()
        .find(|v| sim.graph().node(v.node).name == "r")
        .unwrap();
    assert_eq!(r_node.values, vec![-4, 6, 7, -3]);
}

/// docs/uart-protocol.md's worked figures for the bundled TFC are the link's: its frame sizes,
/// and the line rates the bundled boards' bridges get at the clocks named.
#[test]
fn uart_example_from_the_docs() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/uart-protocol.md"
    ))
    .unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/tfc_w1a1_mnist.onnx");
    let graph = xnorc_compiler::load::load_graph(std::path::Path::new(model)).unwrap();
    let plan = xnorc_plan::plan(&graph, &Default::default()).unwrap();
    let at = |board: &str, mhz: f64| {
        let b = xnorc_boards::board::find(board).unwrap();
        let rate = xnorc_boards::line_rate(&b.uart, mhz * 1e6).unwrap();
        (
            rate,
            xnorc_rtl::write::link_params(&plan, mhz, rate.clocks_per_bit),
        )
    };
    let (_, link) = at("icebreaker", 48.0);
    let (n, m) = (link.request_bytes, link.response_bytes);
    let claim = format!("is {n} + 3 bytes in and {m} + 4 out");
    assert!(doc.contains(&claim), "the doc does not say {claim:?}");
    let bytes = f64::from(xnorc_rtl::shell::line_bytes_per_frame(&link));
    assert!(doc.contains(&format!("costs {bytes} byte times on the line")));
    // 10 bits a byte at 115,200 baud.
    let ms = bytes * 10.0 / 115_200.0 * 1e3;
    let claim = format!(
        "at 115,200 baud, {ms:.1} ms a frame, {:.0} frames/s",
        1e3 / ms
    );
    assert!(doc.contains(&claim), "the doc does not say {claim:?}");
    // The bridges' rates, timed by the FPGA's clock.
    for (board, mhz, says) in [
        (
            "icebreaker",
            45.0,
            "5.65 Mbaud (FT2232H, 45 MHz core clock)",
        ),
        ("ulx3s-25f", 48.0, "3 Mbaud (FT231X, 48 MHz)"),
    ] {
        let (rate, _) = at(board, mhz);
        let per_frame = bytes * 10.0 * f64::from(rate.clocks_per_bit) / mhz;
        let mbaud = f64::from(rate.baud) / 1e6;
        assert!(
            says.starts_with(&format!("{mbaud:.2}")) || says.starts_with(&format!("{mbaud} ")),
            "{board}: {mbaud}"
        );
        let claim = format!(
            "{says}, {per_frame:.0} µs, {} frames/s",
            thousands(1e6 / per_frame)
        );
        assert!(doc.contains(&claim), "the doc does not say {claim:?}");
    }
}

/// `n` rounded, with thousands separated by commas.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The README's table of commands lists every command `xnorc --help` has, each with every long
/// option its own `--help` lists.
#[test]
fn readme_lists_every_command_with_its_options() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let help = common::ok(&["--help"]);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 14, "{commands:?}");
    for command in commands {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `xnorc {command}` |")))
            .unwrap_or_else(|| panic!("README has no row for `xnorc {command}`"));
        let options = common::ok(&[command, "--help"]);
        for option in options
            .split_whitespace()
            .filter(|w| w.starts_with("--") && *w != "--help")
            .map(|w| w.trim_end_matches([',', '.', ')', ':', '`']))
            .filter(|w| w.len() > 2 && w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        {
            assert!(
                row.contains(&format!("`{option}`")) || row.contains(&format!("/{option}`")),
                "README's row for `xnorc {command}` does not list {option}"
            );
        }
    }
}
