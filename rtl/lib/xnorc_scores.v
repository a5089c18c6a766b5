// xnorc_scores: the output stage: per class score = MUL[c] * acc[c] + ADD[c], then the argmax
// (lowest index among the highest scores).
//
// Computation
//   acc[c] is field c of the input beat (ACC_W bits, two's complement). The score is computed
//   in SCORE_W bits, two's complement (the plan sizes SCORE_W so every true score fits, so the
//   low bits of the product are exact). The argmax is a tree of pairwise compares, one register
//   level per pairing: the lower-index side wins unless the other is strictly greater, so ties
//   go to the lowest index; the scores ride along in a delay line.
// Interface
//   in_*   valid/ready stream of CLASSES accumulators of ACC_W bits.
//   out_*  valid/ready stream: CLASSES scores (class c at [c*SCORE_W +: SCORE_W]) and the
//          argmax above them (IDX_W = max(1, ceil(log2 CLASSES)) bits).
// Timing (xnorc_plan's Scores component)
//   DEPTH = 1 + max(1, ceil(log2 CLASSES)) register stages under one enable,
//   ce = !out_valid || out_ready (in_ready = ce); out_valid is the last stage's valid flag.
// Parameters
//   CLASSES >= 1, ACC_W >= 1, SCORE_W >= 1; MUL and ADD: CLASSES fields of SCORE_W bits
//   (class c at [c*SCORE_W +: SCORE_W], two's complement).
`default_nettype none

module xnorc_scores #(
    parameter integer CLASSES = 1,
    parameter integer ACC_W = 1,
    parameter integer SCORE_W = 1,
    parameter [CLASSES*SCORE_W-1:0] MUL = 0,
    parameter [CLASSES*SCORE_W-1:0] ADD = 0
) (
    input  wire                                  clk,
    input  wire                                  rst,
    input  wire                                  in_valid,
    output wire                                  in_ready,
    input  wire [CLASSES*ACC_W-1:0]              in_data,
    output wire                                  out_valid,
    input  wire                                  out_ready,
    output wire [CLASSES*SCORE_W+((CLASSES > 1) ? $clog2(CLASSES) : 1)-1:0] out_data
);
    localparam integer B = SCORE_W;
    localparam integer IB = (CLASSES > 1) ? $clog2(CLASSES) : 1;
    // Argmax tree levels (one register level each); at least one, so one class still passes a
    // register level.
    localparam integer TREE = (CLASSES > 1) ? $clog2(CLASSES) : 1;

    function integer count_at(input integer l);  // nodes at tree level l
        count_at = (CLASSES + (1 << l) - 1) >> l;
    endfunction

    generate
        if (CLASSES < 1 || ACC_W < 1 || SCORE_W < 1) begin : bad_shape
            $error("xnorc_scores: CLASSES, ACC_W and SCORE_W must be at least 1");
        end
    endgenerate

    wire ce = !out_valid || out_ready;
    assign in_ready = ce;

    // Level 0 registers the scores; level l > 0 registers the winners of level l - 1's pairs.
    genvar c, l, i;
    generate
        for (l = 0; l <= TREE; l = l + 1) begin : level
            localparam integer COUNT = count_at(l);
            // Best score and its index per node (the root's best score is not needed: the
            // output carries every score), every class's score delayed to this level, valid.
            // (The root's best score goes nowhere.)
            /* verilator lint_off UNUSEDSIGNAL */
            wire [COUNT*B-1:0] best;
            /* verilator lint_on UNUSEDSIGNAL */
            wire [COUNT*IB-1:0] index;
            wire [CLASSES*B-1:0] delayed;
            wire valid;
            reg valid_r;
            assign valid = valid_r;
            if (l == 0) begin : affine
                reg [CLASSES*B-1:0] score_r;
                for (c = 0; c < CLASSES; c = c + 1) begin : class_score
                    localparam [B-1:0] M = MUL[c*B+:B];
                    localparam [B-1:0] D = ADD[c*B+:B];
                    localparam [IB-1:0] C = c;
                    wire [ACC_W-1:0] acc = in_data[c*ACC_W+:ACC_W];
                    // Sign-extended to the score width; the low bits of the product are exact.
                    wire [B-1:0] wide;
                    if (B > ACC_W) begin : extend
                        assign wide = {{(B - ACC_W) {acc[ACC_W-1]}}, acc};
                    end else begin : truncate
                        assign wide = acc[B-1:0];
                    end
                    always @(posedge clk) if (ce) score_r[c*B+:B] <= wide * M + D;
                    assign index[c*IB+:IB] = C;
                end
                assign best = score_r;
                assign delayed = score_r;
                always @(posedge clk) begin
                    if (rst) valid_r <= 1'b0;
                    else if (ce) valid_r <= in_valid && in_ready;
                end
            end else begin : pairs
                localparam integer PREV = count_at(l - 1);
                reg [COUNT*B-1:0] best_r;
                reg [COUNT*IB-1:0] index_r;
                reg [CLASSES*B-1:0] delayed_r;
                for (i = 0; i < COUNT; i = i + 1) begin : node
                    wire [B-1:0] a = level[l-1].best[2*i*B+:B];
                    wire [IB-1:0] a_index = level[l-1].index[2*i*IB+:IB];
                    if (2 * i + 1 < PREV) begin : pair
                        wire [B-1:0] b = level[l-1].best[(2*i+1)*B+:B];
                        wire [IB-1:0] b_index = level[l-1].index[(2*i+1)*IB+:IB];
                        wire take_b = $signed(b) > $signed(a);
                        always @(posedge clk) begin
                            if (ce) begin
                                index_r[i*IB+:IB] <= take_b ? b_index : a_index;
                                best_r[i*B+:B] <= take_b ? b : a;
                            end
                        end
                    end else begin : single
                        always @(posedge clk) begin
                            if (ce) begin
                                index_r[i*IB+:IB] <= a_index;
                                best_r[i*B+:B] <= a;
                            end
                        end
                    end
                end
                always @(posedge clk) if (ce) delayed_r <= level[l-1].delayed;
                always @(posedge clk) begin
                    if (rst) valid_r <= 1'b0;
                    else if (ce) valid_r <= level[l-1].valid;
                end
                assign best = best_r;
                assign index = index_r;
                assign delayed = delayed_r;
            end
        end
    endgenerate

    assign out_valid = level[TREE].valid;
    assign out_data = {level[TREE].index, level[TREE].delayed};
endmodule

`default_nettype wire
