// xnorc_fork: one stream to two consumers (a node read by a residual block's two paths).
//
// Computation
//   Every input beat goes, unchanged, to both outputs.
// Interface
//   in_*: valid/ready stream of WIDTH-bit beats; out0_*, out1_*: the same beats.
// Timing (xnorc_plan's Fork component)
//   No register: an output shows the input beat until it has taken it (taken0/taken1 remember
//   which did); the input moves in the cycle the last of the two takes it, so neither consumer
//   ever sees a beat twice or misses one, whatever order they accept in. The plan puts a FIFO
//   on each output, so no ready path runs through the fork into a stage.
// Parameters
//   WIDTH >= 1.
`default_nettype none

module xnorc_fork #(
    parameter integer WIDTH = 1
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    output wire             in_ready,
    input  wire [WIDTH-1:0] in_data,
    output wire             out0_valid,
    input  wire             out0_ready,
    output wire [WIDTH-1:0] out0_data,
    output wire             out1_valid,
    input  wire             out1_ready,
    output wire [WIDTH-1:0] out1_data
);
    generate
        if (WIDTH < 1) begin : bad_shape
            $error("xnorc_fork: needs WIDTH >= 1");
        end
    endgenerate

    reg taken0, taken1;
    assign out0_valid = in_valid && !taken0;
    assign out1_valid = in_valid && !taken1;
    assign out0_data = in_data;
    assign out1_data = in_data;
    wire done0 = taken0 || out0_ready;
    wire done1 = taken1 || out1_ready;
    assign in_ready = done0 && done1;

    always @(posedge clk) begin
        if (rst) begin
            taken0 <= 1'b0;
            taken1 <= 1'b0;
        end else if (in_valid && in_ready) begin
            taken0 <= 1'b0;
            taken1 <= 1'b0;
        end else if (in_valid) begin
            taken0 <= done0;
            taken1 <= done1;
        end
    end
endmodule

`default_nettype wire
