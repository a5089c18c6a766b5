// xnorc_affine: the residual stream's per-channel fixed-point affine, PReLU and saturation
// (the model's `affine`, docs/semantics.md "The residual stream").
//
// Computation
//   Element e of a beat is channel c = cb*ELEMS + e, cb the beat's position in its pixel
//   (C/ELEMS beats per pixel, channels innermost). With x its value (IN_BITS bits, two's
//   complement when IN_SIGNED, else unsigned):
//     t = (x << IN_SHIFT) + PRE[c];  u = (t >= 0 ? MUL[c] : NEG_MUL[c]) * t + BIAS[c];
//     y = u >>> SHIFT
//   computed in ACC_BITS-bit two's complement (an arithmetic shift: the floor of u / 2^SHIFT).
//   IN_SHIFT and PRE bring a matrix unit's popcount accumulator into its integer domain
//   (S = 2*acc - K: IN_SHIFT = 1 and the offset folded into PRE).
//   With SAT_BITS > 0, y is clamped to [-2^(SAT_BITS-1), 2^(SAT_BITS-1) - 1] (the model's
//   saturation). The output is the low OUT_BITS bits of the result: the plan sizes OUT_BITS to
//   the result's exact range (unsigned when it cannot be negative).
// Interface
//   in_*, out_*: valid/ready streams of ELEMS elements (IN_BITS in, OUT_BITS out); out_valid
//   and out_data are registers.
// Timing (xnorc_plan's Affine component)
//   One register stage: in_ready = !out_valid || out_ready; a beat accepted in cycle t is the
//   output from cycle t + 1. One multiplier per element (a DSP where the family has them).
// Parameters
//   C >= 1, ELEMS >= 1 dividing C; IN_BITS, OUT_BITS >= 1; IN_SHIFT >= 0; ACC_BITS large
//   enough for x << IN_SHIFT and every
//   t and u of the input's range (the plan derives it from the exact ranges; at most 64);
//   SHIFT >= 0; SAT_BITS 0 (none) or at most ACC_BITS. MUL, NEG_MUL: C fields of PARAM_BITS bits; PRE, BIAS: C fields of ACC_BITS
//   bits (channel c at [c*B +: B], two's complement).
`default_nettype none

module xnorc_affine #(
    parameter integer C = 1,
    parameter integer ELEMS = 1,
    parameter integer IN_BITS = 8,
    parameter integer IN_SIGNED = 1,
    parameter integer IN_SHIFT = 0,
    parameter integer OUT_BITS = 8,
    parameter integer SAT_BITS = 8,
    parameter integer PARAM_BITS = 8,
    parameter integer ACC_BITS = 24,
    parameter integer SHIFT = 0,
    parameter [C*PARAM_BITS-1:0] MUL = 0,
    parameter [C*PARAM_BITS-1:0] NEG_MUL = 0,
    parameter [C*ACC_BITS-1:0] PRE = 0,
    parameter [C*ACC_BITS-1:0] BIAS = 0
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire                      in_valid,
    output wire                      in_ready,
    input  wire [ELEMS*IN_BITS-1:0]  in_data,
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [ELEMS*OUT_BITS-1:0] out_data
);
    localparam integer CB = C / ELEMS;
    localparam integer CBB = (CB > 1) ? $clog2(CB) : 1;
    localparam integer CB_LAST_I = CB - 1;
    localparam [CBB-1:0] CB_LAST = CB_LAST_I[CBB-1:0];

    generate
        if (ELEMS < 1 || C % ELEMS != 0 || IN_BITS < 1 || OUT_BITS < 1 || PARAM_BITS < 1
            || ACC_BITS < IN_BITS + IN_SHIFT + 1 || ACC_BITS < OUT_BITS || ACC_BITS > 64
            || IN_SHIFT < 0
            || SHIFT < 0 || SHIFT >= ACC_BITS || SAT_BITS < 0 || SAT_BITS > ACC_BITS) begin : bad_shape
            $error("xnorc_affine: needs ELEMS dividing C, IN_BITS < ACC_BITS <= 64, OUT_BITS <= ACC_BITS and 0 <= SHIFT < ACC_BITS");
        end
    endgenerate

    reg [CBB-1:0] cb;
    assign in_ready = !out_valid || out_ready;
    wire fire = in_valid && in_ready;

    wire [ELEMS*OUT_BITS-1:0] y;
    genvar e;
    generate
        for (e = 0; e < ELEMS; e = e + 1) begin : lane
            wire [IN_BITS-1:0] x_raw = in_data[e*IN_BITS +: IN_BITS];
            wire signed [ACC_BITS-1:0] x = {{(ACC_BITS - IN_BITS) {IN_SIGNED != 0 && x_raw[IN_BITS-1]}}, x_raw};
            // Channel cb*ELEMS + e's parameters.
            wire [31:0] ch = cb * ELEMS + e;
            wire signed [PARAM_BITS-1:0] mul = MUL[ch*PARAM_BITS +: PARAM_BITS];
            wire signed [PARAM_BITS-1:0] neg_mul = NEG_MUL[ch*PARAM_BITS +: PARAM_BITS];
            wire signed [ACC_BITS-1:0] pre = PRE[ch*ACC_BITS +: ACC_BITS];
            wire signed [ACC_BITS-1:0] bias = BIAS[ch*ACC_BITS +: ACC_BITS];
            wire signed [ACC_BITS-1:0] t = (x <<< IN_SHIFT) + pre;
            wire signed [PARAM_BITS-1:0] m = t[ACC_BITS-1] ? neg_mul : mul;
            wire signed [ACC_BITS-1:0] m_wide = {{(ACC_BITS - PARAM_BITS) {m[PARAM_BITS-1]}}, m};
            wire signed [ACC_BITS-1:0] u = m_wide * t + bias;
            // Without saturation only its low OUT_BITS are used (the plan guarantees they hold it).
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [ACC_BITS-1:0] shifted = u >>> SHIFT;
            /* verilator lint_on UNUSEDSIGNAL */
            if (SAT_BITS != 0 && SAT_BITS < ACC_BITS) begin : clamp
                // The saturation bounds, made in 64 bits and cut to the sum's width.
                localparam signed [63:0] TOP64 = (64'sd1 <<< (SAT_BITS - 1)) - 64'sd1;
                localparam signed [63:0] BOTTOM64 = -(64'sd1 <<< (SAT_BITS - 1));
                localparam signed [ACC_BITS-1:0] TOP = TOP64[ACC_BITS-1:0];
                localparam signed [ACC_BITS-1:0] BOTTOM = BOTTOM64[ACC_BITS-1:0];
                // Only the low OUT_BITS of the clamped value are the output.
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [ACC_BITS-1:0] clamped =
                    shifted > TOP ? TOP : (shifted < BOTTOM ? BOTTOM : shifted);
                assign y[e*OUT_BITS +: OUT_BITS] = clamped[OUT_BITS-1:0];
                /* verilator lint_on UNUSEDSIGNAL */
            end else begin : plain
                assign y[e*OUT_BITS +: OUT_BITS] = shifted[OUT_BITS-1:0];
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            cb <= {CBB{1'b0}};
        end else begin
            if (fire) begin
                out_data <= y;
                cb <= (cb == CB_LAST) ? {CBB{1'b0}} : cb + 1'b1;
            end
            if (in_ready) out_valid <= in_valid;
        end
    end
endmodule

`default_nettype wire
