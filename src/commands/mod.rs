//! One module per subcommand.

pub mod bench;
pub mod boards;
pub mod build;
pub mod compile;
pub mod flash;
pub mod import;
pub mod inspect;
pub mod layer_table;
pub mod random;
pub mod report;
pub mod run;
pub mod simulate;
pub mod train;
pub mod verify;

/// A count that must be at least one (frames, repeats, vectors, budgets): zero is refused when
/// the arguments are parsed rather than giving an empty run or a division by zero later.
pub fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}
