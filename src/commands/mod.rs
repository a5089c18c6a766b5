//! One module per subcommand.

pub mod bench;
pub mod compile;
pub mod diagnose;
pub mod inspect;
pub mod random;
pub mod simulate;
pub mod verify;
