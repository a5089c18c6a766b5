// xnorc_occupancy: how many of DEPTH slots a queue holds, with its full and empty flags kept as
// registers, for xnorc_queue and xnorc_bram_fifo.
//
// Interface
//   inc        a slot is filled at the clock edge (the user guarantees it only while not_full).
//   dec        a slot is freed at the clock edge (only while not_empty).
//   count      the slots held.
//   not_full   registered flag, kept equal to count != DEPTH.
//   not_empty  registered flag, kept equal to count != 0.
// Timing
//   All three take their new values at the edge that fills or frees a slot; inc and dec
//   together leave them as they are. The count moves by one adder, count + (dec ? -1 : +1),
//   enabled when exactly one of inc and dec is high: one carry chain whose sum bits are the
//   count's next values, with no multiplexer of an incremented and a decremented copy behind
//   it (on the UP5K the board's request buffer spent a LUT and a route across its counter there,
//   the critical path of three placements in eighteen).
// Parameters
//   DEPTH >= 2 (a one-slot queue's flags are the slot's; xnorc_queue keeps them itself).
`default_nettype none

module xnorc_occupancy #(
    parameter integer DEPTH = 2
) (
    input  wire                         clk,
    input  wire                         rst,
    input  wire                         inc,
    input  wire                         dec,
    output reg  [$clog2(DEPTH + 1)-1:0] count,
    output reg                          not_full,
    output reg                          not_empty
);
    localparam integer CW = $clog2(DEPTH + 1);
    localparam integer ALMOST_FULL_I = DEPTH - 1;
    localparam [CW-1:0] ALMOST_FULL = ALMOST_FULL_I[CW-1:0];
    localparam [CW-1:0] ONE = 1;

    generate
        if (DEPTH < 2) begin : bad_shape
            $error("xnorc_occupancy: DEPTH must be at least 2");
        end
    endgenerate

    // +1 or -1 in CW bits: all ones when freeing.
    wire [CW-1:0] step = {{(CW - 1) {dec}}, 1'b1};
    always @(posedge clk) begin
        if (rst) begin
            count <= {CW{1'b0}};
            not_empty <= 1'b0;
            not_full <= 1'b1;
        end else if (inc != dec) begin
            count <= count + step;
            not_empty <= inc || count != ONE;
            not_full <= dec || count != ALMOST_FULL;
        end
    end
endmodule

`default_nettype wire
