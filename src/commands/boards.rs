//! `xnorc boards` (the bundled boards and their devices) and `xnorc doctor` (every FPGA tool:
//! found where, which version, how to install what is missing).

use crate::errors::CliError;
use xnorc_boards::tools::{self, ALL};

/// Lists the bundled boards.
pub fn list(json: bool) -> Result<(), CliError> {
    let boards = xnorc_boards::board::bundled()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&boards).expect("boards serialize")
        );
        return Ok(());
    }
    println!(
        "{:<15} {:<6} {:<5} {:<9} {:>6} {:>6} {:>5} {:>9} {:>5} {:>7}  {:<18} programmer",
        "board",
        "family",
        "part",
        "package",
        "LUT4",
        "FF",
        "RAM",
        "RAM kbit",
        "DSP",
        "clock",
        "uart rx/tx, bridge or baud"
    );
    for b in &boards {
        let d = &b.device;
        println!(
            "{:<15} {:<6} {:<5} {:<9} {:>6} {:>6} {:>5} {:>9} {:>5} {:>4} MHz  {:<18} {}",
            b.name,
            d.family.to_string(),
            d.part,
            d.package,
            d.luts,
            d.ffs,
            d.ram_blocks,
            d.ram_blocks * d.ram_block_bits / 1024,
            d.dsps,
            b.clock.mhz,
            format!(
                "{}/{} {}",
                b.uart.rx,
                b.uart.tx,
                match (b.uart.bridge, b.uart.baud) {
                    (Some(bridge), _) => bridge.to_string(),
                    (None, Some(baud)) => format!("@{baud}"),
                    (None, None) => String::new(),
                }
            ),
            b.programmer.openfpgaloader
        );
    }
    Ok(())
}

/// Prints every tool, where it was found and its version; exit 1 when some are missing.
pub fn doctor(json: bool) -> Result<(), CliError> {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for tool in ALL {
        match tools::find(tool) {
            Ok(found) => {
                let version = found.version();
                rows.push(serde_json::json!({
                    "tool": tool.command(),
                    "found": true,
                    "path": found.path,
                    "origin": found.origin,
                    "version": version,
                    "webassembly": found.wasm,
                }));
            }
            Err(m) => {
                missing.push(tool.command());
                rows.push(serde_json::json!({
                    "tool": tool.command(),
                    "found": false,
                    "install": m.hint,
                }));
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialize")
        );
    } else {
        for r in &rows {
            let tool = r["tool"].as_str().unwrap_or("");
            if r["found"] == true {
                println!(
                    "ok       {:<15} {:<40} {}\n         {:<15} from {}",
                    tool,
                    r["version"].as_str().unwrap_or("(no version flag)"),
                    r["path"].as_str().unwrap_or(""),
                    "",
                    r["origin"].as_str().unwrap_or("")
                );
            } else {
                println!(
                    "MISSING  {:<15} install: {}",
                    tool,
                    r["install"].as_str().unwrap_or("")
                );
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "missing tools: {}; run `make setup`",
            missing.join(", ")
        )))
    }
}
