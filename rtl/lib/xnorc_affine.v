// xnorc_affine: the residual stream's per-channel fixed-point affine, PReLU and saturation
// (the model's `affine`, docs/semantics.md "The residual stream").
//
// Computation
//   Element e of a beat is channel c = cb*ELEMS + e, cb the beat's position in its pixel
//   (C/ELEMS beats per pixel, channels innermost). With x its value (IN_BITS bits, two's
//   complement when IN_SIGNED, else unsigned):
//     t = (x << IN_SHIFT) + PRE[c];  u = (t >= 0 ? MUL[c] : NEG_MUL[c]) * t + BIAS[c];
//     y = u >>> SHIFT
//   computed in ACC_BITS-bit two's complement (an arithmetic shift: the floor of u / 2^SHIFT);
//   with ROUND_HALF_EVEN = 1, y is u / 2^SHIFT rounded to the nearest integer, ties to even
//   (PyTorch's round), which is the floor plus one where the dropped bits exceed one half, or
//   equal it and the floor is odd.
//   IN_SHIFT and PRE bring a matrix unit's popcount accumulator into its integer domain
//   (S = 2*acc - K: IN_SHIFT = 1 and the offset folded into PRE).
//   With SAT_BITS > 0, y is clamped to [-2^(SAT_BITS-1), 2^(SAT_BITS-1) - 1] (the model's
//   saturation). The output is the low OUT_BITS bits of the result: the plan sizes OUT_BITS to
//   the result's exact range (unsigned when it cannot be negative).
// Interface
//   in_*, out_*: valid/ready streams of ELEMS elements (IN_BITS in, OUT_BITS out); out_valid
//   and out_data are registers.
// Timing (xnorc_plan's Elementwise component, depth 4)
//   Four register stages under one enable ce = !out_valid || out_ready (in_ready = ce): t and
//   the parameters, the product, the product plus bias, then the shifted and clamped result; a
//   beat accepted in cycle t is the output from cycle t + 4. One multiplier per element (a DSP
//   on ECP5; in logic on iCE40), with a register on either side and no adder behind it: on a
//   large ECP5 the routes to and from a MULT18X18D take most of a 20 ns cycle.
// Parameters
//   C >= 1, ELEMS >= 1 dividing C; IN_BITS, OUT_BITS >= 1; IN_SHIFT >= 0; ACC_BITS large
//   enough for x << IN_SHIFT and every
//   t and u of the input's range (the plan derives it from the exact ranges; at most 64);
//   SHIFT >= 0; ROUND_HALF_EVEN 0 or 1; SAT_BITS 0 (none) or at most ACC_BITS. MUL, NEG_MUL: C fields of PARAM_BITS
//   bits; PRE, BIAS: C fields of PRE_BITS, BIAS_BITS <= ACC_BITS bits (channel c at
//   [c*B +: B], two's complement). The parameters are constants indexed by the channel counter:
//   each field as narrow as its values allows keeps that multiplexer small.
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
    parameter integer PRE_BITS = 8,
    parameter integer BIAS_BITS = 8,
    parameter integer ACC_BITS = 24,
    parameter integer SHIFT = 0,
    parameter integer ROUND_HALF_EVEN = 0,
    parameter [C*PARAM_BITS-1:0] MUL = 0,
    parameter [C*PARAM_BITS-1:0] NEG_MUL = 0,
    parameter [C*PRE_BITS-1:0] PRE = 0,
    parameter [C*BIAS_BITS-1:0] BIAS = 0
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
            || SHIFT < 0 || SHIFT >= ACC_BITS || ROUND_HALF_EVEN < 0 || ROUND_HALF_EVEN > 1 || SAT_BITS < 0 || SAT_BITS > ACC_BITS
            || PRE_BITS < 1 || PRE_BITS > ACC_BITS || BIAS_BITS < 1 || BIAS_BITS > ACC_BITS) begin : bad_shape
            $error("xnorc_affine: needs ELEMS dividing C, IN_BITS < ACC_BITS <= 64, OUT_BITS <= ACC_BITS and 0 <= SHIFT < ACC_BITS");
        end
    endgenerate

    // Four register stages under one enable: (1) t, the multiplier t's sign picks and the
    // bias; (2) the product m*t; (3) u = m*t + bias; (4) the shifted, clamped result.
    reg [CBB-1:0] cb;
    reg v1, v2, v3;
    wire ce = !out_valid || out_ready;
    assign in_ready = ce;
    wire fire = in_valid && ce;

    reg [ELEMS*ACC_BITS-1:0] t1, p2, u3;
    reg [ELEMS*PARAM_BITS-1:0] m1;
    reg [ELEMS*BIAS_BITS-1:0] b1, b2;
    wire [ELEMS*OUT_BITS-1:0] y;
    genvar e;
    generate
        for (e = 0; e < ELEMS; e = e + 1) begin : lane
            // Stage 1's inputs: channel cb*ELEMS + e's parameters.
            wire [IN_BITS-1:0] x_raw = in_data[e*IN_BITS +: IN_BITS];
            wire signed [ACC_BITS-1:0] x = {{(ACC_BITS - IN_BITS) {IN_SIGNED != 0 && x_raw[IN_BITS-1]}}, x_raw};
            // The channel block's parameters: a CB:1 multiplexer over constants picked with
            // constant indices (an index computed as cb*ELEMS + e would make yosys build a
            // multiplier and a barrel shifter over the whole parameter vector).
            reg [PRE_BITS-1:0] pre_raw;
            reg [PARAM_BITS-1:0] mul_c, neg_mul_c;
            reg [BIAS_BITS-1:0] bias_c;
            integer b;
            always @(*) begin
                pre_raw = {PRE_BITS{1'b0}};
                mul_c = {PARAM_BITS{1'b0}};
                neg_mul_c = {PARAM_BITS{1'b0}};
                bias_c = {BIAS_BITS{1'b0}};
                for (b = 0; b < CB; b = b + 1) begin
                    if (cb == b[CBB-1:0]) begin
                        pre_raw = PRE[(b*ELEMS + e)*PRE_BITS +: PRE_BITS];
                        mul_c = MUL[(b*ELEMS + e)*PARAM_BITS +: PARAM_BITS];
                        neg_mul_c = NEG_MUL[(b*ELEMS + e)*PARAM_BITS +: PARAM_BITS];
                        bias_c = BIAS[(b*ELEMS + e)*BIAS_BITS +: BIAS_BITS];
                    end
                end
            end
            wire signed [ACC_BITS-1:0] pre = {{(ACC_BITS - PRE_BITS) {pre_raw[PRE_BITS-1]}}, pre_raw};
            wire signed [ACC_BITS-1:0] t = (x <<< IN_SHIFT) + pre;
            wire [PARAM_BITS-1:0] m = t[ACC_BITS-1] ? neg_mul_c : mul_c;
            always @(posedge clk) begin
                if (ce) begin
                    t1[e*ACC_BITS +: ACC_BITS] <= t;
                    m1[e*PARAM_BITS +: PARAM_BITS] <= m;
                    b1[e*BIAS_BITS +: BIAS_BITS] <= bias_c;
                end
            end
            // Stage 2: the product (the multiplier widened to ACC_BITS); the bias rides along.
            wire [PARAM_BITS-1:0] m_r = m1[e*PARAM_BITS +: PARAM_BITS];
            wire signed [ACC_BITS-1:0] m_wide = {{(ACC_BITS - PARAM_BITS) {m_r[PARAM_BITS-1]}}, m_r};
            wire signed [ACC_BITS-1:0] t_r = t1[e*ACC_BITS +: ACC_BITS];
            always @(posedge clk) begin
                if (ce) begin
                    p2[e*ACC_BITS +: ACC_BITS] <= m_wide * t_r;
                    b2[e*BIAS_BITS +: BIAS_BITS] <= b1[e*BIAS_BITS +: BIAS_BITS];
                end
            end
            // Stage 3: plus the bias, widened where it is added.
            wire [BIAS_BITS-1:0] b_r = b2[e*BIAS_BITS +: BIAS_BITS];
            wire signed [ACC_BITS-1:0] bias = {{(ACC_BITS - BIAS_BITS) {b_r[BIAS_BITS-1]}}, b_r};
            wire signed [ACC_BITS-1:0] p_r = p2[e*ACC_BITS +: ACC_BITS];
            always @(posedge clk) begin
                if (ce) u3[e*ACC_BITS +: ACC_BITS] <= p_r + bias;
            end
            // Stage 4: the floor shift and the model's saturation.
            wire signed [ACC_BITS-1:0] u = u3[e*ACC_BITS +: ACC_BITS];
            // Without saturation only its low OUT_BITS are used (the plan guarantees they hold it).
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [ACC_BITS-1:0] floor_q = u >>> SHIFT;
            wire signed [ACC_BITS-1:0] shifted;
            /* verilator lint_on UNUSEDSIGNAL */
            if (ROUND_HALF_EVEN != 0 && SHIFT > 0) begin : half_even
                // The dropped bits: the top one is the half, the rest break a tie. u's range
                // leaves room for the floor plus one (it is at most half of u).
                localparam [63:0] BELOW_HALF64 = (64'd1 << (SHIFT - 1)) - 64'd1;
                localparam [ACC_BITS-1:0] BELOW_HALF = BELOW_HALF64[ACC_BITS-1:0];
                wire half = u[SHIFT-1];
                wire above = |(u & BELOW_HALF);
                wire up = half && (above || floor_q[0]);
                assign shifted = floor_q + {{(ACC_BITS - 1) {1'b0}}, up};
            end else begin : down
                assign shifted = floor_q;
            end
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
                /* verilator lint_on UNUSEDSIGNAL */
                assign y[e*OUT_BITS +: OUT_BITS] = clamped[OUT_BITS-1:0];
            end else begin : plain
                assign y[e*OUT_BITS +: OUT_BITS] = shifted[OUT_BITS-1:0];
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (ce) out_data <= y;
        if (rst) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
            v3 <= 1'b0;
            out_valid <= 1'b0;
            cb <= {CBB{1'b0}};
        end else if (ce) begin
            v1 <= in_valid;
            v2 <= v1;
            v3 <= v2;
            out_valid <= v3;
            if (fire) cb <= (cb == CB_LAST) ? {CBB{1'b0}} : cb + 1'b1;
        end
    end
endmodule

`default_nettype wire
