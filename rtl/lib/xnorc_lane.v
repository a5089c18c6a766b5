// xnorc_lane: what one MVU lane (or one counter of a responses stage) adds for one input
// element and its weight: the leaf of an adder tree.
//
// Lanes (docs/hardware.md, "Stages"):
//   LANE          input x        weight w   leaf                               LEAF_W    signed
//   "xnor"        1 bit          1 bit      ~(w ^ x)                           1         no
//   "and"         1 bit          1 bit      w & x                              1         no
//   "xnor_masked" 1 bit + valid  1 bit      valid ? (w == x ? +1 : -1) : 0     2         yes
//   "and_masked"  1 bit + valid  1 bit      valid & w ? (x ? +1 : -1) : 0      2         yes
//   "add_sub"     EB-bit integer 1 bit      w ? x : -x                         EB + 1    yes
//   "add_zero"    EB-bit integer 1 bit      w ? x : 0                          EB + 1    yes
//   "select"      ENTRIES fields 1 index    field w of x (RESPONSE_BITS each;  RESP_BITS as the
//                 of RESPONSE_BITS (TAU bits) zero for w >= ENTRIES)                     responses
//   "mul"         EB-bit integer WB-bit     x * w (w two's complement)         EB + WB + 1 yes
//                                integer
// x of an integer lane is two's complement when IN_SIGNED, else unsigned; the masked lanes read
// the beat's valid flag (0: a padded tap that must count as 0) and count S itself.
//
// Interface: combinational, w (W_BITS: TAU for "select", WB for "mul", else 1), x (EB bits),
// valid; leaf.
// Parameters: LANE as above; EB >= 1 (1 for the binary lanes); LEAF_W must equal the table's
// width (the generator computes it, this module checks it); "select": TAU >= 1,
// 1 <= ENTRIES <= 2^TAU, EB = ENTRIES * RESPONSE_BITS.
`default_nettype none

module xnorc_lane #(
    parameter LANE = "xnor",
    parameter integer EB = 1,
    parameter integer IN_SIGNED = 0,
    parameter integer LEAF_W = 1,
    parameter integer TAU = 1,
    parameter integer ENTRIES = 1,
    parameter integer RESPONSE_BITS = 1,
    parameter integer WB = 1,
    parameter integer W_BITS = 1
) (
    // Which inputs a lane reads depends on its kind.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [W_BITS-1:0] w,
    input  wire [    EB-1:0] x,
    input  wire              valid,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [LEAF_W-1:0] leaf
);
    // String parameters compare as bit vectors of their own lengths.
    /* verilator lint_off WIDTH */
    localparam [0:0] XNOR = LANE == "xnor", AND = LANE == "and";
    localparam [0:0] XNOR_MASKED = LANE == "xnor_masked", AND_MASKED = LANE == "and_masked";
    localparam [0:0] ADD_SUB = LANE == "add_sub", ADD_ZERO = LANE == "add_zero";
    localparam [0:0] SELECT = LANE == "select";
    localparam [0:0] MUL = LANE == "mul";
    /* verilator lint_on WIDTH */

    generate
        if (W_BITS != (SELECT ? TAU : (MUL ? WB : 1))) begin : bad_weight
            $error("xnorc_lane: W_BITS must be TAU for a select lane, WB for a mul lane, else 1");
        end
        if (XNOR || AND) begin : binary
            if (EB != 1 || LEAF_W != 1) begin : bad_width
                $error("xnorc_lane: binary lanes take 1-bit inputs and leaves");
            end
            if (XNOR) begin : xnor_leaf
                assign leaf = ~(w ^ x);
            end else begin : and_leaf
                assign leaf = w & x;
            end
        end else if (XNOR_MASKED || AND_MASKED) begin : masked
            if (EB != 1 || LEAF_W != 2) begin : bad_width
                $error("xnorc_lane: masked lanes take 1-bit inputs and give 2-bit leaves");
            end
            // +1, -1 and 0 in two bits, two's complement.
            if (XNOR_MASKED) begin : xnor_leaf
                assign leaf = valid ? ((~(w ^ x)) ? 2'd1 : 2'd3) : 2'd0;
            end else begin : and_leaf
                assign leaf = (valid && w[0]) ? (x[0] ? 2'd1 : 2'd3) : 2'd0;
            end
        end else if (ADD_SUB || ADD_ZERO) begin : integer_lane
            if (LEAF_W != EB + 1) begin : bad_width
                $error("xnorc_lane: integer lanes give leaves one bit wider than the input");
            end
            wire [EB:0] wide = {IN_SIGNED != 0 && x[EB-1], x};
            if (ADD_SUB) begin : add_sub_leaf
                assign leaf = w[0] ? wide : -wide;
            end else begin : add_zero_leaf
                assign leaf = w[0] ? wide : {(EB + 1) {1'b0}};
            end
        end else if (MUL) begin : mul_lane
            if (LEAF_W != EB + WB + 1) begin : bad_width
                $error("xnorc_lane: a mul lane gives EB + WB + 1-bit leaves");
            end
            // x widened by one bit so an unsigned x stays non-negative; both signed.
            wire signed [EB:0] xs = {IN_SIGNED != 0 && x[EB-1], x};
            wire signed [WB-1:0] ws = w;
            wire signed [EB+WB:0] product = xs * ws;
            assign leaf = product;
        end else if (SELECT) begin : select
            if (TAU < 1 || ENTRIES < 1 || ENTRIES > (1 << TAU)) begin : bad_codebook
                $error("xnorc_lane: a select lane needs 1 <= ENTRIES <= 2^TAU");
            end
            if (EB != ENTRIES * RESPONSE_BITS || LEAF_W != RESPONSE_BITS) begin : bad_width
                $error("xnorc_lane: a select lane reads ENTRIES responses and gives one");
            end
            // A multiplexer tree on the index bits, lowest bit first; fields past the last
            // entry (never named) are zero, so every index bit is used even for one kernel.
            genvar level, i;
            for (level = 0; level <= TAU; level = level + 1) begin : mux
                wire [((1 << (TAU - level)) * RESPONSE_BITS)-1:0] fields;
                if (level == 0) begin : responses
                    if (ENTRIES < (1 << TAU)) begin : padded
                        assign fields = {{(((1 << TAU) - ENTRIES) * RESPONSE_BITS) {1'b0}}, x};
                    end else begin : full
                        assign fields = x;
                    end
                end else begin : pick
                    for (i = 0; i < (1 << (TAU - level)); i = i + 1) begin : field
                        assign fields[i*RESPONSE_BITS+:RESPONSE_BITS] = w[level-1]
                            ? mux[level-1].fields[(2*i+1)*RESPONSE_BITS+:RESPONSE_BITS]
                            : mux[level-1].fields[2*i*RESPONSE_BITS+:RESPONSE_BITS];
                    end
                end
            end
            assign leaf = mux[TAU].fields;
        end else begin : bad_lane
            $error("xnorc_lane: unknown LANE");
        end
    endgenerate
endmodule

`default_nettype wire
