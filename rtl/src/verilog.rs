//! A small typed layer for structural Verilog — the generated tops: modules, ports, wires,
//! continuous assignments and parameterized instances, rendered deterministically. Behaviour
//! lives in the hand-written library (`rtl/lib/`); this layer only wires it.
//!
//! Generators build these values instead of formatting strings: every declared name passes one
//! check (a plain identifier and no Verilog keyword), operators are enums, string parameters
//! are checked, and every expression is fully parenthesized (no precedence surprises). Widths
//! are the generator's job: the renderer does not infer them.

use std::fmt::Write;

/// Port direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Input port.
    Input,
    /// Output port (driven by an `assign` or an instance).
    Output,
}

/// A port of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Name.
    pub name: String,
    /// Direction.
    pub dir: Dir,
    /// Bits (≥ 1).
    pub width: usize,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `!e`: logical not.
    Not,
    /// `~e`: bitwise not.
    BitNot,
}

impl UnOp {
    fn symbol(self) -> &'static str {
        match self {
            UnOp::Not => "!",
            UnOp::BitNot => "~",
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `a && b`.
    And,
    /// `a || b`.
    Or,
    /// `a & b`.
    BitAnd,
    /// `a | b`.
    BitOr,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A signal by name.
    Ref(String),
    /// A sized constant: `width'd value` (two's complement bits when negative).
    Lit(usize, i128),
    /// `e[i]` with a constant index.
    Bit(Box<Expr>, usize),
    /// `e[lsb +: width]` with constant bounds.
    Slice(Box<Expr>, usize, usize),
    /// `{a, b, ...}` (first element in the most significant bits).
    Concat(Vec<Expr>),
    /// A unary operator.
    Unary(UnOp, Box<Expr>),
    /// A binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// Builds a reference.
pub fn r(name: impl Into<String>) -> Expr {
    Expr::Ref(name.into())
}

/// Builds a sized literal.
pub fn lit(width: usize, value: i128) -> Expr {
    Expr::Lit(width, value)
}

impl Expr {
    /// `self[i]`; a select of a part-select becomes one select of the underlying signal
    /// (Verilog has no select of a select).
    pub fn bit(self, i: usize) -> Expr {
        match self {
            Expr::Slice(inner, lsb, w) => {
                assert!(i < w, "bit {i} of a {w}-bit slice");
                Expr::Bit(inner, lsb + i)
            }
            other => Expr::Bit(Box::new(other), i),
        }
    }

    /// `self[lsb +: width]` (composed with an inner part-select, as for [`Expr::bit`]).
    pub fn slice(self, lsb: usize, width: usize) -> Expr {
        match self {
            Expr::Slice(inner, l, w) => {
                assert!(lsb + width <= w, "slice past a {w}-bit slice");
                Expr::Slice(inner, l + lsb, width)
            }
            other => Expr::Slice(Box::new(other), lsb, width),
        }
    }

    /// Binary operator.
    pub fn op(self, op: BinOp, rhs: Expr) -> Expr {
        Expr::Binary(op, Box::new(self), Box::new(rhs))
    }

    /// Unary operator.
    pub fn un(self, op: UnOp) -> Expr {
        Expr::Unary(op, Box::new(self))
    }

    fn render(&self, out: &mut String) {
        match self {
            Expr::Ref(n) => out.push_str(n),
            Expr::Lit(w, v) if *v < 0 => {
                // Two's complement bits of v in w bits, written unsigned so no sign games.
                let _ = write!(out, "{w}'h{:x}", (*v as u128) & mask(*w));
            }
            Expr::Lit(w, v) => {
                let _ = write!(out, "{w}'d{v}");
            }
            Expr::Bit(e, i) => {
                e.render(out);
                let _ = write!(out, "[{i}]");
            }
            Expr::Slice(e, lsb, w) => {
                e.render(out);
                let _ = write!(out, "[{lsb} +: {w}]");
            }
            Expr::Concat(parts) => {
                out.push('{');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    p.render(out);
                }
                out.push('}');
            }
            Expr::Unary(op, e) => {
                out.push('(');
                out.push_str(op.symbol());
                e.render(out);
                out.push(')');
            }
            Expr::Binary(op, a, b) => {
                out.push('(');
                a.render(out);
                let _ = write!(out, " {} ", op.symbol());
                b.render(out);
                out.push(')');
            }
        }
    }

    /// The expression as Verilog text.
    pub fn to_verilog(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }
}

fn mask(w: usize) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    }
}

/// A module body item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `wire [w-1:0] name;` (a 1-bit handshake wire without a range).
    Wire(String, usize),
    /// `assign lhs = rhs;`
    Assign(Expr, Expr),
    /// A module instance (a library module, a vendor primitive, the link).
    Instance(Instance),
}

/// An instance of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Module name.
    pub module: String,
    /// Instance name.
    pub name: String,
    /// Comment lines written above the instance.
    pub comment: Vec<String>,
    /// `.P(value)` parameters, in order.
    pub params: Vec<(String, Param)>,
    /// `.port(expr)` connections, in order.
    pub ports: Vec<(String, Expr)>,
}

/// The value of an instance parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// An integer, in decimal.
    Int(i64),
    /// A sized unsigned constant: `width'dvalue` (vendor primitives take sized values).
    Sized(usize, u64),
    /// A string: lane kinds, memory styles, file names made of identifiers. Never a model's
    /// text: the renderer refuses quotes, backslashes, spaces and control characters.
    Str(String),
    /// Fields of `bits` bits packed into one vector, field 0 in the lowest bits (two's
    /// complement): `{field[n-1], ..., field[0]}`.
    Fields(usize, Vec<i64>),
}

impl Param {
    /// `true`/`false` as 1/0.
    pub fn flag(b: bool) -> Param {
        Param::Int(i64::from(b))
    }

    /// An integer from a count or size.
    pub fn int(v: usize) -> Param {
        Param::Int(i64::try_from(v).expect("a size fits in i64"))
    }

    fn render(&self) -> String {
        match self {
            Param::Int(v) => v.to_string(),
            Param::Sized(w, v) => format!("{w}'d{v}"),
            Param::Str(s) => {
                assert!(
                    s.chars()
                        .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\'),
                    "generator bug: unsafe string parameter {s:?}"
                );
                format!("\"{s}\"")
            }
            Param::Fields(bits, values) => {
                let field = |v: i64| format!("{bits}'h{:x}", (v as u128) & mask(*bits));
                match values.as_slice() {
                    [one] => field(*one),
                    _ => format!(
                        "{{{}}}",
                        values
                            .iter()
                            .rev()
                            .map(|&v| field(v))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
        }
    }
}

/// A Verilog module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Name.
    pub name: String,
    /// Header comment lines.
    pub header: Vec<String>,
    /// Ports, in order.
    pub ports: Vec<Port>,
    /// Body.
    pub items: Vec<Item>,
}

impl Module {
    /// An empty module.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        check_name(&name);
        Module {
            name,
            header: Vec::new(),
            ports: Vec::new(),
            items: Vec::new(),
        }
    }

    /// Adds an input.
    pub fn input(&mut self, name: &str, width: usize) -> Expr {
        self.port(name, Dir::Input, width)
    }

    /// Adds an output.
    pub fn output(&mut self, name: &str, width: usize) -> Expr {
        self.port(name, Dir::Output, width)
    }

    fn port(&mut self, name: &str, dir: Dir, width: usize) -> Expr {
        assert!(width >= 1, "port {name} has no bits");
        check_name(name);
        self.ports.push(Port {
            name: name.to_string(),
            dir,
            width,
        });
        r(name)
    }

    /// Declares a wire and returns a reference to it.
    pub fn wire(&mut self, name: &str, width: usize) -> Expr {
        assert!(width >= 1, "wire {name} has no bits");
        check_name(name);
        self.items.push(Item::Wire(name.to_string(), width));
        r(name)
    }

    /// Declares a wire driven by `value`.
    pub fn let_wire(&mut self, name: &str, width: usize, value: Expr) -> Expr {
        let w = self.wire(name, width);
        self.items.push(Item::Assign(w.clone(), value));
        w
    }

    /// `assign lhs = rhs;`
    pub fn assign(&mut self, lhs: Expr, rhs: Expr) {
        self.items.push(Item::Assign(lhs, rhs));
    }

    /// Adds an instance.
    pub fn instance(&mut self, instance: Instance) {
        check_name(&instance.name);
        self.items.push(Item::Instance(instance));
    }

    /// The module as Verilog text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            let _ = writeln!(out, "// {line}");
        }
        let _ = writeln!(out, "module {} (", self.name);
        for (i, p) in self.ports.iter().enumerate() {
            let dir = match p.dir {
                Dir::Input => "input  wire",
                Dir::Output => "output wire",
            };
            let sep = if i + 1 < self.ports.len() { "," } else { "" };
            let _ = writeln!(out, "    {dir} {}{}{sep}", range(&p.name, p.width), p.name);
        }
        out.push_str(");\n");
        for item in &self.items {
            render_item(item, &mut out);
        }
        out.push_str("endmodule\n");
        out
    }
}

/// Clock, reset and handshakes stay scalar; data always has a range, so that a 1-bit bus can
/// still be indexed.
fn range(name: &str, width: usize) -> String {
    if width == 1 && !name.ends_with("_data") {
        String::new()
    } else {
        format!("[{}:0] ", width - 1)
    }
}

/// Generator-chosen names must be plain identifiers and no (System)Verilog keyword (`inside`,
/// `bit`, `logic` … are easy to pick by accident). A violation is a bug in a generator.
fn check_name(name: &str) {
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    assert!(
        plain && !xnorc_compiler::sanitize::is_keyword(name),
        "generator bug: `{name}` is not a safe Verilog identifier"
    );
}

fn render_item(item: &Item, out: &mut String) {
    match item {
        Item::Wire(n, w) => {
            let _ = writeln!(out, "    wire {}{n};", range(n, *w));
        }
        Item::Assign(l, rhs) => {
            let _ = writeln!(out, "    assign {} = {};", l.to_verilog(), rhs.to_verilog());
        }
        Item::Instance(i) => render_instance(i, out),
    }
}

fn render_instance(i: &Instance, out: &mut String) {
    for line in &i.comment {
        let _ = writeln!(out, "    // {line}");
    }
    if i.params.is_empty() {
        let _ = writeln!(out, "    {} {} (", i.module, i.name);
    } else {
        let _ = writeln!(out, "    {} #(", i.module);
        for (n, (p, v)) in i.params.iter().enumerate() {
            let sep = if n + 1 < i.params.len() { "," } else { "" };
            let _ = writeln!(out, "        .{p}({}){sep}", v.render());
        }
        let _ = writeln!(out, "    ) {} (", i.name);
    }
    for (n, (p, e)) in i.ports.iter().enumerate() {
        let sep = if n + 1 < i.ports.len() { "," } else { "" };
        let _ = writeln!(out, "        .{p}({}){sep}", e.to_verilog());
    }
    out.push_str("    );\n");
}

/// Bits to count 0..n−1 (at least 1).
pub fn clog2(n: usize) -> usize {
    (usize::BITS - (n.max(2) - 1).leading_zeros()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_small_module() {
        let mut m = Module::new("m");
        m.header.push("demo".into());
        m.input("clk", 1);
        let a = m.input("a_data", 4);
        m.output("y_valid", 1);
        let y = m.output("y_data", 1);
        let n = m.let_wire("n", 1, a.clone().bit(0).op(BinOp::And, a.bit(3)));
        m.assign(y, n.clone().un(UnOp::Not));
        m.assign(r("y_valid"), n);
        m.instance(Instance {
            module: "xnorc_fifo".into(),
            name: "q".into(),
            comment: vec!["a queue".into()],
            params: vec![
                ("WIDTH".into(), Param::Int(4)),
                ("STYLE".into(), Param::Str("auto".into())),
                ("MUL".into(), Param::Fields(4, vec![1, -2])),
            ],
            ports: vec![("clk".into(), r("clk"))],
        });
        assert_eq!(
            m.render(),
            "// demo\nmodule m (\n    input  wire clk,\n    input  wire [3:0] a_data,\n    \
             output wire y_valid,\n    output wire [0:0] y_data\n);\n    wire n;\n    \
             assign n = (a_data[0] && a_data[3]);\n    assign y_data = (!n);\n    \
             assign y_valid = n;\n    // a queue\n    xnorc_fifo #(\n        .WIDTH(4),\n        \
             .STYLE(\"auto\"),\n        .MUL({4'he, 4'h1})\n    ) q (\n        .clk(clk)\n    );\n\
             endmodule\n"
        );
    }

    #[test]
    #[should_panic(expected = "unsafe string parameter")]
    fn string_parameters_cannot_carry_quotes() {
        Param::Str("a\" b".into()).render();
    }

    #[test]
    #[should_panic(expected = "not a safe Verilog identifier")]
    fn keywords_are_refused_as_names() {
        Module::new("m").wire("inside", 1);
    }

    #[test]
    fn selects_of_selects_compose() {
        assert_eq!(r("x").slice(8, 8).bit(7).to_verilog(), "x[15]");
        assert_eq!(r("x").slice(8, 8).slice(2, 3).to_verilog(), "x[10 +: 3]");
    }

    #[test]
    fn clog2_counts_bits() {
        assert_eq!([1, 2, 3, 4, 5, 64, 65].map(clog2), [1, 1, 2, 2, 3, 6, 7]);
    }
}
