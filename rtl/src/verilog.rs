//! A small typed layer for structural Verilog: modules, ports, declarations, expressions,
//! clocked statements and instances, rendered deterministically.
//!
//! Generators build these values instead of formatting strings, so every identifier passes
//! through one place ([`ident`]) and every expression is fully parenthesized (no precedence
//! surprises). Widths are the generator's job: the renderer does not infer them.

use std::fmt::Write;

/// Port direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Input port.
    Input,
    /// Output port (driven by a `wire` assign or a `reg`).
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
    /// Declared `reg` (assigned in an always block).
    pub is_reg: bool,
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A signal by name.
    Ref(String),
    /// A sized constant: `width'd value` (or `'sd` when negative, two's complement).
    Lit(usize, i128),
    /// `e[i]` with a constant index.
    Bit(Box<Expr>, usize),
    /// `e[lsb +: width]` with constant bounds.
    Slice(Box<Expr>, usize, usize),
    /// `mem[addr]` with a dynamic address.
    Index(String, Box<Expr>),
    /// `{a, b, ...}` (first element in the most significant bits).
    Concat(Vec<Expr>),
    /// `{n{e}}`.
    Repeat(usize, Box<Expr>),
    /// A unary operator.
    Unary(&'static str, Box<Expr>),
    /// A binary operator.
    Binary(&'static str, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `$signed(e)`.
    Signed(Box<Expr>),
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
    pub fn op(self, op: &'static str, rhs: Expr) -> Expr {
        Expr::Binary(op, Box::new(self), Box::new(rhs))
    }
    /// `self ? a : b`.
    pub fn cond(self, a: Expr, b: Expr) -> Expr {
        Expr::Cond(Box::new(self), Box::new(a), Box::new(b))
    }
    /// Unary operator.
    pub fn un(self, op: &'static str) -> Expr {
        Expr::Unary(op, Box::new(self))
    }
    /// `$signed(self)`.
    pub fn signed(self) -> Expr {
        Expr::Signed(Box::new(self))
    }

    fn render(&self, out: &mut String) {
        match self {
            Expr::Ref(n) => out.push_str(n),
            Expr::Lit(w, v) if *v < 0 => {
                // Two's complement bits of v in w bits, written unsigned so no sign games.
                let bits = (*v as u128) & mask(*w);
                let _ = write!(out, "{w}'h{bits:x}");
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
            Expr::Index(m, a) => {
                out.push_str(m);
                out.push('[');
                a.render(out);
                out.push(']');
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
            Expr::Repeat(n, e) => {
                let _ = write!(out, "{{{n}{{");
                e.render(out);
                out.push_str("}}");
            }
            Expr::Unary(op, e) => {
                out.push('(');
                out.push_str(op);
                e.render(out);
                out.push(')');
            }
            Expr::Binary(op, a, b) => {
                out.push('(');
                a.render(out);
                let _ = write!(out, " {op} ");
                b.render(out);
                out.push(')');
            }
            Expr::Cond(c, a, b) => {
                out.push('(');
                c.render(out);
                out.push_str(" ? ");
                a.render(out);
                out.push_str(" : ");
                b.render(out);
                out.push(')');
            }
            Expr::Signed(e) => {
                out.push_str("$signed(");
                e.render(out);
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

/// A statement inside `always @(posedge clk)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// `lhs <= rhs;`
    Set(Expr, Expr),
    /// `if (c) begin .. end else begin .. end`
    If(Expr, Vec<Stmt>, Vec<Stmt>),
}

/// `lhs <= rhs`.
pub fn set(lhs: Expr, rhs: Expr) -> Stmt {
    Stmt::Set(lhs, rhs)
}

/// `if (c) { then }`.
pub fn when(c: Expr, then: Vec<Stmt>) -> Stmt {
    Stmt::If(c, then, Vec::new())
}

/// A module body item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `// text`
    Comment(String),
    /// `wire [w-1:0] name;` (optionally signed)
    Wire(String, usize, bool),
    /// `reg [w-1:0] name;` (optionally signed)
    Reg(String, usize, bool),
    /// `reg [w-1:0] name [0:depth-1];` with an optional `$readmemh` file and a synthesis
    /// attribute naming the memory style.
    Memory {
        /// Name.
        name: String,
        /// Word width.
        width: usize,
        /// Words.
        depth: usize,
        /// Initialization file (hex, one word per line), relative to the tool's directory.
        init: Option<String>,
        /// `block` or `distributed`/`logic`, as yosys's `ram_style` attribute.
        style: Option<&'static str>,
    },
    /// `assign lhs = rhs;`
    Assign(Expr, Expr),
    /// `always @(posedge clk) begin ... end`
    Always(Vec<Stmt>),
    /// A vendor primitive instance with parameters (`module #(.P(v), ..) name (..)`); values
    /// are Verilog literals written by the generator (never text from a model file).
    Primitive {
        /// Primitive name (e.g. `SB_PLL40_PAD`).
        module: String,
        /// Instance name.
        name: String,
        /// `.P(value)` parameters.
        params: Vec<(String, String)>,
        /// `.port(expr)` connections.
        ports: Vec<(String, Expr)>,
    },
    /// A module instance.
    Instance {
        /// Module name.
        module: String,
        /// Instance name.
        name: String,
        /// `.port(expr)` connections.
        ports: Vec<(String, Expr)>,
    },
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
        Module {
            name: name.into(),
            header: Vec::new(),
            ports: Vec::new(),
            items: Vec::new(),
        }
    }

    /// Adds an input.
    pub fn input(&mut self, name: &str, width: usize) -> Expr {
        self.port(name, Dir::Input, width, false)
    }

    /// Adds an output driven by `assign`.
    pub fn output(&mut self, name: &str, width: usize) -> Expr {
        self.port(name, Dir::Output, width, false)
    }

    /// Adds an output driven by a register.
    pub fn output_reg(&mut self, name: &str, width: usize) -> Expr {
        self.port(name, Dir::Output, width, true)
    }

    fn port(&mut self, name: &str, dir: Dir, width: usize, is_reg: bool) -> Expr {
        assert!(width >= 1, "port {name} has no bits");
        check_name(name);
        self.ports.push(Port {
            name: name.to_string(),
            dir,
            width,
            is_reg,
        });
        r(name)
    }

    /// Declares a wire and returns a reference to it.
    pub fn wire(&mut self, name: &str, width: usize) -> Expr {
        assert!(width >= 1, "wire {name} has no bits");
        check_name(name);
        self.items.push(Item::Wire(name.to_string(), width, false));
        r(name)
    }

    /// Declares a wire driven by `value`.
    pub fn let_wire(&mut self, name: &str, width: usize, value: Expr) -> Expr {
        let w = self.wire(name, width);
        self.items.push(Item::Assign(w.clone(), value));
        w
    }

    /// Declares a register.
    pub fn reg(&mut self, name: &str, width: usize) -> Expr {
        assert!(width >= 1, "reg {name} has no bits");
        check_name(name);
        self.items.push(Item::Reg(name.to_string(), width, false));
        r(name)
    }

    /// `assign lhs = rhs;`
    pub fn assign(&mut self, lhs: Expr, rhs: Expr) {
        self.items.push(Item::Assign(lhs, rhs));
    }

    /// `always @(posedge clk)` block.
    pub fn always(&mut self, body: Vec<Stmt>) {
        self.items.push(Item::Always(body));
    }

    /// A comment line in the body.
    pub fn comment(&mut self, text: impl Into<String>) {
        self.items.push(Item::Comment(text.into()));
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
                Dir::Output if p.is_reg => "output reg ",
                Dir::Output => "output wire",
            };
            let sep = if i + 1 < self.ports.len() { "," } else { "" };
            // Clock, reset and handshakes stay scalar; data ports always have a range so that
            // a 1-bit bus can still be indexed.
            let scalar = SCALAR_PORTS.contains(&p.name.as_str());
            let range = if scalar {
                String::new()
            } else {
                range(p.width)
            };
            let _ = writeln!(out, "    {dir} {range}{}{sep}", p.name);
        }
        out.push_str(");\n");
        for item in &self.items {
            render_item(item, &mut out);
        }
        out.push_str("endmodule\n");
        out
    }
}

/// Ports declared without a range.
const SCALAR_PORTS: &[&str] = &[
    "clk",
    "rst",
    "in_valid",
    "in_ready",
    "out_valid",
    "out_ready",
];

/// `[w-1:0] `, also for w = 1: every declared signal can be bit-selected.
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

fn range(width: usize) -> String {
    format!("[{}:0] ", width - 1)
}

fn render_item(item: &Item, out: &mut String) {
    match item {
        Item::Comment(t) => {
            for line in t.lines() {
                let _ = writeln!(out, "    // {line}");
            }
        }
        Item::Wire(n, w, s) => {
            let sign = if *s { "signed " } else { "" };
            let _ = writeln!(out, "    wire {sign}{}{n};", range(*w));
        }
        Item::Reg(n, w, s) => {
            let sign = if *s { "signed " } else { "" };
            let _ = writeln!(out, "    reg {sign}{}{n};", range(*w));
        }
        Item::Memory {
            name,
            width,
            depth,
            init,
            style,
        } => {
            if let Some(style) = style {
                let _ = writeln!(out, "    (* ram_style = \"{style}\" *)");
            }
            let _ = writeln!(out, "    reg {}{name} [0:{}];", range(*width), depth - 1);
            if let Some(file) = init {
                let _ = writeln!(out, "    initial $readmemh(\"{file}\", {name});");
            }
        }
        Item::Assign(l, rhs) => {
            let _ = writeln!(out, "    assign {} = {};", l.to_verilog(), rhs.to_verilog());
        }
        Item::Always(body) => {
            out.push_str("    always @(posedge clk) begin\n");
            for s in body {
                render_stmt(s, 2, out);
            }
            out.push_str("    end\n");
        }
        Item::Instance {
            module,
            name,
            ports,
        } => {
            let _ = writeln!(out, "    {module} {name} (");
            for (i, (p, e)) in ports.iter().enumerate() {
                let sep = if i + 1 < ports.len() { "," } else { "" };
                let _ = writeln!(out, "        .{p}({}){sep}", e.to_verilog());
            }
            out.push_str("    );\n");
        }
        Item::Primitive {
            module,
            name,
            params,
            ports,
        } => {
            let _ = writeln!(out, "    {module} #(");
            for (i, (p, v)) in params.iter().enumerate() {
                let sep = if i + 1 < params.len() { "," } else { "" };
                let _ = writeln!(out, "        .{p}({v}){sep}");
            }
            let _ = writeln!(out, "    ) {name} (");
            for (i, (p, e)) in ports.iter().enumerate() {
                let sep = if i + 1 < ports.len() { "," } else { "" };
                let _ = writeln!(out, "        .{p}({}){sep}", e.to_verilog());
            }
            out.push_str("    );\n");
        }
    }
}

fn render_stmt(s: &Stmt, depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    match s {
        Stmt::Set(l, rhs) => {
            let _ = writeln!(out, "{pad}{} <= {};", l.to_verilog(), rhs.to_verilog());
        }
        Stmt::If(c, t, e) => {
            let _ = writeln!(out, "{pad}if ({}) begin", c.to_verilog());
            for s in t {
                render_stmt(s, depth + 1, out);
            }
            if e.is_empty() {
                let _ = writeln!(out, "{pad}end");
            } else {
                let _ = writeln!(out, "{pad}end else begin");
                for s in e {
                    render_stmt(s, depth + 1, out);
                }
                let _ = writeln!(out, "{pad}end");
            }
        }
    }
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
        let clk = m.input("clk", 1);
        let _ = clk;
        let a = m.input("a", 4);
        let y = m.output_reg("y", 4);
        let n = m.let_wire("n", 4, a.clone().op("+", lit(4, -1)));
        m.always(vec![when(a.clone().bit(0), vec![set(y, n)])]);
        let text = m.render();
        assert_eq!(
            text,
            "// demo\nmodule m (\n    input  wire clk,\n    input  wire [3:0] a,\n    output reg  [3:0] y\n);\n    wire [3:0] n;\n    assign n = (a + 4'hf);\n    always @(posedge clk) begin\n        if (a[0]) begin\n            y <= n;\n        end\n    end\nendmodule\n"
        );
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
