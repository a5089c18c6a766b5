// xnorc_responses: the responses stage of a codebook convolution that shares its kernels'
// responses (docs/hardware.md, "Sub-bit weights").
//
// Computation
//   The window stream brings each channel block's TAPS kernel positions in a row. For every
//   channel s of the beat and codebook entry j, a counter adds the lane function (xnorc_lane,
//   LANE) of the tap and entry j's bit at the tap's kernel position: the response of kernel j
//   on channel s, sum over the taps. Output element s holds channel s's ENTRIES responses,
//   entry j at [j*RESPONSE_BITS +: RESPONSE_BITS] (two's complement when LEAF_SIGNED).
// Memory
//   PLANES_FILE: TAPS words of ENTRIES bits (bit j: entry j's bit at that kernel position),
//   read asynchronously by the tap counter (xnorc_rom in logic).
// Interface
//   in_*   valid/ready stream of SIMD elements of EB bits (+ the valid flag with VALID_BIT).
//   out_*  valid/ready stream of SIMD * ENTRIES responses; out_valid and out_data registered.
// Timing (xnorc_plan's Responses component: a width converter's)
//   in_ready = !out_valid || out_ready; the beat completing a block of TAPS beats registers the
//   finished responses as the output beat, valid in the next cycle.
// Parameters
//   SIMD, TAPS, ENTRIES, EB >= 1; LANE, LEAF_W as xnorc_lane takes them; RESPONSE_BITS >= LEAF_W
//   holds every partial sum (the plan's response range).
`default_nettype none

module xnorc_responses #(
    parameter integer SIMD = 1,
    parameter integer TAPS = 1,
    parameter integer ENTRIES = 1,
    parameter integer EB = 1,
    parameter integer IN_SIGNED = 0,
    parameter integer VALID_BIT = 0,
    parameter LANE = "xnor",
    parameter integer LEAF_W = 1,
    parameter integer LEAF_SIGNED = 0,
    parameter integer RESPONSE_BITS = 1,
    parameter PLANES_FILE = ""
) (
    input  wire                                    clk,
    input  wire                                    rst,
    input  wire                                    in_valid,
    output wire                                    in_ready,
    input  wire [                SIMD*EB+VALID_BIT-1:0] in_data,
    output reg                                     out_valid,
    input  wire                                    out_ready,
    output reg  [SIMD*ENTRIES*RESPONSE_BITS-1:0] out_data
);
    localparam integer DW = SIMD * EB + VALID_BIT;
    localparam integer RB = RESPONSE_BITS;
    localparam integer TB = (TAPS > 1) ? $clog2(TAPS) : 1;
    localparam integer TAPS_LAST_I = TAPS - 1;
    localparam [TB-1:0] TAPS_LAST = TAPS_LAST_I[TB-1:0];

    generate
        if (SIMD < 1 || TAPS < 1 || ENTRIES < 1 || EB < 1 || RB < LEAF_W) begin : bad_shape
            $error("xnorc_responses: needs SIMD, TAPS, ENTRIES, EB >= 1 and RESPONSE_BITS >= LEAF_W");
        end
    endgenerate

    // The collecting handshake of a width converter, one group per TAPS input beats.
    assign in_ready = !out_valid || out_ready;
    wire fire = in_valid && in_ready;
    wire [TB-1:0] tap;
    wire completes, first;
    generate
        if (TAPS > 1) begin : tap_counter
            reg [TB-1:0] count;
            always @(posedge clk) begin
                if (rst) count <= {TB{1'b0}};
                else if (fire) count <= completes ? {TB{1'b0}} : count + 1'b1;
            end
            assign tap = count;
            assign completes = fire && count == TAPS_LAST;
            assign first = count == {TB{1'b0}};
        end else begin : one_tap
            assign tap = 1'b0;
            assign completes = fire;
            assign first = 1'b1;
        end
    endgenerate
    always @(posedge clk) begin
        if (rst) out_valid <= 1'b0;
        else out_valid <= completes || (out_valid && !out_ready);
    end

    // The plane of the tap arriving (it feeds the counters in the same cycle).
    wire [ENTRIES-1:0] plane;
    xnorc_rom #(
        .WIDTH(ENTRIES),
        .DEPTH(TAPS),
        .ADDR_W(TB),
        .REGISTERED(0),
        .INIT_FILE(PLANES_FILE),
        .STYLE("logic")
    ) planes (
        .clk(clk),
        .addr(tap),
        .rdata(plane)
    );

    wire [SIMD*ENTRIES*RB-1:0] sums;
    genvar s, j;
    generate
        for (s = 0; s < SIMD; s = s + 1) begin : channel
            for (j = 0; j < ENTRIES; j = j + 1) begin : entry
                wire [LEAF_W-1:0] leaf;
                xnorc_lane #(
                    .LANE(LANE),
                    .EB(EB),
                    .IN_SIGNED(IN_SIGNED),
                    .LEAF_W(LEAF_W)
                ) unit (
                    .w(plane[j]),
                    .x(in_data[s*EB+:EB]),
                    .valid(in_data[DW-1]),
                    .leaf(leaf)
                );
                wire [RB-1:0] leaf_wide;
                if (RB > LEAF_W) begin : extend
                    assign leaf_wide = {{(RB - LEAF_W) {LEAF_SIGNED != 0 && leaf[LEAF_W-1]}}, leaf};
                end else begin : same
                    assign leaf_wide = leaf;
                end
                // Every partial sum lies in the response range, which RB bits hold.
                reg [RB-1:0] response;
                wire [RB-1:0] sum = (first ? {RB{1'b0}} : response) + leaf_wide;
                always @(posedge clk) if (fire && !completes) response <= sum;
                assign sums[(s*ENTRIES+j)*RB+:RB] = sum;
            end
        end
    endgenerate

    always @(posedge clk) if (completes) out_data <= sums;
endmodule

`default_nettype wire
