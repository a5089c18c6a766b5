// xnorc_threshold: thresholds on an integer stream (the model's `threshold` where no matrix
// unit fuses it: ReActNet's RSign on the residual stream).
//
// Computation
//   Element e of a beat is channel c = cb*ELEMS + e (C/ELEMS beats per pixel, channels
//   innermost). With x its value (IN_BITS bits, two's complement when IN_SIGNED), the output
//   is the count of the channel's LEVELS thresholds T passed: x >= T where GE[c] is set, else
//   x <= T — an unsigned OB-bit count (for LEVELS = 1 the bit of the sign).
// Interface
//   in_*, out_*: valid/ready streams of ELEMS elements (IN_BITS in, OB out); out_valid and
//   out_data are registers.
// Timing (xnorc_plan's Elementwise component)
//   One register stage: in_ready = !out_valid || out_ready; a beat accepted in cycle t is the
//   output from cycle t + 1.
// Parameters
//   C >= 1, ELEMS >= 1 dividing C; IN_BITS >= 1; TB > IN_BITS (thresholds and x compare in TB
//   bits, two's complement; the plan clamps thresholds to one past the input's range);
//   LEVELS >= 1, OB >= clog2(LEVELS + 1); THRESHOLDS: C*LEVELS fields of TB bits (channel c,
//   level k at [(c*LEVELS + k)*TB +: TB]); GE: C bits.
`default_nettype none

module xnorc_threshold #(
    parameter integer C = 1,
    parameter integer ELEMS = 1,
    parameter integer IN_BITS = 8,
    parameter integer IN_SIGNED = 1,
    parameter integer TB = 9,
    parameter integer LEVELS = 1,
    parameter integer OB = 1,
    parameter [C*LEVELS*TB-1:0] THRESHOLDS = 0,
    parameter [C-1:0] GE = {C{1'b1}}
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     in_valid,
    output wire                     in_ready,
    input  wire [ELEMS*IN_BITS-1:0] in_data,
    output reg                      out_valid,
    input  wire                     out_ready,
    output reg  [   ELEMS*OB-1:0]   out_data
);
    localparam integer CB = C / ELEMS;
    localparam integer CBB = (CB > 1) ? $clog2(CB) : 1;
    localparam integer CB_LAST_I = CB - 1;
    localparam [CBB-1:0] CB_LAST = CB_LAST_I[CBB-1:0];

    generate
        if (ELEMS < 1 || C % ELEMS != 0 || IN_BITS < 1 || TB <= IN_BITS || LEVELS < 1
            || (1 << OB) <= LEVELS) begin : bad_shape
            $error("xnorc_threshold: needs ELEMS dividing C, TB > IN_BITS and 2^OB > LEVELS");
        end
    endgenerate

    reg [CBB-1:0] cb;
    assign in_ready = !out_valid || out_ready;
    wire fire = in_valid && in_ready;

    wire [ELEMS*OB-1:0] counts;
    genvar e;
    generate
        for (e = 0; e < ELEMS; e = e + 1) begin : lane
            wire [IN_BITS-1:0] x_raw = in_data[e*IN_BITS +: IN_BITS];
            wire signed [TB-1:0] x = {{(TB - IN_BITS) {IN_SIGNED != 0 && x_raw[IN_BITS-1]}}, x_raw};
            // The channel block's direction and thresholds: a CB:1 multiplexer over constants
            // picked with constant indices (no multiplier for cb*ELEMS + e).
            reg ge;
            reg [LEVELS*TB-1:0] row;
            integer b;
            always @(*) begin
                ge = 1'b0;
                row = {(LEVELS * TB) {1'b0}};
                for (b = 0; b < CB; b = b + 1) begin
                    if (cb == b[CBB-1:0]) begin
                        ge = GE[b*ELEMS + e];
                        row = THRESHOLDS[(b*ELEMS + e)*LEVELS*TB +: LEVELS*TB];
                    end
                end
            end
            // The count of passed levels, in one procedural loop rather than a generate block
            // of comparators: synthesis unrolls both alike, but a simulator keeps a long loop
            // a loop (Verilator unrolls up to 64 iterations), where 255 generated levels on 16
            // lanes made one design's C++ 24 MB.
            integer k;
            reg signed [TB-1:0] t;
            reg [OB-1:0] count;
            always @(*) begin
                count = {OB{1'b0}};
                t = {TB{1'b0}};
                for (k = 0; k < LEVELS; k = k + 1) begin
                    t = row[k*TB +: TB];
                    if (ge ? (x >= t) : (x <= t)) count = count + 1'b1;
                end
            end
            assign counts[e*OB +: OB] = count;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            cb <= {CBB{1'b0}};
        end else begin
            if (fire) begin
                out_data <= counts;
                cb <= (cb == CB_LAST) ? {CBB{1'b0}} : cb + 1'b1;
            end
            if (in_ready) out_valid <= in_valid;
        end
    end
endmodule

`default_nettype wire
