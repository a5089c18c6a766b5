// xnorc_rom: a read-only memory initialized from a hex image, read asynchronously or through
// one output register. Every ROM of the core (weights, kernel indices, codebook planes,
// thresholds, split tables) is one of these, so memory placement and initialization live in
// one place.
//
// Interface
//   addr  ADDR_W bits; rdata = mem[addr] (REGISTERED = 0: combinational; REGISTERED = 1:
//         registered at every clock edge, no enable, so yosys can map it to block RAM).
// Timing
//   REGISTERED = 1: rdata holds mem[addr] of the previous cycle (one cycle of latency). With
//   STYLE "logic" the address is registered instead of the data, which is the same timing, in
//   one copy per ADDR_COPY_BITS data bits: a wide ROM in logic is thousands of LUTs, and one
//   address register reaching all of them was the critical path of a large design (CNV's
//   conv3, 2,048 × 36 in logic on the LFE5U-85F: a 15.4 ns route from the address register
//   across the die). Each copy is kept apart from yosys's register merging.
// Parameters
//   WIDTH >= 1, DEPTH >= 1, ADDR_W >= 1 with 2^ADDR_W >= DEPTH (addresses past DEPTH - 1 never
//   occur); INIT_FILE: hex words, one per line, word 0 first (relative to the tool's working
//   directory); STYLE: yosys's ram_style ("block", "logic", "distributed", or "auto" for the
//   tool's choice).
`default_nettype none

module xnorc_rom #(
    parameter integer WIDTH = 1,
    parameter integer DEPTH = 1,
    parameter integer ADDR_W = 1,
    parameter integer REGISTERED = 1,
    parameter INIT_FILE = "",
    // The synthesis attribute below, and whether a registered read registers the address.
    parameter STYLE = "auto"
) (
    input  wire              clk,
    input  wire [ADDR_W-1:0] addr,
    output wire [ WIDTH-1:0] rdata
);
    generate
        if (WIDTH < 1 || DEPTH < 1 || ADDR_W < 1) begin : bad_shape
            $error("xnorc_rom: WIDTH, DEPTH and ADDR_W must be at least 1");
        end
        if ((DEPTH - 1) >> ADDR_W != 0) begin : bad_addr
            $error("xnorc_rom: ADDR_W bits cannot address DEPTH words");
        end
        if (REGISTERED != 0 && REGISTERED != 1) begin : bad_registered
            $error("xnorc_rom: REGISTERED must be 0 or 1");
        end
    endgenerate

    (* ram_style = STYLE *)
    reg [WIDTH-1:0] mem[0:DEPTH-1];
    // A ROM without an image is only this module elaborated on its own (yosys reads every
    // module with its defaults); every instance names its image.
    /* verilator lint_off WIDTH */
    localparam [0:0] HAS_IMAGE = INIT_FILE != "";
    /* verilator lint_on WIDTH */
    generate
        if (HAS_IMAGE) begin : image
            initial $readmemh(INIT_FILE, mem);
        end
    endgenerate

    localparam integer ADDR_COPY_BITS = 64;
    localparam integer ADDR_COPIES = (WIDTH + ADDR_COPY_BITS - 1) / ADDR_COPY_BITS;
    generate
        if (REGISTERED == 1 && STYLE == "logic") begin : registered_address
            genvar g;
            for (g = 0; g < ADDR_COPIES; g = g + 1) begin : copy
                localparam integer LO = g * ADDR_COPY_BITS;
                localparam integer W = (WIDTH - LO < ADDR_COPY_BITS) ? WIDTH - LO : ADDR_COPY_BITS;
                reg [ADDR_W-1:0] a;
                // keep: yosys merges registers with the same input back into one.
                (* keep *) always @(posedge clk) a <= addr;
                assign rdata[LO+:W] = mem[a][LO+:W];
            end
        end else if (REGISTERED == 1) begin : registered
            reg [WIDTH-1:0] q;
            always @(posedge clk) q <= mem[addr];
            assign rdata = q;
        end else begin : combinational
            // Only the clocked form uses the clock.
            wire unused_clk = clk;
            assign rdata = mem[addr];
        end
    endgenerate
endmodule

`default_nettype wire
