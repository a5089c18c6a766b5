//! The worked example in docs/model-format.md loads and computes what the page derives by hand.

use xnorc_compiler::{format, passes};
use xnorc_sim::{Frames, Simulator};

/// The docs' JSON block whose text contains `marker`, loaded.
fn example(marker: &str) -> format::ModelFile {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/model-format.md"))
        .unwrap();
    let block = doc
        .split("```json\n")
        .filter_map(|s| s.split("```").next())
        .find(|s| s.contains(marker))
        .expect("the example's JSON block");
    format::parse(block.as_bytes()).unwrap()
}

#[test]
fn worked_example_from_the_docs() {
    let model = example("worked-example");
    let sim = Simulator::new(passes::lower(&model).unwrap()).unwrap();
    let r = sim.run(Frames::U8(&[1, 1, 0, 1])).unwrap();
    assert_eq!(r.scores, vec![0, 2]);
    assert_eq!(r.argmax, vec![1]);
}

#[test]
fn sub_bit_example_from_the_docs() {
    let model = example("subbit-example");
    let sim = Simulator::new(passes::lower(&model).unwrap()).unwrap();
    let r = sim.run(Frames::U8(&[1, 1, 0, 1, 0, 1, 0, 1, 1])).unwrap();
    assert_eq!(r.scores, vec![2, -2, 0]);
    assert_eq!(r.argmax, vec![0]);
}
