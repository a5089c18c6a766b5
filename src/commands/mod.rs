//! One module per subcommand.

pub mod bench;
pub mod boards;
pub mod build;
pub mod compile;
pub mod flash;
pub mod import;
pub mod inspect;
pub mod random;
pub mod run;
pub mod simulate;
pub mod verify;
