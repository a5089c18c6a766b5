//! xnorc's PLL divider search against the toolchain's own calculators, icepll (icestorm) and
//! ecppll (nextpnr-ecp5, from the project's .venv): for each target, the tools' closest setting
//! is found independently; whenever it does not exceed the target, xnorc's (the best one not
//! above the target) must be at least as close.

use std::process::Command;
use xnorc_boards::tools::{self, Tool};
use xnorc_boards::{Family, Pll};

/// "F_PLLOUT:   48.000 MHz (achieved)" (icepll) / "clkout0 frequency: 100 MHz" (ecppll).
fn achieved(text: &str, key: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no {key:?} in:\n{text}"));
    line.split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn check(family: Family, ref_mhz: f64, target: f64, tool_mhz: f64) {
    let ours = family.pll(ref_mhz, target).expect("a setting");
    assert!(ours.out_mhz() <= target + 1e-9, "{ours:?} above {target}");
    if tool_mhz <= target + 1e-9 {
        assert!(
            ours.out_mhz() >= tool_mhz - 1e-6,
            "{family}: {target} MHz: ours {} < tool {tool_mhz}",
            ours.out_mhz()
        );
    }
    match ours {
        Pll::Ice40 {
            divr,
            divf,
            divq,
            vco_mhz,
            ..
        } => {
            let pfd = ref_mhz / f64::from(divr + 1);
            assert!((10.0..=133.0).contains(&pfd));
            assert!((533.0..=1066.0).contains(&vco_mhz));
            assert!((vco_mhz - pfd * f64::from(divf + 1)).abs() < 1e-9);
            assert!((ours.out_mhz() - vco_mhz / f64::from(1 << divq)).abs() < 1e-9);
        }
        Pll::Ecp5 {
            clki_div,
            clkfb_div,
            clkop_div,
            vco_mhz,
            ..
        } => {
            let out = ref_mhz / f64::from(clki_div) * f64::from(clkfb_div);
            assert!((out - ours.out_mhz()).abs() < 1e-9);
            assert!((400.0..=800.0).contains(&vco_mhz));
            assert!((vco_mhz - out * f64::from(clkop_div)).abs() < 1e-9);
        }
    }
}

#[test]
fn ice40_search_matches_icepll() {
    let icepll = tools::find(Tool::Icepack)
        .map(|f| f.path.with_file_name("icepll"))
        .expect("icestorm is not installed: run `make setup`");
    for target in [17.0, 24.0, 30.0, 36.0, 45.0, 48.0, 50.0, 60.0, 75.0, 100.0] {
        let out = Command::new(&icepll)
            .args(["-i", "12", "-o", &target.to_string()])
            .output()
            .expect("run icepll");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        check(Family::Ice40, 12.0, target, achieved(&text, "(achieved)"));
    }
}

#[test]
fn ecp5_search_matches_ecppll() {
    let nextpnr = tools::find(Tool::NextpnrEcp5).expect("nextpnr-ecp5 missing: run `make setup`");
    let ecppll = if nextpnr.wasm {
        nextpnr.path.with_file_name("yowasp-ecppll")
    } else {
        nextpnr.path.with_file_name("ecppll")
    };
    for target in [25.0, 37.5, 48.0, 50.0, 75.0, 100.0, 120.0, 133.0, 150.0] {
        let out = Command::new(&ecppll)
            .args(["-i", "25", "-o", &target.to_string()])
            .output()
            .expect("run ecppll");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        check(
            Family::Ecp5,
            25.0,
            target,
            achieved(&text, "clkout0 frequency"),
        );
    }
}
