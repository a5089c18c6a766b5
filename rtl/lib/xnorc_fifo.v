// xnorc_fifo: a first-word-fall-through FIFO between two stages.
//
// Interface
//   in_valid/in_ready/in_data, out_valid/out_ready/out_data: valid/ready streams of WIDTH-bit
//   beats; a beat moves in a cycle where both valid and ready are high.
// Timing
//   A beat written in cycle t is at the output in cycle t + 1. in_ready is high while fewer
//   than DEPTH beats are held (a read in the same cycle does not free a slot for that cycle's
//   write); in_ready and out_valid are registered flags (xnorc_queue), so neither neighbour's
//   handshake reaches through this FIFO.
// Parameters
//   WIDTH >= 1, DEPTH >= 1; STYLE: the storage's ram_style (see xnorc_ram), as the plan's
//   memory inventory places it.
`default_nettype none

module xnorc_fifo #(
    parameter integer WIDTH = 1,
    parameter integer DEPTH = 2,
    parameter STYLE = "auto"
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    output wire             in_ready,
    input  wire [WIDTH-1:0] in_data,
    output wire             out_valid,
    input  wire             out_ready,
    output wire [WIDTH-1:0] out_data
);
    xnorc_queue #(
        .WIDTH(WIDTH),
        .DEPTH(DEPTH),
        .STYLE(STYLE)
    ) queue (
        .clk(clk),
        .rst(rst),
        .wr(in_valid && in_ready),
        .din(in_data),
        .rd(out_valid && out_ready),
        .head(out_data),
        .not_full(in_ready),
        .not_empty(out_valid)
    );
endmodule

`default_nettype wire
