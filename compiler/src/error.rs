//! The one error type every model problem is reported with.
//!
//! A [`ModelError`] names where the problem is (file, node, field), what is wrong and, where we
//! can tell, how to fix it. It is a [`miette::Diagnostic`]: its message (`Display`) says where
//! and what, its help says how to fix it, and the CLI's one diagnostics layer renders both and
//! maps the error to exit code 2. Node names come from untrusted files, so they are escaped
//! before they are printed.

use crate::sanitize::printable;
use std::fmt;

/// A problem with a model (or with data given for a model): bad file, bad node, bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// The file the problem was found in, if it came from a file.
    pub file: Option<String>,
    /// The node the problem belongs to (its name as written in the model).
    pub node: Option<String>,
    /// The field inside the node (or the top-level field), as a dotted path.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is a useful thing to say.
    pub hint: Option<String>,
}

impl ModelError {
    /// A new error with only a message; add context with the builder methods.
    pub fn new(message: impl Into<String>) -> Self {
        ModelError {
            file: None,
            node: None,
            field: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Sets the file, unless a more specific one is already set.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        if self.file.is_none() {
            self.file = Some(file.into());
        }
        self
    }

    /// Sets the node, unless one is already set.
    pub fn at_node(mut self, node: impl Into<String>) -> Self {
        if self.node.is_none() {
            self.node = Some(node.into());
        }
        self
    }

    /// Sets the field; an already set field is taken as a sub-path of this one.
    pub fn at_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = Some(match self.field.take() {
            Some(inner) if !field.is_empty() => format!("{field}.{inner}"),
            Some(inner) => inner,
            None => field,
        });
        self
    }

    /// Adds a hint on how to fix the problem.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", printable(file))?;
        }
        if let Some(node) = &self.node {
            write!(f, "node \"{}\": ", printable(node))?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{}`: ", printable(field))?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ModelError {}

impl miette::Diagnostic for ModelError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("xnorc::model"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        // Hints are xnorc's own words, never text from a model file.
        self.hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

/// Result alias for model handling.
pub type Result<T> = std::result::Result<T, ModelError>;
