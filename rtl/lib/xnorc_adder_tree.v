// xnorc_adder_tree: the sum of N leaves, pairwise, with a register every PIPELINE levels.
//
// Level 0 holds the leaves; node i of level l adds nodes 2i and 2i + 1 of level l - 1 (an odd
// last node passes alone). Level l is LEAF_W + l bits wide, capped at OUT_W: a subtree over m
// leaves sums to within m * [leaf min, leaf max], which lies in the accumulator range whenever
// the leaf range contains 0, so no node overflows (docs/hardware.md, "Stages").
//
// Interface
//   leaves  N fields of LEAF_W bits, leaf i at [i*LEAF_W +: LEAF_W], two's complement when
//           SIGNED, else unsigned.
//   sum     the total, sign- or zero-extended to OUT_W bits.
// Timing
//   PIPELINE = 0: combinational. Otherwise level l is registered when l % PIPELINE == 0 or l is
//   the root, so the sum of the leaves of cycle t appears in cycle t + R with
//   R = ceil(log2(N) / PIPELINE) (xnorc_plan::tree_registers); N = 1 has no levels and R = 0.
// Parameters
//   N >= 1, 1 <= LEAF_W <= OUT_W, SIGNED 0/1, PIPELINE >= 0.
`default_nettype none

module xnorc_adder_tree #(
    parameter integer N = 1,
    parameter integer LEAF_W = 1,
    parameter integer SIGNED = 0,
    parameter integer OUT_W = 1,
    parameter integer PIPELINE = 0
) (
    // Only registered levels use the clock.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                clk,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [N*LEAF_W-1:0] leaves,
    output wire [   OUT_W-1:0] sum
);
    localparam integer LEVELS = (N > 1) ? $clog2(N) : 0;

    // Nodes and their width at level l.
    function integer count_at(input integer l);
        count_at = (N + (1 << l) - 1) >> l;
    endfunction
    function integer width_at(input integer l);
        width_at = (LEAF_W + l < OUT_W) ? LEAF_W + l : OUT_W;
    endfunction

    generate
        if (N < 1 || LEAF_W < 1 || LEAF_W > OUT_W || PIPELINE < 0) begin : bad_shape
            $error("xnorc_adder_tree: needs N >= 1, 1 <= LEAF_W <= OUT_W, PIPELINE >= 0");
        end
    endgenerate

    genvar l, i;
    generate
        for (l = 0; l <= LEVELS; l = l + 1) begin : level
            localparam integer COUNT = count_at(l);
            localparam integer W = width_at(l);
            wire [COUNT*W-1:0] nodes;
            if (l == 0) begin : inputs
                assign nodes = leaves;
            end else begin : adds
                localparam integer PW = width_at(l - 1);
                localparam integer PCOUNT = count_at(l - 1);
                wire [COUNT*W-1:0] value;
                for (i = 0; i < COUNT; i = i + 1) begin : node
                    wire [PW-1:0] a = level[l-1].nodes[2*i*PW+:PW];
                    wire [W-1:0] a_wide;
                    if (W > PW) begin : extend_a
                        assign a_wide = {SIGNED != 0 && a[PW-1], a};
                    end else begin : keep_a
                        assign a_wide = a;
                    end
                    if (2 * i + 1 < PCOUNT) begin : pair
                        wire [PW-1:0] b = level[l-1].nodes[(2*i+1)*PW+:PW];
                        wire [W-1:0] b_wide;
                        if (W > PW) begin : extend_b
                            assign b_wide = {SIGNED != 0 && b[PW-1], b};
                        end else begin : keep_b
                            assign b_wide = b;
                        end
                        assign value[i*W+:W] = a_wide + b_wide;
                    end else begin : single
                        assign value[i*W+:W] = a_wide;
                    end
                end
                if (PIPELINE > 0 && (l % PIPELINE == 0 || l == LEVELS)) begin : registered
                    reg [COUNT*W-1:0] q;
                    always @(posedge clk) q <= value;
                    assign nodes = q;
                end else begin : combinational
                    assign nodes = value;
                end
            end
        end
    endgenerate

    localparam integer ROOT_W = width_at(LEVELS);
    generate
        if (OUT_W > ROOT_W) begin : extend_root
            assign sum = {{(OUT_W - ROOT_W) {SIGNED != 0 && level[LEVELS].nodes[ROOT_W-1]}},
                          level[LEVELS].nodes};
        end else begin : root
            assign sum = level[LEVELS].nodes;
        end
    endgenerate
endmodule

`default_nettype wire
