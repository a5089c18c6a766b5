//! The block RAM output-register move (`xnorc_boards::outreg`) on netlists yosys itself wrote
//! with `synth_ecp5`: a 36-bit ROM read and a narrow RAM read, each followed by a register,
//! give their registers to the block; a read whose data meets logic first keeps its block as
//! it was.

use std::process::Command;
use xnorc_boards::outreg::{absorb, Absorbed};
use xnorc_boards::tools::{self, Tool};

/// `synth_ecp5` of `verilog` (top module `top`), flattened, as yosys's JSON.
fn synthesize(verilog: &str) -> serde_json::Value {
    let yosys = tools::find(Tool::Yosys).expect("yosys missing: run `make setup`");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.v"), verilog).unwrap();
    let out = Command::new(&yosys.path)
        .current_dir(dir.path())
        .args([
            "-q",
            "-p",
            "read_verilog t.v; synth_ecp5 -top top; write_json t.json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.path().join("t.json")).unwrap()).unwrap()
}

fn cells_of<'n>(n: &'n serde_json::Value, kind: &str) -> Vec<&'n serde_json::Value> {
    n["modules"]["top"]["cells"]
        .as_object()
        .unwrap()
        .values()
        .filter(|c| c["type"] == kind)
        .collect()
}

/// A 512 × 36 ROM (yosys's pseudo-dual-port map, one DP16KD) read into `rom_q`, then a
/// registered copy of it; and a 1024 × 9 RAM written and read (true dual-port), its read
/// register followed by `ram_q` when `plain` or by an XOR with the write data otherwise.
fn design(plain: bool) -> String {
    let ram_next = if plain { "ram_d" } else { "ram_d ^ wd" };
    format!(
        "module top(input clk, input [8:0] ra, input [9:0] wa, input [9:0] rb, input we,
                   input [8:0] wd, output reg [35:0] rom_q, output reg [8:0] ram_q);
            reg [35:0] rom [0:511];
            integer i;
            initial for (i = 0; i < 512; i = i + 1) rom[i] = {{i[8:0], ~i[8:0], i[8:0] ^ 9'h155, i[8:0] + 9'd7}};
            reg [35:0] rom_d;
            always @(posedge clk) rom_d <= rom[ra];
            always @(posedge clk) rom_q <= rom_d;
            // no_rw_check, as xnorc_bram_fifo's storage has: a read of the word being written
            // would otherwise get yosys's bypass logic between the block and the register.
            (* no_rw_check *) reg [8:0] ram [0:1023];
            reg [8:0] ram_d;
            always @(posedge clk) if (we) ram[wa] <= wd;
            always @(posedge clk) ram_d <= ram[rb];
            always @(posedge clk) ram_q <= {ram_next};
        endmodule"
    )
}

#[test]
fn registers_after_block_rams_move_into_them() {
    let mut n = synthesize(&design(true));
    let before_ffs = cells_of(&n, "TRELLIS_FF").len();
    let rams = cells_of(&n, "DP16KD").len();
    assert_eq!(rams, 2, "one block for the ROM, one for the RAM");
    let got = absorb(&mut n, "top").unwrap();
    assert_eq!(
        got,
        Absorbed {
            ports: 2,
            flip_flops: 36 + 9
        }
    );
    assert_eq!(cells_of(&n, "TRELLIS_FF").len(), before_ffs - 45);
    for ram in cells_of(&n, "DP16KD") {
        let read_b = &ram["parameters"]["REGMODE_B"];
        assert_eq!(read_b, "OUTREG", "{}", ram["parameters"]);
    }
}

#[test]
fn a_read_that_meets_logic_first_keeps_its_block_as_it_was() {
    let mut n = synthesize(&design(false));
    let got = absorb(&mut n, "top").unwrap();
    // The ROM still gives its register; the RAM's data goes through LUTs.
    assert_eq!(
        got,
        Absorbed {
            ports: 1,
            flip_flops: 36
        }
    );
    let narrow: Vec<_> = cells_of(&n, "DP16KD")
        .into_iter()
        .filter(|c| c["parameters"]["REGMODE_B"] == "NOREG")
        .collect();
    assert_eq!(narrow.len(), 1);
}
