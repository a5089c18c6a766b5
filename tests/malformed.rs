//! Every model in tests/fixtures/malformed is rejected with an error naming the file, the node
//! and the field, with the message tests/fixtures/make_malformed.py expects.

use std::path::Path;
use xnorc_compiler::load::load_graph;

#[test]
fn malformed_models_fail_with_the_expected_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, node, field, phrase] = cols[..] else {
            panic!("bad line {line:?}")
        };
        let path = dir.join(file);
        let err = load_graph(&path).expect_err(file);
        // What a user sees: the message, and the help the CLI prints under it.
        let shown = format!("{err} {}", err.hint.as_deref().unwrap_or_default());
        assert!(
            err.file.as_deref().is_some_and(|f| f.ends_with(file)),
            "{file}: error names file {:?}",
            err.file
        );
        if node != "-" {
            assert_eq!(err.node.as_deref(), Some(node), "{file}: {shown}");
        }
        if field != "-" {
            assert_eq!(err.field.as_deref(), Some(field), "{file}: {shown}");
        }
        assert!(shown.contains(phrase), "{file}: {shown:?} lacks {phrase:?}");
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} malformed models");
}

#[test]
fn the_unbroken_bases_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in [
        "valid_dense.xnm",
        "valid_conv.xnm",
        "valid_codebook.xnm",
        "valid_tiled.xnm",
        "valid_residual.xnm",
    ] {
        load_graph(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
}
