//! Fuzzes the model loader and every semantic pass: arbitrary bytes must give a model or a
//! `ModelError`, never a panic, hang or unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = xnorc_compiler::format::parse(data) {
        let _ = xnorc_compiler::passes::lower(&model);
    }
});
