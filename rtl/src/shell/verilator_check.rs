//! Cross-check of the generated Verilog against the protocol in Verilator (not rust-hdl):
//! the Rust simulation tests the blocks' Rust models, this runs the text [`link_verilog`]
//! actually emits, including the hand-written asynchronous-set flip-flops.
//!
//! Runs by default; about 6 s, nearly all of it compiling the Verilator model. To keep that
//! short the testbench is fully clocked (no `--timing`, so no coroutine runtime), driven by
//! a small C++ main, compiled without optimization into few translation units.

use super::link::{ticks_for, SlowTimers};
use super::sim::{model_crc16, run_tools};
use super::{link_verilog, LinkParams};

/// Testbench, clocked by the C++ main. The host runs a command script (`SCRIPT`: send a
/// byte at 8 clocks per bit, wait, pulse the reset request, finish); a fake core prints each
/// request byte it takes (random backpressure) and answers C0 01 A5 with random gaps; a
/// decoder prints each response byte with its stop bit and the cycle; LED changes are
/// printed with their cycle. The reset request pulse rises and falls on falling clock edges,
/// so the synchronizer's asynchronous stages catch it between rising edges.
const TESTBENCH: &str = r#"
module tb(input clock);
  localparam CPB = 8;
  reg reset_req = 0, uart_rx = 1, req_ready = 0, resp_valid = 0;
  reg [7:0] resp_data = 0;
  wire reset, uart_tx, led, req_valid, resp_ready;
  wire [7:0] req_data;
  vlink dut(.clock(clock), .reset_req(reset_req), .reset(reset), .uart_rx(uart_rx),
    .uart_tx(uart_tx), .led(led), .req_data(req_data), .req_valid(req_valid),
    .req_ready(req_ready), .resp_data(resp_data), .resp_valid(resp_valid),
    .resp_ready(resp_ready));
  integer cycle = 0;
  always @(posedge clock) cycle <= cycle + 1;
  // Fake core.
  integer taken = 0, given = 0;
  reg producing = 0;
  reg [7:0] response [0:2];
  initial begin response[0] = 8'hC0; response[1] = 8'h01; response[2] = 8'hA5; end
  always @(posedge clock) begin
    if (reset) begin
      taken <= 0; producing <= 0; resp_valid <= 0;
    end else begin
      if (req_valid && req_ready) begin
        $display("CORE %02x", req_data);
        taken <= taken + 1;
        if (taken == 4) begin taken <= 0; producing <= 1; given <= 0; end
      end
      if (resp_valid && resp_ready) begin
        resp_valid <= 0;
        if (given == 2) producing <= 0;
        given <= given + 1;
      end else if (producing && !resp_valid && ($urandom & 3) == 0) begin
        resp_valid <= 1;
        resp_data <= response[given];
      end
    end
    req_ready <= $urandom & 1;
  end
  // Host sender: {op, arg}: 0 send byte arg, 1 wait arg cycles, 2 reset pulse, 3 finish.
  reg [23:0] script [0:255];
  initial begin
SCRIPT
  end
  integer pc = 0, left = 0, nbits = 0, pulse = 0;
  reg [9:0] frame = 10'h3ff;
  always @(posedge clock) begin
    if (pulse > 0) pulse <= pulse - 1;
    if (left > 0) left <= left - 1;
    else if (nbits > 0) begin
      // Start bit, 8 data bits LSB first, then the stop bit, which also holds the line high
      // for 3 more cycles.
      uart_rx <= frame[0];
      frame <= {1'b1, frame[9:1]};
      nbits <= nbits - 1;
      left <= (nbits == 1) ? CPB + 2 : CPB - 1;
    end else begin
      pc <= pc + 1;
      case (script[pc][23:22])
        2'd0: begin frame <= {1'b1, script[pc][7:0], 1'b0}; nbits <= 10; end
        2'd1: left <= script[pc][21:0];
        2'd2: begin pulse <= 2; left <= 40; end
        default: $finish;
      endcase
    end
  end
  always @(negedge clock) reset_req <= pulse != 0;
  // Response decoder: samples each bit at its middle.
  reg prev_tx = 1, decoding = 0;
  integer wait_cycles = 0, bit_index = 0;
  reg [7:0] b = 0;
  always @(posedge clock) begin
    prev_tx <= uart_tx;
    if (!decoding) begin
      if (prev_tx && !uart_tx) begin
        decoding <= 1; bit_index <= 0; wait_cycles <= CPB + CPB / 2 - 2;
      end
    end else if (wait_cycles > 0) wait_cycles <= wait_cycles - 1;
    else if (bit_index < 8) begin
      b[bit_index[2:0]] <= uart_tx; bit_index <= bit_index + 1; wait_cycles <= CPB - 1;
    end else begin
      $display("RESP %02x %0d %0d", b, uart_tx, cycle);
      decoding <= 0;
    end
  end
  reg prev_led = 0;
  always @(posedge clock) begin
    prev_led <= led;
    if (led != prev_led) $display("LED %0d %0d", led, cycle);
  end
endmodule
"#;

const MAIN: &str = r#"
#include "Vtb.h"
#include "verilated.h"
int main(int argc, char** argv) {
    VerilatedContext context;
    context.commandArgs(argc, argv);
    Vtb top{&context};
    for (long i = 0; i < 1000000 && !context.gotFinish(); ++i) {
        top.clock = 0;
        top.eval();
        top.clock = 1;
        top.eval();
    }
    top.final();
    return context.gotFinish() ? 0 : 1;
}
"#;

/// A script command for the testbench's host.
enum Host<'a> {
    Send(&'a [u8]),
    Wait(u32),
    ResetPulse,
}

fn script(commands: &[Host]) -> String {
    let mut words = Vec::new();
    for c in commands {
        match c {
            Host::Send(bytes) => words.extend(bytes.iter().map(|&b| u32::from(b))),
            Host::Wait(n) => words.push(1 << 22 | n),
            Host::ResetPulse => words.push(2 << 22),
        }
    }
    words.push(3 << 22);
    assert!(words.len() <= 256);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| format!("    script[{i}] = 24'h{w:06x};\n"))
        .collect()
}

#[test]
fn shell_verilator_runs_the_protocol() {
    let params = LinkParams {
        clocks_per_bit: 8,
        request_bytes: 5,
        response_bytes: 3,
        timeout_cycles: 160,
        // Long enough that the slow timers count prescaled ticks (period 4).
        led_cycles: 5000,
        // The copies, as on ECP5: the protocol must not notice them.
        reset_copies: true,
    };
    let slow = SlowTimers::new(&params);
    assert_eq!(slow.shift, 2);
    let link = link_verilog(&params, "vlink").unwrap();
    let payload = [1u8, 2, 3, 4, 5];
    let good: Vec<u8> = [&[0xA5][..], &payload, &model_crc16(&payload).to_be_bytes()].concat();
    let mut bad = good.clone();
    bad[7] ^= 1;
    let noisy = [&[0x00, 0x5A][..], &good].concat();
    let tb = TESTBENCH.replace(
        "SCRIPT",
        &script(&[
            Host::Wait(30),
            Host::Send(&noisy),
            Host::Wait(800),
            Host::Send(&bad),
            Host::Wait(800),
            Host::Send(&[0xA5, 0x77, 0x88]),
            Host::Wait(1200),
            Host::ResetPulse,
            Host::Send(&good),
            Host::Wait(800 + 5100),
        ]),
    );
    let build: &[&str] = &[
        "--cc",
        "--exe",
        "--build",
        "main.cpp",
        "-MAKEFLAGS",
        "OPT_FAST=-O0",
        "-MAKEFLAGS",
        "OPT_SLOW=-O0",
        "-MAKEFLAGS",
        "OPT_GLOBAL=-O0",
        "--output-split",
        "0",
        "--output-split-cfuncs",
        "0",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "--top-module",
        "tb",
        "tb.sv",
        "link.v",
        "-o",
        "tbsim",
    ];
    let out = run_tools(
        &["verilator"],
        &[("verilator", build), ("obj_dir/tbsim", &[])],
        &[("tb.sv", &tb), ("link.v", &link), ("main.cpp", MAIN)],
    )
    .pop()
    .expect("verilator ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = |prefix: &str| -> Vec<Vec<String>> {
        stdout
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|l| l.split(' ').map(str::to_string).collect())
            .collect()
    };
    let core: Vec<String> = lines("CORE ").into_iter().map(|w| w[0].clone()).collect();
    let resp = lines("RESP ");
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>();
    let mut want_core = hex(&payload);
    want_core.extend(hex(&payload));
    want_core.extend(hex(&[0x77, 0x88, 0, 0, 0]));
    want_core.extend(hex(&payload));
    assert_eq!(core, want_core);
    let frame = |status: u8| {
        let body = [status, 0xC0, 0x01, 0xA5];
        let f = [&[0x5A][..], &body, &model_crc16(&body).to_be_bytes()].concat();
        f.iter().map(|b| format!("{b:02x} 1")).collect::<Vec<_>>()
    };
    let want_resp: Vec<String> = [frame(0), frame(1), frame(2), frame(0)].concat();
    let got_resp: Vec<String> = resp.iter().map(|w| format!("{} {}", w[0], w[1])).collect();
    assert_eq!(got_resp, want_resp);
    // The LED ends off (it also went off in the reset), led_cycles (prescaled: up to 2 ticks
    // more) after the last response's stop bit, whose middle the decoder reports.
    let leds = lines("LED ");
    let last = leds.last().expect("LED changes");
    assert_eq!(last[0], "0", "{leds:?}");
    let last_off: u64 = last[1].parse().unwrap();
    let stop_mid: u64 = resp.last().unwrap()[2].parse().unwrap();
    let after = last_off - stop_mid;
    let led = u64::from(params.led_cycles);
    let tick = 1u64 << slow.shift;
    assert_eq!(slow.led_ticks, ticks_for(params.led_cycles, slow.shift));
    assert!(
        (led..=led + 2 * tick + 8).contains(&after),
        "LED off {after} cycles after the last stop bit's middle"
    );
}
