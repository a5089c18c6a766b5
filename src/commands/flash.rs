//! `xnorc flash DIR`: programs the bitstream `xnorc build` left in DIR with openFPGALoader
//! (SRAM by default, SPI flash with `--flash`). `--dry-run` prints the exact command instead:
//! openFPGALoader has no dry run of its own and opens the cable first.

use crate::errors::CliError;
use std::path::{Path, PathBuf};
use std::process::Command;
use xnorc_boards::flow::flash_command;
use xnorc_boards::tools::{self, Tool};

#[derive(clap::Args)]
pub struct Args {
    /// Build directory of `xnorc build` (holds report.json and the bitstream).
    pub dir: PathBuf,
    /// Board (default: the one the build was for).
    #[arg(long)]
    pub board: Option<String>,
    /// Write the SPI flash (persistent) instead of SRAM.
    #[arg(long)]
    pub flash: bool,
    /// Print the command instead of running it.
    #[arg(long)]
    pub dry_run: bool,
    /// Print what was (or, with --dry-run, would be) run as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Shell-quotes one argument for printing.
fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let report = xnorc_bitstream::report::read_report(&args.dir)?;
    let built_for = report["board"].as_str().unwrap_or_default().to_string();
    let name = args.board.clone().unwrap_or_else(|| built_for.clone());
    let board = xnorc_boards::board::find(&name)?;
    if !built_for.is_empty() && board.name != built_for {
        return Err(CliError::Refused {
            message: format!(
                "{}: the bitstream was built for {built_for}, not {}",
                args.dir.display(),
                board.name
            ),
            help: format!("drop --board, or rebuild for {}", board.name),
        });
    }
    let file = report["bitstream"]
        .as_str()
        .map(|b| args.dir.join(Path::new(b).file_name().unwrap_or_default()))
        .ok_or_else(|| {
            CliError::Input(format!(
                "{}: report.json names no bitstream",
                args.dir.display()
            ))
        })?;
    if !file.is_file() {
        return Err(CliError::Refused {
            message: format!("{}: bitstream missing", file.display()),
            help: "rebuild with `xnorc build`".into(),
        });
    }
    if !args.flash && !board.programmer.sram {
        return Err(CliError::Refused {
            message: format!(
                "{}: openFPGALoader cannot load this board's SRAM",
                board.name
            ),
            help: "write the SPI flash with --flash".into(),
        });
    }
    if args.flash && !board.programmer.flash {
        return Err(CliError::Input(format!(
            "{}: openFPGALoader cannot write this board's flash; load SRAM (drop --flash)",
            board.name
        )));
    }
    let cmd = flash_command(&board, &file, args.flash);
    let report = |programmed: bool| {
        serde_json::json!({
            "board": board.name,
            "bitstream": file.display().to_string(),
            "target": if args.flash { "flash" } else { "sram" },
            "command": cmd,
            "dry_run": args.dry_run,
            "programmed": programmed,
        })
    };
    if args.dry_run && args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report(false)).expect("json")
        );
        return Ok(());
    }
    if args.dry_run {
        println!(
            "{}",
            cmd.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
        );
        return Ok(());
    }
    let loader = tools::find(Tool::OpenFpgaLoader)?;
    eprintln!(
        "flashing {} ({}) with {}",
        file.display(),
        if args.flash { "SPI flash" } else { "SRAM" },
        loader.path.display()
    );
    let status = Command::new(&loader.path)
        .args(&cmd[1..])
        .status()
        .map_err(|e| CliError::Failed(format!("cannot run {}: {e}", loader.path.display())))?;
    if status.success() {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report(true)).expect("json")
            );
        }
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "openFPGALoader failed ({status}); is the board connected? (`openFPGALoader --detect`)"
        )))
    }
}
