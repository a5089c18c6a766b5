//! xnorc command-line interface.
fn main() {}
