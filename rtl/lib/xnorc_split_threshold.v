// xnorc_split_threshold: the threshold stage of a layer with split channels (filters spanning
// two tiled chunks of different scale; docs/hardware.md, "Split partial sums").
//
// Computation
//   One accumulator (ACC_W bits, two's complement, the low bits of the beat) arrives per beat:
//   the layer's O outputs in channel order, then its probe rows, ROWS in all. Output j < O
//   compares with its threshold and shifts its bit into the output word; a split channel's own
//   accumulator v is also held. At probe row SPLIT_PROBE_ROW[q], split channel q forms its key
//   from v and the probe's accumulator u (SPLIT_KEY: 0: v - u, 1: (v - u) / 2 as the difference
//   of halves, 2: u), reads the threshold on v from its table at key + SPLIT_OFFSET[q] (modulo
//   2^TABLE_AW: the table's base minus its least key) and overwrites the channel's bit with
//   v >= entry (SPLIT_GE[q] = 1) or its complement. Every compare is an unsigned >= of
//   offset-binary values, as in xnorc_mvu.
// Memories (xnorc_rom in logic, read asynchronously)
//   THRESHOLDS_FILE  O words of ACC_W + 1 bits: the offset-binary bound, direction bit on top.
//   TABLES_FILE      TABLE_DEPTH words of ACC_W bits: every split channel's table, one after
//                    the other.
// Interface
//   in_*   valid/ready stream of IN_W-bit beats (the accumulator in the low ACC_W bits).
//   out_*  valid/ready stream of O bits (channel c at bit c); out_valid, out_data registered.
// Timing (xnorc_plan's SplitThreshold component: a width converter's)
//   in_ready = !out_valid || out_ready; the beat of the last row registers the word, valid in
//   the next cycle.
// Parameters
//   O >= 1, ROWS >= 2 (outputs and at least one probe row), 2 <= ACC_W <= IN_W; SPLITS >= 1;
//   per split channel q, 32-bit fields at [q*32 +: 32] of SPLIT_CHANNEL (< O),
//   SPLIT_PROBE_ROW (O <= row < ROWS), SPLIT_OFFSET, and SPLIT_KEY (2 bits), SPLIT_GE (1 bit).
`default_nettype none

module xnorc_split_threshold #(
    parameter integer O = 1,
    parameter integer ROWS = 2,
    parameter integer ACC_W = 2,
    parameter integer IN_W = 2,
    parameter THRESHOLDS_FILE = "",
    parameter TABLES_FILE = "",
    parameter integer TABLE_DEPTH = 1,
    parameter integer SPLITS = 1,
    parameter [SPLITS*32-1:0] SPLIT_CHANNEL = 0,
    parameter [SPLITS*32-1:0] SPLIT_PROBE_ROW = 0,
    parameter [SPLITS*2-1:0] SPLIT_KEY = 0,
    parameter [SPLITS*32-1:0] SPLIT_OFFSET = 0,
    parameter [SPLITS-1:0] SPLIT_GE = 0
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            in_valid,
    output wire            in_ready,
    // Only the accumulator's bits are read.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [IN_W-1:0] in_data,
    /* verilator lint_on UNUSEDSIGNAL */
    output reg             out_valid,
    input  wire            out_ready,
    output reg  [   O-1:0] out_data
);
    localparam integer A = ACC_W;
    localparam integer JW = $clog2(ROWS);
    localparam integer TW = (O > 1) ? $clog2(O) : 1;
    localparam integer THR_AW = (TW < JW) ? TW : JW;
    localparam integer TABLE_AW = (TABLE_DEPTH > 1) ? $clog2(TABLE_DEPTH) : 1;
    localparam integer ROWS_LAST_I = ROWS - 1;
    localparam [JW-1:0] ROWS_LAST = ROWS_LAST_I[JW-1:0];
    localparam [JW-1:0] J_O = O[JW-1:0];

    generate
        if (O < 1 || ROWS < 2 || A < 2 || A > IN_W || SPLITS < 1) begin : bad_shape
            $error("xnorc_split_threshold: needs O >= 1, ROWS >= 2, 2 <= ACC_W <= IN_W, SPLITS >= 1");
        end
    endgenerate

    // The collecting handshake of a width converter, one group per ROWS input beats.
    assign in_ready = !out_valid || out_ready;
    wire fire = in_valid && in_ready;
    reg [JW-1:0] row;
    wire completes = fire && row == ROWS_LAST;
    always @(posedge clk) begin
        if (rst) begin
            row <= {JW{1'b0}};
            out_valid <= 1'b0;
        end else begin
            if (fire) row <= completes ? {JW{1'b0}} : row + 1'b1;
            out_valid <= completes || (out_valid && !out_ready);
        end
    end

    wire [A-1:0] acc = in_data[A-1:0];
    wire [A-1:0] acc_biased = {~acc[A-1], acc[A-2:0]};

    // Plain channels: {ge, bound} per channel, read at the row counter.
    wire [A:0] threshold;
    xnorc_rom #(
        .WIDTH(A + 1),
        .DEPTH(O),
        .ADDR_W(THR_AW),
        .REGISTERED(0),
        .INIT_FILE(THRESHOLDS_FILE),
        .STYLE("logic")
    ) thresholds (
        .clk(clk),
        .addr(row[THR_AW-1:0]),
        .rdata(threshold)
    );
    wire at_least = acc_biased >= threshold[A-1:0];
    wire cmp = threshold[A] ? at_least : !at_least;
    reg [O-1:0] bits;
    wire shifting = fire && row < J_O;

    // Split channels: held accumulator, key, table read, decision.
    wire [SPLITS-1:0] decided;
    wire [O-1:0] patched;
    genvar q, c;
    generate
        for (q = 0; q < SPLITS; q = q + 1) begin : split
            localparam integer CHANNEL = SPLIT_CHANNEL[q*32+:32];
            localparam integer PROBE_ROW = SPLIT_PROBE_ROW[q*32+:32];
            localparam integer KEY = {30'd0, SPLIT_KEY[q*2+:2]};
            localparam [JW-1:0] CHANNEL_ROW = CHANNEL[JW-1:0];
            localparam [JW-1:0] PROBE = PROBE_ROW[JW-1:0];
            localparam [TABLE_AW-1:0] OFFSET = SPLIT_OFFSET[q*32+:TABLE_AW];
            reg [A-1:0] held;
            always @(posedge clk) if (fire && row == CHANNEL_ROW) held <= acc;
            // The key modulo 2^TABLE_AW (exact: the true address is below it). Half a
            // difference of two values of one parity is the difference of their halves.
            localparam integer KEY_W = (KEY == 1) ? A - 1 : A;
            // Bits above the table's address width do not matter (modular arithmetic).
            /* verilator lint_off UNUSEDSIGNAL */
            wire [KEY_W-1:0] v_part = (KEY == 1) ? held[A-1:A-KEY_W] : held[KEY_W-1:0];
            wire [KEY_W-1:0] u_part = (KEY == 1) ? acc[A-1:A-KEY_W] : acc[KEY_W-1:0];
            /* verilator lint_on UNUSEDSIGNAL */
            wire [TABLE_AW-1:0] v_key, u_key;
            if (TABLE_AW > KEY_W) begin : extend
                assign v_key = {{(TABLE_AW - KEY_W) {v_part[KEY_W-1]}}, v_part};
                assign u_key = {{(TABLE_AW - KEY_W) {u_part[KEY_W-1]}}, u_part};
            end else begin : truncate
                assign v_key = v_part[TABLE_AW-1:0];
                assign u_key = u_part[TABLE_AW-1:0];
            end
            wire [TABLE_AW-1:0] key = (KEY == 2) ? u_key : v_key - u_key;
            wire [A-1:0] held_biased = {~held[A-1], held[A-2:0]};
            wire [A-1:0] entry;
            xnorc_rom #(
                .WIDTH(A),
                .DEPTH(TABLE_DEPTH),
                .ADDR_W(TABLE_AW),
                .REGISTERED(0),
                .INIT_FILE(TABLES_FILE),
                .STYLE("logic")
            ) tables (
                .clk(clk),
                .addr(key + OFFSET),
                .rdata(entry)
            );
            wire ge = held_biased >= entry;
            wire decision = SPLIT_GE[q] ? ge : !ge;
            wire here = fire && row == PROBE;
            assign decided[q] = here ? decision : bits[CHANNEL];
        end
        // Each channel's next bit: its split channel's decision, or unchanged.
        for (c = 0; c < O; c = c + 1) begin : channel
            wire [SPLITS-1:0] mine;
            for (q = 0; q < SPLITS; q = q + 1) begin : match
                assign mine[q] = SPLIT_CHANNEL[q*32+:32] == c;
            end
            assign patched[c] = (mine == {SPLITS{1'b0}}) ? bits[c] : |(mine & decided);
        end
    endgenerate

    // The next word: shifted during the plain channels, patched at a probe row.
    wire [O-1:0] shifted;
    generate
        if (O == 1) begin : one_channel
            assign shifted = cmp;
        end else begin : channels
            assign shifted = {cmp, bits[O-1:1]};
        end
    endgenerate
    wire [O-1:0] next_bits = shifting ? shifted : patched;
    always @(posedge clk) begin
        if (fire) bits <= next_bits;
        if (completes) out_data <= next_bits;
    end
endmodule

`default_nettype wire
