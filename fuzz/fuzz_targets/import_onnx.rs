//! Fuzzes the ONNX reader and the QONNX translation: arbitrary bytes must give a model (which
//! then lowers or fails with a `ModelError`) or a `ModelError`, never a panic, hang or unbounded
//! allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = xnorc_compiler::import::qonnx::import(data, "fuzz") {
        let _ = xnorc_compiler::passes::lower(&model);
    }
});
