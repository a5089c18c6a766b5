// xnorc_ram: a simple dual-port memory (one write port, one read port) for the core's buffers:
// queues, input buffers, line buffers and pool rows.
//
// Interface
//   we, waddr, wdata   mem[waddr] <= wdata at the clock edge when we is high.
//   re, raddr, rdata   REGISTERED = 0: rdata = mem[raddr], combinational (re unused; a read in
//                      the cycle of a write to the same address sees the old word);
//                      REGISTERED = 1: rdata <= mem[raddr] at the clock edge when re is high;
//                      a read of the word written at the same edge gives the old word, unless
//                      COLLISIONS = 0.
// Parameters
//   WIDTH >= 1, DEPTH >= 1, ADDR_W >= 1 with 2^ADDR_W >= DEPTH; STYLE: yosys's ram_style
//   ("block", "logic", "distributed", or "auto" for the tool's choice). COLLISIONS 1 (default)
//   or 0: the user never reads the word it writes in the same cycle, so synthesis may drop the
//   logic that gives the old word where the RAM's ports do not (yosys's no_rw_check: on an ECP5
//   DP16KD that logic compares the two addresses and multiplexes the data after the block).
`default_nettype none

module xnorc_ram #(
    parameter integer WIDTH = 1,
    parameter integer DEPTH = 1,
    parameter integer ADDR_W = 1,
    parameter integer REGISTERED = 0,
    // Read by the synthesis attribute below only, which Verilator does not evaluate.
    /* verilator lint_off UNUSEDPARAM */
    parameter STYLE = "auto",
    parameter integer COLLISIONS = 1
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire              clk,
    input  wire              we,
    input  wire [ADDR_W-1:0] waddr,
    input  wire [ WIDTH-1:0] wdata,
    input  wire              re,
    input  wire [ADDR_W-1:0] raddr,
    output wire [ WIDTH-1:0] rdata
);
    generate
        if (WIDTH < 1 || DEPTH < 1 || ADDR_W < 1) begin : bad_shape
            $error("xnorc_ram: WIDTH, DEPTH and ADDR_W must be at least 1");
        end
        if ((DEPTH - 1) >> ADDR_W != 0) begin : bad_addr
            $error("xnorc_ram: ADDR_W bits cannot address DEPTH words");
        end
        if (REGISTERED != 0 && REGISTERED != 1) begin : bad_registered
            $error("xnorc_ram: REGISTERED must be 0 or 1");
        end
        if (COLLISIONS != 0 && COLLISIONS != 1) begin : bad_collisions
            $error("xnorc_ram: COLLISIONS must be 0 or 1");
        end
    endgenerate

    (* ram_style = STYLE, no_rw_check = (COLLISIONS == 0) *)
    reg [WIDTH-1:0] mem[0:DEPTH-1];
    always @(posedge clk) if (we) mem[waddr] <= wdata;

    generate
        if (REGISTERED == 1) begin : registered
            reg [WIDTH-1:0] q;
            always @(posedge clk) if (re) q <= mem[raddr];
            assign rdata = q;
        end else begin : combinational
            // Only the clocked read uses the read enable.
            wire unused_re = re;
            assign rdata = mem[raddr];
        end
    endgenerate
endmodule

`default_nettype wire
