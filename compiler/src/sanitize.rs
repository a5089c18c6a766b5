//! Turning untrusted names from model files into identifiers that are safe everywhere we put
//! them: Verilog module and signal names, yosys scripts, file names and command lines.
//!
//! An identifier is `[a-z][a-z0-9_]*`, at most [`MAX_LEN`] bytes, never a Verilog or
//! SystemVerilog keyword. Lowercase only, so that two identifiers never differ only in case (case-
//! insensitive file systems would merge their files).

use std::collections::HashSet;

/// Longest identifier we produce (before a uniqueness suffix).
pub const MAX_LEN: usize = 40;

/// Keywords of Verilog-2005 and SystemVerilog-2017 that an identifier must not equal.
const KEYWORDS: &[&str] = &[
    "accept_on",
    "alias",
    "always",
    "always_comb",
    "always_ff",
    "always_latch",
    "and",
    "assert",
    "assign",
    "assume",
    "automatic",
    "before",
    "begin",
    "bind",
    "bins",
    "binsof",
    "bit",
    "break",
    "buf",
    "bufif0",
    "bufif1",
    "byte",
    "case",
    "casex",
    "casez",
    "cell",
    "chandle",
    "checker",
    "class",
    "clocking",
    "cmos",
    "config",
    "const",
    "constraint",
    "context",
    "continue",
    "cover",
    "covergroup",
    "coverpoint",
    "cross",
    "deassign",
    "default",
    "defparam",
    "design",
    "disable",
    "dist",
    "do",
    "edge",
    "else",
    "end",
    "endcase",
    "endchecker",
    "endclass",
    "endclocking",
    "endconfig",
    "endfunction",
    "endgenerate",
    "endgroup",
    "endinterface",
    "endmodule",
    "endpackage",
    "endprimitive",
    "endprogram",
    "endproperty",
    "endsequence",
    "endspecify",
    "endtable",
    "endtask",
    "enum",
    "event",
    "eventually",
    "expect",
    "export",
    "extends",
    "extern",
    "final",
    "first_match",
    "for",
    "force",
    "foreach",
    "forever",
    "fork",
    "forkjoin",
    "function",
    "generate",
    "genvar",
    "global",
    "highz0",
    "highz1",
    "if",
    "iff",
    "ifnone",
    "ignore_bins",
    "illegal_bins",
    "implements",
    "implies",
    "import",
    "incdir",
    "include",
    "initial",
    "inout",
    "input",
    "inside",
    "instance",
    "int",
    "integer",
    "interconnect",
    "interface",
    "intersect",
    "join",
    "join_any",
    "join_none",
    "large",
    "let",
    "liblist",
    "library",
    "local",
    "localparam",
    "logic",
    "longint",
    "macromodule",
    "matches",
    "medium",
    "modport",
    "module",
    "nand",
    "negedge",
    "nettype",
    "new",
    "nexttime",
    "nmos",
    "nor",
    "noshowcancelled",
    "not",
    "notif0",
    "notif1",
    "null",
    "or",
    "output",
    "package",
    "packed",
    "parameter",
    "pmos",
    "posedge",
    "primitive",
    "priority",
    "program",
    "property",
    "protected",
    "pull0",
    "pull1",
    "pulldown",
    "pullup",
    "pulsestyle_ondetect",
    "pulsestyle_onevent",
    "pure",
    "rand",
    "randc",
    "randcase",
    "randsequence",
    "rcmos",
    "real",
    "realtime",
    "ref",
    "reg",
    "reject_on",
    "release",
    "repeat",
    "restrict",
    "return",
    "rnmos",
    "rpmos",
    "rtran",
    "rtranif0",
    "rtranif1",
    "s_always",
    "s_eventually",
    "s_nexttime",
    "s_until",
    "s_until_with",
    "scalared",
    "sequence",
    "shortint",
    "shortreal",
    "showcancelled",
    "signed",
    "small",
    "soft",
    "solve",
    "specify",
    "specparam",
    "static",
    "string",
    "strong",
    "strong0",
    "strong1",
    "struct",
    "super",
    "supply0",
    "supply1",
    "sync_accept_on",
    "sync_reject_on",
    "table",
    "tagged",
    "task",
    "this",
    "throughout",
    "time",
    "timeprecision",
    "timeunit",
    "tran",
    "tranif0",
    "tranif1",
    "tri",
    "tri0",
    "tri1",
    "triand",
    "trior",
    "trireg",
    "type",
    "typedef",
    "union",
    "unique",
    "unique0",
    "unsigned",
    "until",
    "until_with",
    "untyped",
    "use",
    "uwire",
    "var",
    "vectored",
    "virtual",
    "void",
    "wait",
    "wait_order",
    "wand",
    "weak",
    "weak0",
    "weak1",
    "while",
    "wildcard",
    "wire",
    "with",
    "within",
    "wor",
    "xnor",
    "xor",
];

/// `text` as it may appear in a terminal message: control characters (a newline, an escape
/// sequence that could rewrite the screen) shown as Rust escapes, everything else — quotes,
/// backslashes, any script — unchanged, so names read as the model file spells them.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// True when `name` is a Verilog or SystemVerilog keyword.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// A safe identifier for `name` (not necessarily unique; see [`Identifiers`]).
pub fn identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(MAX_LEN));
    for ch in name.chars() {
        let mapped = if ch.is_ascii_alphanumeric() {
            ch.to_ascii_lowercase()
        } else {
            '_'
        };
        // Collapse runs of underscores: "a..b" and "a__b" read the same and stay short.
        if mapped == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(mapped);
        if out.len() >= MAX_LEN {
            break;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "n_");
        out.truncate(MAX_LEN);
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push_str("_n");
    }
    out
}

/// Hands out unique identifiers: a clash gets a numeric suffix `_2`, `_3`, …
#[derive(Debug, Default)]
pub struct Identifiers {
    used: HashSet<String>,
}

impl Identifiers {
    /// A fresh allocator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `ident` as taken (e.g. names the generator itself uses).
    pub fn reserve(&mut self, ident: &str) {
        self.used.insert(ident.to_string());
    }

    /// A unique safe identifier for `name`.
    pub fn allocate(&mut self, name: &str) -> String {
        let base = identifier(name);
        let mut candidate = base.clone();
        let mut n = 2;
        while self.used.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_safe(s: &str) -> bool {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !KEYWORDS.contains(&s)
    }

    #[test]
    fn hostile_names_become_safe() {
        let hostile = [
            "",
            "fc1",
            "module",
            "../../etc/passwd",
            "a; rm -rf /",
            "$(reboot)",
            "`define X",
            "\\escaped ",
            "名前",
            "0start",
            "___",
            "CamelCase",
            "x\ny\0z",
            "end",
            &"long".repeat(50),
        ];
        for name in hostile {
            let id = identifier(name);
            assert!(is_safe(&id), "{name:?} -> {id:?}");
            assert!(id.len() <= MAX_LEN + 2, "{id}");
        }
        assert_eq!(identifier("conv1.weight"), "conv1_weight");
        assert_eq!(identifier("module"), "module_n");
        assert_eq!(identifier("7"), "n_7");
    }

    #[test]
    fn allocation_is_unique_and_case_insensitive() {
        let mut ids = Identifiers::new();
        let a = ids.allocate("Fc");
        let b = ids.allocate("fc");
        let c = ids.allocate("f.c");
        let d = ids.allocate("f c");
        assert_eq!(a, "fc");
        assert_eq!(b, "fc_2");
        assert_eq!(c, "f_c");
        assert_eq!(d, "f_c_2");
    }
}
