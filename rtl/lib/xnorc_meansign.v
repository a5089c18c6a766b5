// xnorc_meansign: SiMaN's per-sample sign against the mean of the whole frame (the model's
// `meansign`, docs/semantics.md "The residual stream"): bit = [N*x >= sum of the frame's x].
//
// Computation
//   A frame is BEATS beats of ELEMS elements, N = BEATS*ELEMS in all (IN_BITS bits each, two's
//   complement when IN_SIGNED). The frame goes into a buffer while its sum accumulates; then
//   every element leaves as one bit, 1 where N*x >= the sum (ties give 1), in the order it came.
// Interface
//   in_*, out_*: valid/ready streams, ELEMS*IN_BITS bits in, ELEMS bits out (element e in bit
//   e); out_valid and out_data are registers.
// Timing (xnorc_plan's MeanSign component)
//   Filling: in_ready = 1, one beat a cycle into the buffer. The cycle after the frame's last
//   beat it drains: with the enable ce = !out_valid || out_ready it issues a registered read
//   of the next beat (stage 1, which keeps the frame's sum beside it) and moves stage 1's beat,
//   compared, into the output register (stage 2); in the cycle after its last read it fills
//   again, while the last beats still drain. No input is taken while draining: a frame costs
//   2*BEATS cycles.
// Parameters
//   ELEMS >= 1, BEATS >= 1, IN_BITS >= 1, SUM_BITS (at most 64) wide enough for N times every
//   x, the sum and their difference (two's complement; the plan derives it), ADDR_W with 2^ADDR_W >= BEATS,
//   BUF_STYLE: the buffer's ram_style.
`default_nettype none

module xnorc_meansign #(
    parameter integer ELEMS = 1,
    parameter integer BEATS = 1,
    parameter integer IN_BITS = 8,
    parameter integer IN_SIGNED = 1,
    parameter integer SUM_BITS = 24,
    parameter integer ADDR_W = 1,
    parameter BUF_STYLE = "auto"
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     in_valid,
    output wire                     in_ready,
    input  wire [ELEMS*IN_BITS-1:0] in_data,
    output reg                      out_valid,
    input  wire                     out_ready,
    output reg  [ELEMS-1:0]         out_data
);
    localparam integer N = BEATS * ELEMS;
    localparam [63:0] N64 = {32'd0, N[31:0]};
    localparam integer LAST_I = BEATS - 1;
    localparam [ADDR_W-1:0] LAST = LAST_I[ADDR_W-1:0];

    generate
        if (ELEMS < 1 || BEATS < 1 || IN_BITS < 1 || SUM_BITS <= IN_BITS || SUM_BITS > 64 || ADDR_W < 1
            || (BEATS - 1) >> ADDR_W != 0) begin : bad_shape
            $error("xnorc_meansign: needs ELEMS, BEATS, IN_BITS >= 1, IN_BITS < SUM_BITS <= 64 and 2^ADDR_W >= BEATS");
        end
    endgenerate

    reg filling;
    reg [ADDR_W-1:0] count;
    assign in_ready = filling;
    wire fire = in_valid && filling;
    wire ce = !out_valid || out_ready;
    wire issue = ce && !filling;

    // x as SUM_BITS-wide values, and this beat's share of the sum.
    wire [ELEMS*SUM_BITS-1:0] x_in;
    genvar e;
    generate
        for (e = 0; e < ELEMS; e = e + 1) begin : widen
            wire [IN_BITS-1:0] raw = in_data[e*IN_BITS +: IN_BITS];
            assign x_in[e*SUM_BITS +: SUM_BITS] =
                {{(SUM_BITS - IN_BITS) {IN_SIGNED != 0 && raw[IN_BITS-1]}}, raw};
        end
    endgenerate
    reg signed [SUM_BITS-1:0] beat_sum;
    integer i;
    always @(*) begin
        beat_sum = {SUM_BITS{1'b0}};
        for (i = 0; i < ELEMS; i = i + 1) beat_sum = beat_sum + x_in[i*SUM_BITS +: SUM_BITS];
    end

    reg signed [SUM_BITS-1:0] sum, total, total1;
    reg v1;
    wire [ELEMS*IN_BITS-1:0] rdata;

    xnorc_ram #(
        .WIDTH(ELEMS * IN_BITS),
        .DEPTH(BEATS),
        .ADDR_W(ADDR_W),
        .REGISTERED(1),
        .STYLE(BUF_STYLE)
    ) frame (
        .clk(clk),
        .we(fire),
        .waddr(count),
        .wdata(in_data),
        .re(issue),
        .raddr(count),
        .rdata(rdata)
    );

    // v times the constant N as shifts and adds, one per set bit of N (two's complement wraps
    // alike): written as `*`, yosys gives each element a MULT18X18D on ECP5 and some 40 LUT4s
    // on iCE40 when N is not a power of two (measured with ELEMS 4, BEATS 784).
    function [SUM_BITS-1:0] times_n(input [SUM_BITS-1:0] v);
        integer b;
        begin
            times_n = {SUM_BITS{1'b0}};
            for (b = 0; b < 32; b = b + 1) if (N64[b]) times_n = times_n + (v << b);
        end
    endfunction

    // Stage 2's compare: N*x against the frame's sum, per element.
    wire [ELEMS-1:0] bits;
    generate
        for (e = 0; e < ELEMS; e = e + 1) begin : compare
            wire [IN_BITS-1:0] raw = rdata[e*IN_BITS +: IN_BITS];
            wire signed [SUM_BITS-1:0] x =
                {{(SUM_BITS - IN_BITS) {IN_SIGNED != 0 && raw[IN_BITS-1]}}, raw};
            // The product fits SUM_BITS: the plan sizes it for N times every x.
            wire signed [SUM_BITS-1:0] nx = times_n(x);
            assign bits[e] = nx >= total1;
        end
    endgenerate

    always @(posedge clk) begin
        if (ce) begin
            total1 <= total;
            out_data <= bits;
        end
        if (fire) begin
            if (count == LAST) begin
                total <= sum + beat_sum;
                sum <= {SUM_BITS{1'b0}};
            end else begin
                sum <= sum + beat_sum;
            end
        end
        if (rst) begin
            filling <= 1'b1;
            count <= {ADDR_W{1'b0}};
            sum <= {SUM_BITS{1'b0}};
            v1 <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (fire || issue) begin
                count <= (count == LAST) ? {ADDR_W{1'b0}} : count + 1'b1;
                if (count == LAST) filling <= !filling;
            end
            if (ce) begin
                v1 <= issue;
                out_valid <= v1;
            end
        end
    end
endmodule

`default_nettype wire
