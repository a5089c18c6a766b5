// xnorc_rom: a read-only memory initialized from a hex image, read asynchronously or through
// one to three registers. Every ROM of the core (weights, kernel indices, codebook planes,
// thresholds, split tables) is one of these, so memory placement and initialization live in
// one place.
//
// Interface
//   addr  ADDR_W bits. REGISTERED = 0: rdata = mem[addr] (combinational). REGISTERED = 1: rdata
//         is registered at every clock edge, no enable, so yosys can map it to block RAM.
//         REGISTERED = 2: the address is registered too, so a caller hands in the address one
//         cycle ahead (its address register's next value). REGISTERED = 3: the address passes
//         two registers, handed in two cycles ahead.
// Timing
//   rdata holds mem[addr] of REGISTERED clock edges before. REGISTERED = 2 with STYLE "logic"
//   keeps one copy of the address register per ADDR_COPY_BITS data bits, each reading a slice
//   of the word as its own memory: a wide ROM in logic is thousands of LUTs, and one address
//   register reaching all of them was the critical path of a large design (CNV's conv3,
//   2,048 × 36 in logic on the LFE5U-85F: a 15.4 ns route from the address register across
//   the die). REGISTERED = 3 puts a register tree in front of the copies: one first-level
//   copy per MID_SLICES slices, placed between the address and its slices (TFC's fc1 at II 7
//   on the LFE5U-85F: 112 slice copies, a 13 ns route from one address register to the
//   farthest). The copies sit in front of memories whose data is registered too: yosys folds
//   an address register that feeds an unregistered read into a registered read of the data
//   (memory_dff), which is also what REGISTERED = 1 in logic gives, behind one address.
// Memory images
//   INIT_FILE: hex words, one per line, word 0 first (relative to the tool's working
//   directory). A sliced ROM (REGISTERED >= 2, STYLE "logic", WIDTH > ADDR_COPY_BITS, DEPTH > 1:
//   one word is a constant) is given a stem instead: it reads slice g, bits
//   [g*ADDR_COPY_BITS +: ADDR_COPY_BITS] of every word (the last slice the bits left), from
//   the stem followed by "_s", g in three decimal digits and ".hex" ("w" → "w_s000.hex").
//   One memory per slice, because yosys maps every read port of a memory to the memory's full
//   width before it drops unused bits: a 2,048-bit ROM with 32 read ports took more than 7
//   minutes and 2 GB to synthesize.
// Parameters
//   WIDTH >= 1, DEPTH >= 1, ADDR_W >= 1 with 2^ADDR_W >= DEPTH (addresses past DEPTH - 1 never
//   occur); REGISTERED 0 to 3; a sliced ROM has at most 1,000 slices; STYLE: yosys's
//   ram_style ("block", "logic", "distributed", or "auto" for the tool's choice).
`default_nettype none

module xnorc_rom #(
    parameter integer WIDTH = 1,
    parameter integer DEPTH = 1,
    parameter integer ADDR_W = 1,
    parameter integer REGISTERED = 1,
    parameter INIT_FILE = "",
    // The synthesis attribute of the memory, and whether a REGISTERED >= 2 ROM is sliced.
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
        if (REGISTERED < 0 || REGISTERED > 3) begin : bad_registered
            $error("xnorc_rom: REGISTERED must be 0, 1, 2 or 3");
        end
    endgenerate

    localparam integer ADDR_COPY_BITS = 64;
    localparam integer ADDR_COPIES = (WIDTH + ADDR_COPY_BITS - 1) / ADDR_COPY_BITS;
    localparam [0:0] SLICED =
        REGISTERED >= 2 && STYLE == "logic" && ADDR_COPIES > 1 && DEPTH > 1;
    // REGISTERED = 3: slices per first-level address copy.
    localparam integer MID_SLICES = 8;
    localparam integer MID_COPIES = (ADDR_COPIES + MID_SLICES - 1) / MID_SLICES;
    generate
        if (SLICED && ADDR_COPIES > 1000) begin : bad_slices
            $error("xnorc_rom: a sliced ROM has at most 1000 slices of ADDR_COPY_BITS bits");
        end
    endgenerate
    // A ROM without an image is only this module elaborated on its own (yosys reads every
    // module with its defaults); every instance names its image.
    /* verilator lint_off WIDTH */
    localparam [0:0] HAS_IMAGE = INIT_FILE != "";
    /* verilator lint_on WIDTH */

    generate
        if (SLICED) begin : sliced
            genvar g;
            // The address each slice's copy takes: the caller's, or with REGISTERED = 3 a
            // first-level copy shared by MID_SLICES slices.
            wire [MID_COPIES*ADDR_W-1:0] slice_addr;
            if (REGISTERED == 3) begin : mid
                xnorc_copies #(
                    .WIDTH(ADDR_W),
                    .COPIES(MID_COPIES)
                ) copies (
                    .clk(clk),
                    .d(addr),
                    .q(slice_addr)
                );
            end else begin : direct
                assign slice_addr = {MID_COPIES{addr}};
            end
            for (g = 0; g < ADDR_COPIES; g = g + 1) begin : slice
                localparam integer LO = g * ADDR_COPY_BITS;
                localparam integer W = (WIDTH - LO < ADDR_COPY_BITS) ? WIDTH - LO : ADDR_COPY_BITS;
                // g in three decimal digits (ASCII).
                localparam [7:0] D2 = 8'd48 + g / 100;
                localparam [7:0] D1 = 8'd48 + (g / 10) % 10;
                localparam [7:0] D0 = 8'd48 + g % 10;
                (* ram_style = STYLE *)
                reg [W-1:0] mem[0:DEPTH-1];
                if (HAS_IMAGE) begin : image
                    initial $readmemh({INIT_FILE, "_s", D2, D1, D0, ".hex"}, mem);
                end
                reg [ADDR_W-1:0] a;
                reg [W-1:0] q;
                // keep: yosys merges registers with the same input back into one.
                (* keep *) always @(posedge clk) a <= slice_addr[(g/MID_SLICES)*ADDR_W+:ADDR_W];
                always @(posedge clk) q <= mem[a];
                assign rdata[LO+:W] = q;
            end
        end else begin : whole
            (* ram_style = STYLE *)
            reg [WIDTH-1:0] mem[0:DEPTH-1];
            if (HAS_IMAGE) begin : image
                initial $readmemh(INIT_FILE, mem);
            end
            if (REGISTERED == 3) begin : two_address_registers
                reg [ADDR_W-1:0] a_mid, a;
                reg [WIDTH-1:0] q;
                always @(posedge clk) a_mid <= addr;
                always @(posedge clk) a <= a_mid;
                always @(posedge clk) q <= mem[a];
                assign rdata = q;
            end else if (REGISTERED == 2) begin : registered_address
                reg [ADDR_W-1:0] a;
                reg [WIDTH-1:0] q;
                always @(posedge clk) a <= addr;
                always @(posedge clk) q <= mem[a];
                assign rdata = q;
            end else if (REGISTERED == 1) begin : registered
                reg [WIDTH-1:0] q;
                always @(posedge clk) q <= mem[addr];
                assign rdata = q;
            end else begin : combinational
                // Only the clocked forms use the clock.
                wire unused_clk = clk;
                assign rdata = mem[addr];
            end
        end
    endgenerate
endmodule

`default_nettype wire
