//! The one place errors are rendered for people: every error of every crate is a
//! [`miette::Diagnostic`], which says what is wrong and where (its message) and how to fix it
//! (its help). The CLI prints
//!
//! ```text
//! error: <message>
//!   help: <help>
//! ```
//!
//! on stderr — the message whole (it names the file, node and field; some span lines), the help
//! only when the error has one. The stable `code` (`xnorc::model`, `xnorc::data`, …) is for
//! programs, not printed. Why not miette's own graphical handler: it wraps lines to the terminal
//! and draws boxes for source spans, which a model error (a JSON path, not a span of text) does
//! not have; this keeps messages greppable and whole.

use miette::Diagnostic;
use std::fmt::Write;

/// `diagnostic` as the CLI prints it.
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    let mut out = format!("error: {diagnostic}\n");
    if let Some(help) = diagnostic.help() {
        for (i, line) in help.to_string().lines().enumerate() {
            let lead = if i == 0 { "  help: " } else { "        " };
            let _ = writeln!(out, "{lead}{line}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;
    use xnorc_compiler::ModelError;

    #[test]
    fn an_error_is_its_message_then_its_help() {
        let e = ModelError::new("dense needs a vector input")
            .in_file("m.xnm")
            .at_node("fc1")
            .at_field("inputs")
            .with_hint("insert a `flatten` node");
        assert_eq!(
            render(&e),
            "error: m.xnm: node \"fc1\": field `inputs`: dense needs a vector input\n  \
             help: insert a `flatten` node\n"
        );
        assert_eq!(render(&ModelError::new("bad")), "error: bad\n");
    }

    #[test]
    fn wrapped_errors_keep_their_help() {
        let e = crate::errors::CliError::from(ModelError::new("bad").with_hint("fix it"));
        assert_eq!(render(&e), "error: bad\n  help: fix it\n");
    }
}
