//! The QONNX importer never panics: corrupted and truncated copies of the real fixtures (bytes
//! flipped, runs overwritten, cut short) must import and lower or fail with a `ModelError`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use xnorc_compiler::import::qonnx;
use xnorc_compiler::passes;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/qonnx");
    let mut out = Vec::new();
    for sub in [dir.clone(), dir.join("unsupported")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            // The small graphs: corruptions of them reach every op's checks quickly.
            if path.extension().is_some_and(|e| e == "onnx")
                && std::fs::metadata(&path).unwrap().len() < 64 * 1024
            {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 10, "found {} fixtures", out.len());
    out
}

/// Imports `rounds` corrupted copies of the fixtures (mutations drawn from `seed`); panics if
/// one panics the importer; returns how many still imported.
fn corrupt_and_import(seed: u64, rounds: std::ops::Range<usize>) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fixtures = fixtures();
    let mut imported = 0;
    for round in rounds {
        let (name, bytes) = &fixtures[round % fixtures.len()];
        let mut b = bytes.clone();
        match rng.gen_range(0..4) {
            0 => {
                let i = rng.gen_range(0..b.len());
                b[i] ^= 1 << rng.gen_range(0..8);
            }
            1 => {
                let i = rng.gen_range(0..b.len());
                let n = rng.gen_range(1..8).min(b.len() - i);
                for x in &mut b[i..i + n] {
                    *x = rng.gen();
                }
            }
            2 => b.truncate(rng.gen_range(0..b.len())),
            _ => {
                // A varint-sized value somewhere: lengths, dims, attribute ints.
                let i = rng.gen_range(0..b.len());
                b[i] = [0x00, 0x01, 0x7f, 0x80, 0xff][rng.gen_range(0..5)];
            }
        }
        let result = std::panic::catch_unwind(|| {
            qonnx::import(&b, "fuzz").map(|m| passes::lower(&m).is_ok())
        });
        match result {
            Ok(Ok(_)) => imported += 1,
            Ok(Err(_)) => {}
            Err(_) => panic!("round {round}: a corrupted {name} panicked the importer"),
        }
    }
    imported
}

// 3,000 rounds in two tests of 1,500, which the test harness runs on both cores (one test
// took two minutes of `make test` on one).
#[test]
fn corrupted_fixtures_never_panic() {
    let imported = corrupt_and_import(6, 0..1500);
    // Most single-byte changes hit weights or names and still import.
    assert!(imported > 50, "only {imported} corrupted files imported");
}

#[test]
fn more_corrupted_fixtures_never_panic() {
    let imported = corrupt_and_import(7, 1500..3000);
    assert!(imported > 50, "only {imported} corrupted files imported");
}
