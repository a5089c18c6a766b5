//! Board data files: parsing and validation. One TOML file per board (fields: docs/boards.md);
//! every error names the file and the field and says how to fix it.

use crate::family::Family;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A board, as its data file describes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name (the file stem), used on the command line.
    pub name: String,
    /// Human-readable board name.
    pub title: String,
    /// Where the pin data was checked.
    pub sources: Vec<String>,
    /// The FPGA.
    pub device: Device,
    /// The board oscillator.
    pub clock: Clock,
    /// The host link.
    pub uart: Uart,
    /// LEDs (the first shows activity).
    pub led: Vec<Led>,
    /// A button used as reset, if the board has one.
    pub reset: Option<Button>,
    /// I/O standard of the pins (ECP5 `IO_TYPE`).
    pub io: Io,
    /// How to program it.
    pub programmer: Programmer,
}

/// The FPGA on a board and its totals.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Device family.
    pub family: Family,
    /// nextpnr's device flag without dashes (`up5k`, `hx8k`, `25k`, `85k`, ...).
    pub part: String,
    /// nextpnr's `--package` value.
    pub package: String,
    /// ECP5 speed grade (6, 7 or 8); absent on iCE40.
    pub speed: Option<u32>,
    /// LUT4s.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// Bits per block RAM.
    pub ram_block_bits: u64,
    /// Hard multipliers.
    pub dsps: u64,
    /// Where the totals come from.
    pub datasheet: String,
}

/// The board oscillator.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    /// Package pin.
    pub pin: String,
    /// Frequency in MHz.
    pub mhz: f64,
    /// The PLL primitive that can take this pin.
    pub pll: PllPrimitive,
}

/// PLL primitives xnorc drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum PllPrimitive {
    /// iCE40 PLL fed by its dedicated input pad.
    #[serde(rename = "SB_PLL40_PAD")]
    Ice40Pad,
    /// iCE40 PLL fed from the fabric (any clock pin).
    #[serde(rename = "SB_PLL40_CORE")]
    Ice40Core,
    /// ECP5 general PLL.
    #[serde(rename = "EHXPLLL")]
    Ecp5,
}

/// The host link's serial pins, from the FPGA's point of view, and the USB-UART bridge behind
/// them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Uart {
    /// Pin that receives (host → FPGA).
    pub rx: String,
    /// Pin that transmits (FPGA → host).
    pub tx: String,
    /// The board's USB-UART: the build runs the link at the fastest rate it can generate that
    /// the core clock can time ([`crate::line_rate()`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Bridge>,
    /// A fixed baud rate instead, for a bridge whose rates xnorc does not know (an external
    /// adapter, a CDC-ACM serial port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
    /// What the host sees, or what to connect.
    pub via: String,
}

/// A USB-UART bridge whose baud rates xnorc knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bridge {
    /// FTDI FT2232H (Hi-Speed, up to 12 Mbaud).
    Ft2232h,
    /// FTDI FT232H (Hi-Speed, up to 12 Mbaud).
    Ft232h,
    /// FTDI FT4232H (Hi-Speed, up to 12 Mbaud).
    Ft4232h,
    /// FTDI FT231X (Full-Speed, up to 3 Mbaud).
    Ft231x,
    /// FTDI FT230X (Full-Speed, up to 3 Mbaud).
    Ft230x,
    /// FTDI FT232R (Full-Speed, up to 3 Mbaud).
    Ft232r,
}

impl std::fmt::Display for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bridge::Ft2232h => "FT2232H",
            Bridge::Ft232h => "FT232H",
            Bridge::Ft4232h => "FT4232H",
            Bridge::Ft231x => "FT231X",
            Bridge::Ft230x => "FT230X",
            Bridge::Ft232r => "FT232R",
        })
    }
}

/// An LED.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Led {
    /// Package pin.
    pub pin: String,
    /// Lit when the pin is low.
    pub active_low: bool,
    /// Schematic name.
    pub name: String,
}

/// A push button.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Button {
    /// Package pin.
    pub pin: String,
    /// Pressed reads low.
    pub active_low: bool,
    /// Schematic name.
    pub name: String,
}

/// I/O settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Io {
    /// I/O standard (ECP5 `IO_TYPE`).
    pub standard: String,
}

/// Programming.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Programmer {
    /// openFPGALoader's `-b` name.
    pub openfpgaloader: String,
    /// openFPGALoader's `-c` cable, when the board's differs from the `-b` default.
    pub cable: Option<String>,
    /// openFPGALoader can load the FPGA's SRAM (volatile) directly.
    pub sram: bool,
    /// openFPGALoader can write the board's SPI flash.
    pub flash: bool,
}

/// A bad or missing board file: where and what (its message), and how to fix it (its help).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{file}: {field}: {message}")]
#[diagnostic(code(xnorc::board), help("{hint}"))]
pub struct BoardError {
    /// The board file (or the name asked for).
    pub file: String,
    /// The field at fault (dotted path), or `-` for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

fn error(
    file: &str,
    field: &str,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> BoardError {
    BoardError {
        file: file.to_string(),
        field: field.to_string(),
        message: message.into(),
        hint: hint.into(),
    }
}

include!(concat!(env!("OUT_DIR"), "/bundled_boards.rs"));

/// Names of the bundled boards, sorted.
pub fn bundled_names() -> Vec<&'static str> {
    BUNDLED
        .iter()
        .map(|(f, _)| f.strip_suffix(".toml").unwrap_or(f))
        .collect()
}

/// Every bundled board, parsed and validated.
pub fn bundled() -> Result<Vec<Board>, BoardError> {
    BUNDLED
        .iter()
        .map(|(file, text)| parse(&format!("boards/data/{file}"), text))
        .collect()
}

/// Finds a board: a path to a `.toml` file, or a bundled board's name.
pub fn find(name_or_path: &str) -> Result<Board, BoardError> {
    let path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || path.components().count() > 1 {
        return load(path);
    }
    match BUNDLED
        .iter()
        .find(|(f, _)| f.strip_suffix(".toml") == Some(name_or_path))
    {
        Some((file, text)) => parse(&format!("boards/data/{file}"), text),
        None => Err(error(
            name_or_path,
            "-",
            "no such board",
            format!(
                "known boards: {}; or pass the path of a board file (docs/boards.md)",
                bundled_names().join(", ")
            ),
        )),
    }
}

/// Loads and validates a board file.
pub fn load(path: &Path) -> Result<Board, BoardError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        error(
            &file,
            "-",
            format!("cannot read: {e}"),
            "check the path of the board file",
        )
    })?;
    parse(&file, &text)
}

/// Parses and validates board data; `file` names it in errors and gives the expected name.
pub fn parse(file: &str, text: &str) -> Result<Board, BoardError> {
    let board: Board = toml::from_str(text).map_err(|e| {
        let field = field_of(e.message(), text, e.span());
        error(
            file,
            &field,
            e.message().trim().to_string(),
            "fix the board file; every field is described in docs/boards.md",
        )
    })?;
    validate(file, &board)?;
    Ok(board)
}

/// A best-effort field name for a TOML error: the key on the line the error points at.
fn field_of(message: &str, text: &str, span: Option<std::ops::Range<usize>>) -> String {
    if let Some(rest) = message.split("missing field `").nth(1) {
        return rest.split('`').next().unwrap_or("-").to_string();
    }
    let Some(span) = span else { return "-".into() };
    let line_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) => key.trim().to_string(),
        None => line.trim().to_string(),
    }
}

/// Checks what the types cannot: names, pins, totals and family-specific fields.
fn validate(file: &str, b: &Board) -> Result<(), BoardError> {
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    let name_ok = !b.name.is_empty()
        && b.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(error(
            file,
            "name",
            format!("{:?} is not a board name", b.name),
            "use lower-case letters, digits and '-' only",
        ));
    }
    if stem != b.name {
        return Err(error(
            file,
            "name",
            format!("{:?} differs from the file name {stem:?}", b.name),
            "name the file <name>.toml",
        ));
    }
    let d = &b.device;
    let parts = d.family.parts();
    if !parts.contains(&d.part.as_str()) {
        return Err(error(
            file,
            "device.part",
            format!("{:?} is not a {} part", d.part, d.family),
            format!("one of: {}", parts.join(", ")),
        ));
    }
    if d.package.is_empty() || !d.package.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(error(
            file,
            "device.package",
            format!("{:?} is not a package name", d.package),
            "use nextpnr's --package value, e.g. sg48, ct256, CABGA381",
        ));
    }
    match (d.family, d.speed) {
        (Family::Ecp5, None) => {
            return Err(error(
                file,
                "device.speed",
                "missing for an ECP5 device",
                "add speed = 6, 7 or 8 (the digit after the part's '-', e.g. LFE5U-25F-6BG381C)",
            ))
        }
        (Family::Ecp5, Some(s)) if !(6..=8).contains(&s) => {
            return Err(error(
                file,
                "device.speed",
                format!("{s} is not an ECP5 speed grade"),
                "use 6, 7 or 8",
            ))
        }
        (Family::Ice40, Some(_)) => {
            return Err(error(
                file,
                "device.speed",
                "iCE40 devices have no speed grade in nextpnr",
                "remove device.speed",
            ))
        }
        _ => {}
    }
    for (field, v) in [
        ("device.luts", d.luts),
        ("device.ffs", d.ffs),
        ("device.ram_blocks", d.ram_blocks),
        ("device.ram_block_bits", d.ram_block_bits),
    ] {
        if v == 0 {
            return Err(error(
                file,
                field,
                "must be positive",
                "copy the total from the device datasheet",
            ));
        }
    }
    if !(b.clock.mhz.is_finite() && b.clock.mhz > 0.0 && b.clock.mhz <= 500.0) {
        return Err(error(
            file,
            "clock.mhz",
            format!("{} is not an oscillator frequency", b.clock.mhz),
            "give the board oscillator in MHz, e.g. 12.0 or 25.0",
        ));
    }
    let pll_ok = match d.family {
        Family::Ice40 => matches!(
            b.clock.pll,
            PllPrimitive::Ice40Pad | PllPrimitive::Ice40Core
        ),
        Family::Ecp5 => b.clock.pll == PllPrimitive::Ecp5,
    };
    if !pll_ok {
        return Err(error(
            file,
            "clock.pll",
            format!("not a PLL of the {} family", d.family),
            match d.family {
                Family::Ice40 => "use SB_PLL40_PAD or SB_PLL40_CORE",
                Family::Ecp5 => "use EHXPLLL",
            },
        ));
    }
    match (b.uart.bridge, b.uart.baud) {
        (Some(_), Some(_)) => {
            return Err(error(
                file,
                "uart.baud",
                "both uart.bridge and uart.baud are given",
                "give the bridge (xnorc then picks the fastest rate it can use) or a fixed baud, not both",
            ))
        }
        (None, None) => {
            return Err(error(
                file,
                "uart.bridge",
                "neither uart.bridge nor uart.baud is given",
                "name the USB-UART (e.g. bridge = \"ft2232h\") or give a fixed rate (baud = 115200)",
            ))
        }
        (None, Some(baud)) if !(300..=12_000_000).contains(&baud) => {
            return Err(error(
                file,
                "uart.baud",
                format!("{baud} is not a usable baud rate"),
                "use a standard rate such as 115200",
            ))
        }
        _ => {}
    }
    if b.led.is_empty() {
        return Err(error(
            file,
            "led",
            "at least one LED is needed (activity)",
            "add a [[led]] table",
        ));
    }
    if b.programmer.openfpgaloader.is_empty()
        || !b
            .programmer
            .openfpgaloader
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(error(
            file,
            "programmer.openfpgaloader",
            format!(
                "{:?} is not an openFPGALoader board name",
                b.programmer.openfpgaloader
            ),
            "use a name from `openFPGALoader --list-boards`",
        ));
    }
    if let Some(cable) = &b.programmer.cable {
        if cable.is_empty()
            || !cable
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(error(
                file,
                "programmer.cable",
                format!("{cable:?} is not an openFPGALoader cable name"),
                "use a name from `openFPGALoader --list-cables`",
            ));
        }
    }
    if !b.programmer.sram && !b.programmer.flash {
        return Err(error(
            file,
            "programmer",
            "neither sram nor flash: the board cannot be programmed",
            "set sram = true or flash = true",
        ));
    }
    if !["LVCMOS33", "LVCMOS25", "LVCMOS18"].contains(&b.io.standard.as_str()) {
        return Err(error(
            file,
            "io.standard",
            format!("{:?} is not a supported I/O standard", b.io.standard),
            "use LVCMOS33, LVCMOS25 or LVCMOS18",
        ));
    }
    // Pins reach constraint files: only plain pin names, each used once.
    let mut seen: Vec<(&str, String)> = Vec::new();
    let mut pins: Vec<(String, &str)> = vec![
        ("clock.pin".into(), b.clock.pin.as_str()),
        ("uart.rx".into(), b.uart.rx.as_str()),
        ("uart.tx".into(), b.uart.tx.as_str()),
    ];
    for (i, l) in b.led.iter().enumerate() {
        pins.push((format!("led[{i}].pin"), l.pin.as_str()));
    }
    if let Some(r) = &b.reset {
        pins.push(("reset.pin".into(), r.pin.as_str()));
    }
    for (field, pin) in pins {
        if !is_pin_name(d.family, pin) {
            return Err(error(
                file,
                &field,
                format!("{pin:?} is not a package pin"),
                match d.family {
                    Family::Ice40 => "iCE40 pins are numbers (QFN) or ball names like J3 (BGA)",
                    Family::Ecp5 => "ECP5 pins are ball names like G2 or P3",
                },
            ));
        }
        if let Some((_, other)) = seen.iter().find(|(p, _)| *p == pin) {
            return Err(error(
                file,
                &field,
                format!("pin {pin} is also used by {other}"),
                "every signal needs its own pin",
            ));
        }
        seen.push((pin, field));
    }
    Ok(())
}

/// Pin names as PCF/LPF take them: QFN numbers or BGA balls (letters then digits).
fn is_pin_name(family: Family, pin: &str) -> bool {
    let letters = pin.chars().take_while(|c| c.is_ascii_uppercase()).count();
    let digits = &pin[letters..];
    let digits_ok =
        !digits.is_empty() && digits.len() <= 3 && digits.chars().all(|c| c.is_ascii_digit());
    match family {
        Family::Ice40 => digits_ok && letters <= 2,
        Family::Ecp5 => digits_ok && (1..=2).contains(&letters),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_board_validates() {
        let boards = bundled().unwrap();
        assert!(boards.len() >= 10, "{} boards", boards.len());
    }

    #[test]
    fn pin_names() {
        assert!(is_pin_name(Family::Ice40, "35"));
        assert!(is_pin_name(Family::Ice40, "J3"));
        assert!(is_pin_name(Family::Ecp5, "G2"));
        assert!(!is_pin_name(Family::Ecp5, "35"));
        assert!(!is_pin_name(Family::Ice40, "3;5"));
        assert!(!is_pin_name(Family::Ecp5, "G2\"\nLOCATE"));
    }
}
