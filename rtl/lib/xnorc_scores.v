// xnorc_scores: the output stage: per class score = MUL[c] * acc[c] + ADD[c], then the argmax
// (lowest index among the highest scores).
//
// Computation
//   acc[c] is field c of the input beat (ACC_W bits, two's complement). The score is computed
//   in SCORE_W bits, two's complement (the plan sizes SCORE_W so every true score fits, so the
//   low bits of the product are exact). SCAN = 0: the argmax is a tree of pairwise compares,
//   one register level per pairing: the lower-index side wins unless the other is strictly
//   greater, so ties go to the lowest index; the scores ride along in a delay line. SCAN = 1:
//   one comparator looks at the classes in index order, each in two cycles (compare with the
//   best so far, then select), a later class winning only if strictly greater: the same
//   argmax, from one comparator and the scores' register instead of a tree holding a copy of
//   every score per level.
// Interface
//   in_*   valid/ready stream of CLASSES accumulators of ACC_W bits.
//   out_*  valid/ready stream: CLASSES scores (class c at [c*SCORE_W +: SCORE_W]) and the
//          argmax above them (IDX_W = max(1, ceil(log2 CLASSES)) bits).
// Timing (xnorc_plan's Scores component)
//   SCAN = 0: DEPTH = 1 + max(1, ceil(log2 CLASSES)) register stages under one enable,
//   ce = !out_valid || out_ready (in_ready = ce); out_valid is the last stage's valid flag.
//   SCAN = 1: in_ready = !busy && !out_valid, a register. A frame taken in cycle t (its
//   accumulators registered) has its scores registered in t + 1, class 0 fetched in t + 2,
//   class k compared in t + 3 + 2k and selected in t + 4 + 2k; its beat is valid from
//   t + 2*CLASSES + 3 until taken, and the next frame can be taken the cycle after: a frame
//   per 2*CLASSES + 4 cycles. Every path starts and ends at this module's registers but the
//   input's handshake into acc_r's enable, the phase flags and score_r's enable register.
// Parameters
//   CLASSES >= 1, ACC_W >= 1, SCORE_W >= 1; MUL and ADD: CLASSES fields of SCORE_W bits
//   (class c at [c*SCORE_W +: SCORE_W], two's complement); SCAN 0 or 1.
`default_nettype none

module xnorc_scores #(
    parameter integer CLASSES = 1,
    parameter integer ACC_W = 1,
    parameter integer SCORE_W = 1,
    parameter [CLASSES*SCORE_W-1:0] MUL = 0,
    parameter [CLASSES*SCORE_W-1:0] ADD = 0,
    parameter integer SCAN = 0
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
        if (SCAN != 0 && SCAN != 1) begin : bad_scan
            $error("xnorc_scores: SCAN must be 0 or 1");
        end
    endgenerate

    // The scores of affine_in: the input beat (SCAN = 0: level 0 registers them), or the
    // accumulators registered when the frame was taken (SCAN = 1).
    wire [CLASSES*ACC_W-1:0] affine_in;
    wire [CLASSES*B-1:0] affine;
    genvar c, l, i;
    generate
        for (c = 0; c < CLASSES; c = c + 1) begin : class_score
            localparam [B-1:0] M = MUL[c*B+:B];
            localparam [B-1:0] D = ADD[c*B+:B];
            wire [ACC_W-1:0] acc = affine_in[c*ACC_W+:ACC_W];
            // Sign-extended to the score width; the low bits of the product are exact.
            wire [B-1:0] wide;
            if (B > ACC_W) begin : extend
                assign wide = {{(B - ACC_W) {acc[ACC_W-1]}}, acc};
            end else begin : truncate
                assign wide = acc[B-1:0];
            end
            assign affine[c*B+:B] = wide * M + D;
        end
    endgenerate

    generate
        if (SCAN == 0) begin : tree
            wire ce = !out_valid || out_ready;
            assign in_ready = ce;
            assign affine_in = in_data;

            // Level 0 registers the scores; level l > 0 registers the winners of level
            // l - 1's pairs.
            for (l = 0; l <= TREE; l = l + 1) begin : level
                localparam integer COUNT = count_at(l);
                // Best score and its index per node (the root's best score is not needed:
                // the output carries every score), every class's score delayed to this level,
                // valid. (The root's best score goes nowhere.)
                /* verilator lint_off UNUSEDSIGNAL */
                wire [COUNT*B-1:0] best;
                /* verilator lint_on UNUSEDSIGNAL */
                wire [COUNT*IB-1:0] index;
                wire [CLASSES*B-1:0] delayed;
                wire valid;
                reg valid_r;
                assign valid = valid_r;
                if (l == 0) begin : scores
                    reg [CLASSES*B-1:0] score_r;
                    always @(posedge clk) if (ce) score_r <= affine;
                    for (c = 0; c < CLASSES; c = c + 1) begin : class_index
                        localparam [IB-1:0] C = c;
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

            assign out_valid = level[TREE].valid;
            assign out_data = {level[TREE].index, level[TREE].delayed};
        end else begin : scan
            localparam integer LAST_I = CLASSES - 1;
            localparam [IB-1:0] LAST = LAST_I[IB-1:0];
            localparam [B-1:0] SIGN = {1'b1, {(B - 1) {1'b0}}};
            // A frame goes through one-hot phases: taken into acc_r (its accumulators, so the
            // affine starts at a register), its scores into score_r (load), class 0 into
            // cand_r (fetch), then per class a compare (take_r: cand_r beats the best so far)
            // and a select (best, best_i: the best so far; the next class fetched). k: the
            // class in cand_r (last_class: k is the last); next_k: the one to fetch (staying
            // at the last). A fetch takes the lowest score of score_r and rotates score_r by
            // one score, so no multiplexer over the classes stands in front of cand_r (on the
            // UP5K a 10:1 one was three LUT levels, a critical path); the CLASSES fetches of a
            // frame bring it back to class order before the output beat is valid. cand_r and
            // best hold offset binary (the sign bit flipped), so the
            // compare is one unsigned carry chain. best starts at the least value with index
            // 0 (set in the load phase), which is class 0's result when class 0 does not beat
            // it, so class 0 needs no case of its own; the last select moves the argmax to
            // out_i. Only acc_r's enable and the phase flags see the input's handshake, and
            // only the phase flags the reset (an iCE40 flip-flop's reset acts through its
            // enable, so a reset on an enabled register is one more LUT in its enable).
            reg [CLASSES*ACC_W-1:0] acc_r;
            reg [CLASSES*B-1:0] score_r;
            reg [B-1:0] cand_r, best;
            reg [IB-1:0] k, next_k, best_i, out_i;
            reg busy, loading, fetching, comparing, selecting, take_r, last_class, out_valid_r;
            // score_r's enable, loading || advance, as a register of its next value (it spans
            // every score bit: as a LUT of the phase flags it was a critical path on the UP5K).
            // The phases are one-hot, so in a compare cycle nothing advances and last_class
            // holds: the next cycle advances after a load (fetch) or a compare of any class
            // but the last (select).
            reg score_ce;
            // in_ready = !busy && !out_valid_r, kept as a register of their next values.
            reg in_ready_r;
            wire take = in_valid && in_ready;
            assign in_ready = in_ready_r;
            wire advance = fetching || (selecting && !last_class);
            wire done = selecting && last_class;
            wire busy_n = take || (busy && !done);
            wire out_valid_n = done || (out_valid_r && !out_ready);
            assign affine_in = acc_r;
            wire [CLASSES*B-1:0] rotated;
            if (CLASSES > 1) begin : rotate
                assign rotated = {score_r[B-1:0], score_r[CLASSES*B-1:B]};
            end else begin : stay
                assign rotated = score_r;
            end
            always @(posedge clk) begin
                if (take) acc_r <= in_data;
                if (score_ce) score_r <= loading ? affine : rotated;
                if (advance) begin
                    cand_r <= score_r[B-1:0] ^ SIGN;
                    k <= next_k;
                    last_class <= next_k == LAST;
                end
                if (comparing) take_r <= cand_r > best;
                if (done) out_i <= take_r ? k : best_i;
                if (loading) begin
                    best <= {B{1'b0}};
                    best_i <= {IB{1'b0}};
                end else if (selecting && take_r) begin
                    best <= cand_r;
                    best_i <= k;
                end
                if (loading) next_k <= {IB{1'b0}};
                else if (advance && next_k != LAST) next_k <= next_k + 1'b1;
                if (rst) begin
                    busy <= 1'b0;
                    loading <= 1'b0;
                    fetching <= 1'b0;
                    comparing <= 1'b0;
                    selecting <= 1'b0;
                    out_valid_r <= 1'b0;
                    in_ready_r <= 1'b1;
                    score_ce <= 1'b0;
                end else begin
                    score_ce <= take || loading || (comparing && !last_class);
                    busy <= busy_n;
                    loading <= take;
                    fetching <= loading;
                    comparing <= advance;
                    selecting <= comparing;
                    out_valid_r <= out_valid_n;
                    in_ready_r <= !busy_n && !out_valid_n;
                end
            end
            assign out_valid = out_valid_r;
            assign out_data = {out_i, score_r};
        end
    endgenerate
endmodule

`default_nettype wire
