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
//   memory inventory places it. DEPTH = 2 in registers ("logic" or "auto") is an xnorc_slice.
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
    // A two-entry FIFO in registers is a register slice (xnorc_slice): the same handshake and
    // timing, with the input's valid reaching only the slice's flags, not the data registers'
    // enables (on the UP5K the FIFOs in front of the matrix units were in critical paths from
    // their producers' and consumers' handshakes).
    /* verilator lint_off WIDTH */
    localparam [0:0] AS_SLICE = DEPTH == 2 && (STYLE == "logic" || STYLE == "auto");
    /* verilator lint_on WIDTH */
    generate
        if (AS_SLICE) begin : slice
            xnorc_slice #(
                .WIDTH(WIDTH)
            ) stage (
                .clk(clk),
                .rst(rst),
                .in_valid(in_valid),
                .in_ready(in_ready),
                .in_data(in_data),
                .out_valid(out_valid),
                .out_ready(out_ready),
                .out_data(out_data)
            );
        end else begin : entries
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
        end
    endgenerate
endmodule

`default_nettype wire
