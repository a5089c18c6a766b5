//! Cross-check of the generated Verilog against the protocol in Verilator (not rust-hdl):
//! the Rust simulation tests the blocks' Rust models, this runs the text [`link_verilog`]
//! actually emits, including the hand-written asynchronous-set flip-flops.
//!
//! Ignored by default because building a Verilator binary takes about 25 s; run it with
//! `cargo test -p xnorc-rtl shell_verilator -- --ignored`.

use super::sim::run_tools;
use super::{link_verilog, LinkParams};

/// Bit-by-bit CRC-16/CCITT-FALSE from its definition.
fn model_crc(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Testbench: a host task bit-bangs bytes at 8 clocks per bit, a fake core prints each
/// request byte it takes (random backpressure) and answers C0 01 A5 with random gaps, a
/// decoder prints each response byte. Between the third and fourth request a 20 ns reset
/// request pulse checks the asynchronous reset path.
const TESTBENCH: &str = r#"
`timescale 1ns/1ps
module tb;
  localparam CPB = 8;
  reg clock = 0;
  always #5 clock = ~clock;
  reg reset_req = 0, uart_rx = 1, req_ready = 0, resp_valid = 0;
  reg [7:0] resp_data = 0;
  wire reset, uart_tx, led, req_valid, resp_ready;
  wire [7:0] req_data;
  vlink dut(.clock(clock), .reset_req(reset_req), .reset(reset), .uart_rx(uart_rx),
    .uart_tx(uart_tx), .led(led), .req_data(req_data), .req_valid(req_valid),
    .req_ready(req_ready), .resp_data(resp_data), .resp_valid(resp_valid),
    .resp_ready(resp_ready));
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
  reg [7:0] b;
  integer i;
  initial forever begin
    @(negedge uart_tx);
    #(CPB * 10 / 2);
    for (i = 0; i < 8; i = i + 1) begin #(CPB * 10); b[i] = uart_tx; end
    #(CPB * 10);
    $display("RESP %02x %0d", b, uart_tx);
  end
  task send(input [7:0] v);
    integer k;
    begin
      @(posedge clock); #1 uart_rx = 0;
      repeat (CPB) @(posedge clock); #1;
      for (k = 0; k < 8; k = k + 1) begin uart_rx = v[k]; repeat (CPB) @(posedge clock); #1; end
      uart_rx = 1;
      repeat (CPB + 3) @(posedge clock);
    end
  endtask
  initial begin
    repeat (30) @(posedge clock);
    SEND_REQUESTS
    $finish;
  end
endmodule
"#;

#[test]
#[ignore = "builds a Verilator binary (about 25 s)"]
fn shell_verilator_runs_the_protocol() {
    let params = LinkParams {
        clocks_per_bit: 8,
        request_bytes: 5,
        response_bytes: 3,
        timeout_cycles: 160,
        led_cycles: 50,
    };
    let link = link_verilog(&params, "vlink").unwrap();
    let payload = [1u8, 2, 3, 4, 5];
    let good: Vec<u8> = [&[0xA5][..], &payload, &model_crc(&payload).to_be_bytes()].concat();
    let mut bad = good.clone();
    bad[7] ^= 1;
    let send = |bytes: &[u8], wait: usize| {
        let mut s: String = bytes
            .iter()
            .map(|b| format!("send(8'h{b:02x}); "))
            .collect();
        s.push_str(&format!("repeat ({wait}) @(posedge clock);\n"));
        s
    };
    let script = [
        send(&[&[0x00, 0x5A][..], &good].concat(), 800),
        send(&bad, 800),
        send(&[0xA5, 0x77, 0x88], 1200),
        "#3 reset_req = 1; #20 reset_req = 0; repeat (40) @(posedge clock);\n".to_string(),
        send(&good, 800),
    ]
    .concat();
    let tb = TESTBENCH.replace("SEND_REQUESTS", &script);
    let build: &[&str] = &[
        "--binary",
        "--timing",
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
    let Some(out) = run_tools(
        "verilator",
        &[("verilator", build), ("obj_dir/tbsim", &[])],
        &[("tb.sv", &tb), ("link.v", &link)],
    ) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let core: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CORE "))
        .collect();
    let resp: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("RESP "))
        .collect();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>();
    let mut want_core = hex(&payload);
    want_core.extend(hex(&payload));
    want_core.extend(hex(&[0x77, 0x88, 0, 0, 0]));
    want_core.extend(hex(&payload));
    assert_eq!(core, want_core);
    let frame = |status: u8| {
        let body = [status, 0xC0, 0x01, 0xA5];
        let f = [&[0x5A][..], &body, &model_crc(&body).to_be_bytes()].concat();
        f.iter().map(|b| format!("{b:02x} 1")).collect::<Vec<_>>()
    };
    let want_resp: Vec<String> = [frame(0), frame(1), frame(2), frame(0)].concat();
    assert_eq!(resp, want_resp);
}
