// xnorc_add: the join of a residual block: the elementwise, saturating sum of two streams
// of one shape (the model's `add`, docs/semantics.md "The residual stream").
//
// Computation
//   Element e: y = (a << SHIFT_A) + (b << SHIFT_B) in SUM_BITS-bit two's complement (a and b
//   sign-extended when A_SIGNED / B_SIGNED, else zero-extended); with SAT_BITS > 0 clamped to
//   [-2^(SAT_BITS-1), 2^(SAT_BITS-1) - 1] (the model's saturation). The output is the low
//   OUT_BITS bits: the plan sizes OUT_BITS to the result's exact range.
// Interface
//   a_*, b_*: valid/ready streams of ELEMS elements (A_BITS, B_BITS bits); out_*: ELEMS
//   elements of OUT_BITS bits, out_valid and out_data registers.
// Timing (xnorc_plan's Add component)
//   A pair moves when both inputs are valid and the output register is free
//   (!out_valid || out_ready): then both a_ready and b_ready are high; the sum is the output
//   from the next cycle. Each input's ready waits for the other's valid, so the branch that
//   arrives first waits in its FIFO: the plan sizes the shortcut's FIFO by the cycle model so
//   the join cannot deadlock.
// Parameters
//   ELEMS >= 1; A_BITS, B_BITS, OUT_BITS >= 1; SUM_BITS > max(A_BITS + SHIFT_A,
//   B_BITS + SHIFT_B), at most 64; SHIFT_A, SHIFT_B >= 0; SAT_BITS 0 (none) or at most
//   SUM_BITS.
`default_nettype none

module xnorc_add #(
    parameter integer ELEMS = 1,
    parameter integer A_BITS = 8,
    parameter integer A_SIGNED = 1,
    parameter integer B_BITS = 8,
    parameter integer B_SIGNED = 1,
    parameter integer SHIFT_A = 0,
    parameter integer SHIFT_B = 0,
    parameter integer SUM_BITS = 10,
    parameter integer OUT_BITS = 8,
    parameter integer SAT_BITS = 8
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire                      a_valid,
    output wire                      a_ready,
    input  wire [ELEMS*A_BITS-1:0]   a_data,
    input  wire                      b_valid,
    output wire                      b_ready,
    input  wire [ELEMS*B_BITS-1:0]   b_data,
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [ELEMS*OUT_BITS-1:0] out_data
);
    generate
        if (ELEMS < 1 || A_BITS < 1 || B_BITS < 1 || OUT_BITS < 1 || SHIFT_A < 0 || SHIFT_B < 0
            || SUM_BITS <= A_BITS + SHIFT_A || SUM_BITS <= B_BITS + SHIFT_B
            || SUM_BITS < OUT_BITS || SUM_BITS > 64) begin : bad_shape
            $error("xnorc_add: needs SUM_BITS > A_BITS + SHIFT_A and B_BITS + SHIFT_B, OUT_BITS <= SUM_BITS <= 64");
        end
    endgenerate

    wire free = !out_valid || out_ready;
    wire fire = a_valid && b_valid && free;
    assign a_ready = b_valid && free;
    assign b_ready = a_valid && free;

    wire [ELEMS*OUT_BITS-1:0] y;
    genvar e;
    generate
        for (e = 0; e < ELEMS; e = e + 1) begin : lane
            wire [A_BITS-1:0] a_raw = a_data[e*A_BITS +: A_BITS];
            wire [B_BITS-1:0] b_raw = b_data[e*B_BITS +: B_BITS];
            wire signed [SUM_BITS-1:0] a = {{(SUM_BITS - A_BITS) {A_SIGNED != 0 && a_raw[A_BITS-1]}}, a_raw};
            wire signed [SUM_BITS-1:0] b = {{(SUM_BITS - B_BITS) {B_SIGNED != 0 && b_raw[B_BITS-1]}}, b_raw};
            // Without saturation only its low OUT_BITS are used (the plan guarantees they hold it).
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [SUM_BITS-1:0] sum = (a <<< SHIFT_A) + (b <<< SHIFT_B);
            /* verilator lint_on UNUSEDSIGNAL */
            if (SAT_BITS != 0 && SAT_BITS < SUM_BITS) begin : clamp
                // The saturation bounds, made in 64 bits and cut to the sum's width.
                localparam signed [63:0] TOP64 = (64'sd1 <<< (SAT_BITS - 1)) - 64'sd1;
                localparam signed [63:0] BOTTOM64 = -(64'sd1 <<< (SAT_BITS - 1));
                localparam signed [SUM_BITS-1:0] TOP = TOP64[SUM_BITS-1:0];
                localparam signed [SUM_BITS-1:0] BOTTOM = BOTTOM64[SUM_BITS-1:0];
                // Only the low OUT_BITS of the clamped value are the output.
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [SUM_BITS-1:0] clamped = sum > TOP ? TOP : (sum < BOTTOM ? BOTTOM : sum);
                assign y[e*OUT_BITS +: OUT_BITS] = clamped[OUT_BITS-1:0];
                /* verilator lint_on UNUSEDSIGNAL */
            end else begin : plain
                assign y[e*OUT_BITS +: OUT_BITS] = sum[OUT_BITS-1:0];
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else begin
            if (fire) out_data <= y;
            if (free) out_valid <= a_valid && b_valid;
        end
    end
endmodule

`default_nettype wire
