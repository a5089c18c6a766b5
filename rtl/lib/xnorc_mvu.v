// xnorc_mvu: the matrix-vector unit, PE output channels x SIMD input elements per cycle, with
// the threshold that follows it fused in (or the raw accumulators for the scores stage).
//
// Computation (docs/hardware.md, "Stages"; docs/semantics.md for what the lanes add)
//   For each input vector (SF beats of SIMD elements) the unit makes NF passes; pass nf
//   computes outputs nf*PE .. nf*PE + PE - 1: op (nf, sf) adds the SIMD leaves of each lane
//   (xnorc_lane) through an adder tree (xnorc_adder_tree) into the PE accumulators. After the
//   pass's last op, OUTPUT = "threshold" counts for each of the PE*FANOUT outputs how many of
//   its LEVELS thresholds the total passes (output e compares total e mod PE: a fanned-out
//   tiled layer's channel groups share filters); OUTPUT = "accumulator" emits the PE totals.
// Memories (the ROMs are xnorc_rom, their images written by the generator; the input buffer
// of NF > 1 units, SF words of the operand, is written here, beside the operand register)
//   WEIGHTS_FILE     WEIGHT_DEPTH words of WEIGHT_WORD bits, read at address waddr: word
//                    row*SF + sf holds bit pe*SIMD + s = weight of output nf*PE + pe, input
//                    sf*SIMD + s (rows wrap: a tiled layer stores repeated rows once). With
//                    DECODE = 1 the words hold PE*SIMD TAU-bit kernel indices (CB_BLOCKS words
//                    per row, reread for each of the KPOS kernel positions), and PLANES_FILE
//                    holds KPOS planes of 2^TAU bits (bit j: codebook entry j's bit at that
//                    position) that turn each index into its weight bit. With DECODE = 2
//                    (whole kernels) an op covers SIMD / KPOS channels at all KPOS kernel
//                    positions: each word holds PE * SIMD / KPOS TAU-bit indices, one word per
//                    op as dense words are, and CODEBOOK (a constant, entry j's kernel at
//                    [j*KPOS +: KPOS]) turns each index into KPOS weight bits. A "select" lane's
//                    words hold PE*SIMD TAU-bit indices of the responses to add; a "mul"
//                    lane's, PE*SIMD WB-bit integer weights (lane l at [l*WB +: WB]).
//   THRESHOLDS_FILE  NF words: PE*FANOUT*LEVELS offset-binary bounds of ACC_W bits (output e,
//                    level k at [(e*LEVELS + k)*ACC_W +: ACC_W]), then PE*FANOUT direction bits
//                    (1: total >= threshold; 0: total <= threshold, stored as the bound t + 1
//                    of the complement), so every compare is one unsigned >=.
// Interface
//   in_*   valid/ready stream: SIMD elements of EB bits (two's complement when IN_SIGNED),
//          plus the valid flag of a padded tap above them when VALID_BIT = 1.
//   out_*  valid/ready stream: PE*FANOUT elements of OB bits (threshold counts), or PE
//          accumulators of ACC_W bits; element i at [i*OB +: OB].
// Timing (xnorc_plan's Mvu component; the cycle model predicts it exactly)
//   Ops issue one per cycle, nf outer, sf inner; pass 0 takes its operand from the stream and
//   stores it in the input buffer, passes nf > 0 reread it. An op passes the operand/weight
//   register, the codebook decode register (DECODE 1 or 2), a second operand/weight register
//   (MEM_REG: no lane starts at a block RAM output; its operand copied per 8 PEs), with
//   BCAST_REG a third one (the operand's copies fed from a first level of copies, one per 16
//   PEs, the accumulators' flags copied per PE from one per 8, and the weight address
//   through one more register, a tree of them in a sliced logic ROM: a wide unit on a large
//   device, where one route across the die takes 10-13 ns), with LANE "mul" the products' register (a hard
//   multiplier's output then never feeds the adder tree directly: on a large ECP5 the route
//   from a MULT18X18D back to the tree's carry chains alone took 10 ns), the tree's registers,
//   the accumulator;
//   one cycle later the compare stage, one cycle later the result register, then the output
//   queue of QUEUE entries. The datapath never stalls: the last op of a pass issues only while
//   a queue slot is unclaimed (credits; a slot's credit comes back the cycle after its beat
//   leaves), so in_ready and issue depend on this unit's registers and in_valid only, never on
//   out_ready; in_ready is itself a register.
// Parameters
//   PE, SIMD, NF, SF, FANOUT, EB, ACC_W, QUEUE, LEVELS, OB >= 1; LANE, EB, LEAF_W, TAU, ENTRIES,
//   RESPONSE_BITS as xnorc_lane takes them (LEAF_SIGNED: the leaves are two's complement);
//   WEIGHT_WORD = PE*SIMD*(TAU for "select" or DECODE = 1, WB for "mul", else 1), or
//   PE*SIMD/KPOS*TAU with DECODE = 2; OUTPUT "threshold" or "accumulator" (then FANOUT = 1 and
//   OB = ACC_W); DECODE 0/1/2 (1: binary lanes only; 2: KPOS divides SIMD, no valid flag, no
//   "select" or "mul" lane; lane i of a PE reads channel i mod (SIMD/KPOS) at kernel position
//   i / (SIMD/KPOS), the layout xnorc_dwc_up makes of KPOS window beats), MEM_REG 0/1,
//   BCAST_REG 0/1 (needs MEM_REG = 1 and DECODE = 0), TREE_PIPELINE >= 0; *_STYLE: ram_style
//   of each memory (xnorc_rom, xnorc_ram).
`default_nettype none

module xnorc_mvu #(
    parameter integer PE = 1,
    parameter integer SIMD = 1,
    parameter integer NF = 1,
    parameter integer SF = 1,
    parameter integer FANOUT = 1,
    parameter integer EB = 1,
    parameter integer IN_SIGNED = 0,
    parameter integer VALID_BIT = 0,
    parameter LANE = "xnor",
    parameter integer LEAF_W = 1,
    parameter integer LEAF_SIGNED = 0,
    parameter integer TAU = 1,
    parameter integer ENTRIES = 1,
    parameter integer RESPONSE_BITS = 1,
    parameter integer WB = 1,
    parameter integer ACC_W = 2,
    parameter integer WEIGHT_WORD = 1,
    parameter integer WEIGHT_DEPTH = 1,
    parameter WEIGHTS_FILE = "",
    parameter WEIGHT_STYLE = "auto",
    parameter integer DECODE = 0,
    parameter integer CB_BLOCKS = 1,
    parameter integer KPOS = 1,
    parameter PLANES_FILE = "",
    parameter [ENTRIES*KPOS-1:0] CODEBOOK = {ENTRIES * KPOS{1'b0}},
    parameter OUTPUT = "threshold",
    parameter integer LEVELS = 1,
    parameter integer OB = 1,
    parameter THRESHOLDS_FILE = "",
    parameter THRESHOLD_STYLE = "auto",
    parameter integer TREE_PIPELINE = 1,
    parameter integer MEM_REG = 0,
    parameter integer BCAST_REG = 0,
    parameter integer QUEUE = 2,
    // Read by the input buffer's synthesis attribute only, which Verilator does not evaluate.
    /* verilator lint_off UNUSEDPARAM */
    parameter IBUF_STYLE = "auto",
    /* verilator lint_on UNUSEDPARAM */
    // The output beat's bits: PE*FANOUT*OB thresholded, PE*ACC_W accumulators (checked).
    parameter integer OUT_BITS = 1
) (
    input  wire                                 clk,
    input  wire                                 rst,
    input  wire                                 in_valid,
    output wire                                 in_ready,
    input  wire [          SIMD*EB+VALID_BIT-1:0] in_data,
    output wire                                 out_valid,
    input  wire                                 out_ready,
    output wire [       OUT_BITS-1:0] out_data
);
    // String parameters compare as bit vectors of their own lengths.
    /* verilator lint_off WIDTH */
    localparam [0:0] THRESHOLDED = OUTPUT == "threshold";
    localparam [0:0] ACCUMULATES = OUTPUT == "accumulator";
    localparam [0:0] SELECT = LANE == "select";
    localparam [0:0] MUL = LANE == "mul";
    /* verilator lint_on WIDTH */
    localparam integer OUTS = THRESHOLDED ? PE * FANOUT : PE;
    localparam integer OUT_W = THRESHOLDED ? OUTS * OB : PE * ACC_W;
    localparam integer XW = SIMD * EB + VALID_BIT;
    // Weight bits per lane reaching the lanes: an index for select lanes, an integer for mul
    // lanes, else one bit.
    localparam integer LANE_W = SELECT ? TAU : (MUL ? WB : 1);
    localparam integer WW = PE * SIMD * LANE_W;
    localparam integer NFW = (NF > 1) ? $clog2(NF) : 1;
    localparam integer SFW = (SF > 1) ? $clog2(SF) : 1;
    localparam integer AW = (WEIGHT_DEPTH > 1) ? $clog2(WEIGHT_DEPTH) : 1;
    localparam integer TREE_LEVELS = (SIMD > 1) ? $clog2(SIMD) : 0;
    localparam integer TREE_REGS =
        (TREE_PIPELINE > 0) ? (TREE_LEVELS + TREE_PIPELINE - 1) / TREE_PIPELINE : 0;
    // Register stages between the operand register and the accumulator.
    localparam integer PRODUCT_REG = MUL ? 1 : 0;
    localparam integer DECODE_REG = (DECODE != 0) ? 1 : 0;
    localparam integer REGS = DECODE_REG + MEM_REG + BCAST_REG + PRODUCT_REG + TREE_REGS;
    // Whole kernels (DECODE = 2): channels per op, each at KPOS kernel positions.
    localparam integer KCH = (DECODE == 2) ? SIMD / KPOS : SIMD;
    localparam integer THRESHOLD_W = OUTS * LEVELS * ACC_W + OUTS;

    localparam integer NF_LAST_I = NF - 1;
    localparam [NFW-1:0] NF_LAST = NF_LAST_I[NFW-1:0];
    localparam integer SF_NEXT_TO_LAST_I = (SF > 1) ? SF - 2 : 0;
    localparam [SFW-1:0] SF_NEXT_TO_LAST = SF_NEXT_TO_LAST_I[SFW-1:0];
    localparam integer WEIGHT_LAST_I = WEIGHT_DEPTH - 1;
    localparam [AW-1:0] WEIGHT_LAST = WEIGHT_LAST_I[AW-1:0];
    localparam integer CW = $clog2(QUEUE + 1);
    localparam [CW-1:0] QUEUE_SIZE = QUEUE[CW-1:0];
    localparam [CW-1:0] ONE_CREDIT = 1;

    generate
        if (PE < 1 || SIMD < 1 || NF < 1 || SF < 1 || FANOUT < 1 || EB < 1 || ACC_W < 1 ||
            QUEUE < 1 || LEVELS < 1 || OB < 1 || TREE_PIPELINE < 0) begin : bad_shape
            $error("xnorc_mvu: PE, SIMD, NF, SF, FANOUT, EB, ACC_W, QUEUE, LEVELS, OB must be >= 1");
        end
        if (ACC_W < 2) begin : bad_accumulator
            $error("xnorc_mvu: ACC_W must be at least 2 (a range with room on both sides)");
        end
        if (THRESHOLDED && (LEVELS >> OB) != 0) begin : bad_levels
            $error("xnorc_mvu: OB bits cannot count LEVELS thresholds");
        end
        if (!THRESHOLDED && !ACCUMULATES) begin : bad_output
            $error("xnorc_mvu: OUTPUT must be threshold or accumulator");
        end
        if (OUT_BITS != OUT_W) begin : bad_out_bits
            $error("xnorc_mvu: OUT_BITS must be PE*FANOUT*OB (threshold) or PE*ACC_W");
        end
        if (ACCUMULATES && FANOUT != 1) begin : bad_fanout
            $error("xnorc_mvu: only a thresholded unit fans out");
        end
        if (DECODE == 2 ? WEIGHT_WORD != PE * KCH * TAU
            : WEIGHT_WORD != PE * SIMD * ((DECODE == 1 || SELECT) ? TAU : (MUL ? WB : 1)))
        begin : bad_word
            $error("xnorc_mvu: WEIGHT_WORD must be PE*SIMD weight bits, TAU-bit indices or WB-bit integers");
        end
        if (DECODE < 0 || DECODE > 2 || MEM_REG != 0 && MEM_REG != 1) begin : bad_flag
            $error("xnorc_mvu: DECODE must be 0, 1 or 2 and MEM_REG 0 or 1");
        end
        if (DECODE == 2 && (KPOS < 1 || SIMD % KPOS != 0 || VALID_BIT != 0 || SELECT || MUL))
        begin : bad_kernels
            $error("xnorc_mvu: whole kernels need KPOS | SIMD, no valid flag and a binary-weight lane");
        end
        if (BCAST_REG != 0 && (BCAST_REG != 1 || MEM_REG != 1 || DECODE != 0)) begin : bad_bcast
            $error("xnorc_mvu: BCAST_REG must be 0, or 1 with MEM_REG = 1 and DECODE = 0");
        end
        if (DECODE == 1 && SELECT) begin : bad_decode
            $error("xnorc_mvu: a select lane reads indices of responses, not decoded weights");
        end
    endgenerate

    // ---- Issue: counters, credits, operand -----------------------------------------------
    reg [NFW-1:0] nf;
    reg [SFW-1:0] sf;
    reg [AW-1:0] waddr;
    // nf == 0, sf == SF - 1 and "a queue slot is unclaimed" as registers kept in step with the
    // counters: they gate issue and in_ready, which must not start with a compare.
    reg need_in, last_sf, credit_ok;
    // go = !last_sf || credit_ok, kept as a register too, so issue is one LUT from registers
    // and in_valid (the credit loop in_valid → issue → the counters' and credits' enables was
    // the UP5K's critical path).
    reg go_r;
    wire go = go_r;
    // in_ready = need_in && go, as a register of its own taking the three flags' next values
    // (out of reset: the reset stays on the registers' reset inputs, out of the LUTs): the
    // upstream FIFO's read logic then starts at a register (on the UP5K the LUT in between
    // was part of paths from this unit's flags through the FIFO's read into its counters).
    reg in_ready_r;
    wire need_in_n, last_sf_n, credit_ok_n;
    assign in_ready = in_ready_r;
    always @(posedge clk) begin
        if (rst) begin
            in_ready_r <= 1'b1;
            go_r <= 1'b1;
        end else begin
            in_ready_r <= need_in_n && (!last_sf_n || credit_ok_n);
            go_r <= !last_sf_n || credit_ok_n;
        end
    end
    wire issue = go && (need_in ? in_valid : 1'b1);
    // issue && last_sf, written from the registers: derived from issue, yosys built it as a
    // second LUT level in the credit loop (credit_ok → issue → claim → the credits' enable
    // was the UP5K's critical path).
    wire claim = last_sf && go && (!need_in || in_valid);

    wire [XW-1:0] operand;
    generate
        if (NF > 1) begin : input_buffer
            // Not an xnorc_ram: with the operand register below in the same module, yosys sees
            // "write in_data at sf; x_r <= need_in ? in_data : ibuf[sf]" as one block RAM
            // port reading through its write (a transparent synchronous read), which it maps
            // to block RAM also when modules are synthesized one by one (-noflatten).
            (* ram_style = IBUF_STYLE *)
            reg [XW-1:0] ibuf[0:SF-1];
            always @(posedge clk) if (issue && need_in) ibuf[sf] <= in_data;
            assign operand = need_in ? in_data : ibuf[sf];
        end else begin : stream_only
            assign operand = in_data;
        end
    endgenerate

    // The weight (or index) memory, read synchronously: its output is the weight register. In
    // logic it keeps its own copies of the address register, one per slice of the word
    // (xnorc_rom, REGISTERED = 2). They take the address register's next value, with the same
    // timing, or with the second weight register (MEM_REG, dense words) the address register
    // itself, and the memory's data register stands in for the second weight register: the
    // same timing again, and the copies then hang off a register, not off the issue logic
    // (TFC's fc1 on the LFE5U-85F: issue → next address → 112 copies, two 4–5 ns routes).
    // BCAST_REG delays the read by one more address register: a block RAM's, or a logic ROM's
    // first level of copies (xnorc_rom, REGISTERED = 3).
    /* verilator lint_off WIDTH */
    localparam [0:0] WEIGHTS_IN_LOGIC = WEIGHT_STYLE == "logic";
    /* verilator lint_on WIDTH */
    localparam [0:0] LATE_COPIES = WEIGHTS_IN_LOGIC && MEM_REG == 1 && DECODE == 0;
    wire [AW-1:0] waddr_d;
    always @(posedge clk) waddr <= waddr_d;
    wire [WEIGHT_WORD-1:0] w_r;
    xnorc_rom #(
        .WIDTH(WEIGHT_WORD),
        .DEPTH(WEIGHT_DEPTH),
        .ADDR_W(AW),
        .REGISTERED((WEIGHTS_IN_LOGIC ? 2 : 1) + BCAST_REG),
        .INIT_FILE(WEIGHTS_FILE),
        .STYLE(WEIGHT_STYLE)
    ) weights (
        .clk(clk),
        .addr((WEIGHTS_IN_LOGIC && !LATE_COPIES) ? waddr_d : waddr),
        .rdata(w_r)
    );
    reg [XW-1:0] x_r;
    always @(posedge clk) x_r <= operand;

    // The address of the next op. Dense weights: one word per op, wrapping after the stored
    // rows. Codebook indices: one word per channel block, the same row of words again for each
    // kernel position, the next row after the pass.
    wire [XW-1:0] x_d;
    wire [WW-1:0] w_d;
    generate
        if (DECODE == 1) begin : decode
            localparam integer BW = (CB_BLOCKS > 1) ? $clog2(CB_BLOCKS) : 1;
            localparam integer KW = (KPOS > 1) ? $clog2(KPOS) : 1;
            localparam integer BLOCK_LAST_I = CB_BLOCKS - 1;
            localparam [BW-1:0] BLOCK_LAST = BLOCK_LAST_I[BW-1:0];
            localparam integer ROW_LAST_I = WEIGHT_DEPTH - CB_BLOCKS;
            localparam [AW-1:0] ROW_LAST = ROW_LAST_I[AW-1:0];
            localparam [AW-1:0] ROW_STEP = CB_BLOCKS[AW-1:0];
            reg [AW-1:0] row;
            reg [BW-1:0] block;
            reg [KW-1:0] kpos;
            wire [AW-1:0] next_row = (row == ROW_LAST) ? {AW{1'b0}} : row + ROW_STEP;
            assign waddr_d = rst ? {AW{1'b0}}
                : !issue ? waddr
                : last_sf ? next_row
                : (block == BLOCK_LAST) ? row
                : waddr + 1'b1;
            always @(posedge clk) begin
                if (rst) begin
                    row <= {AW{1'b0}};
                    block <= {BW{1'b0}};
                    kpos <= {KW{1'b0}};
                end else if (issue) begin
                    if (last_sf) begin
                        row <= next_row;
                        block <= {BW{1'b0}};
                        kpos <= {KW{1'b0}};
                    end else if (block == BLOCK_LAST) begin
                        block <= {BW{1'b0}};
                        kpos <= kpos + 1'b1;
                    end else begin
                        block <= block + 1'b1;
                    end
                end
            end
            // The plane of the op's kernel position, read in step with its index word; a decode
            // register stage turns each lane's index into its weight bit (a 2^TAU:1 mux).
            wire [(1<<TAU)-1:0] plane;
            xnorc_rom #(
                .WIDTH(1 << TAU),
                .DEPTH(KPOS),
                .ADDR_W(KW),
                .REGISTERED(1),
                .INIT_FILE(PLANES_FILE),
                .STYLE("logic")
            ) planes (
                .clk(clk),
                .addr(kpos),
                .rdata(plane)
            );
            reg [XW-1:0] x_c;
            reg [WW-1:0] w_c;
            genvar l;
            for (l = 0; l < WW; l = l + 1) begin : lane_bit
                always @(posedge clk) w_c[l] <= plane[w_r[l*TAU+:TAU]];
            end
            always @(posedge clk) x_c <= x_r;
            assign x_d = x_c;
            assign w_d = w_c;
        end else begin : one_word_per_op
            // Dense words and whole-kernel indices: one word per op, wrapping after the
            // stored rows.
            assign waddr_d = rst ? {AW{1'b0}}
                : !issue ? waddr
                : (waddr == WEIGHT_LAST) ? {AW{1'b0}}
                : waddr + 1'b1;
            if (DECODE == 2) begin : kernels
                // Each kernel position's plane of the constant codebook (bit j: entry j's
                // bit there; indices past the last entry are never stored): a lane's weight
                // bit is a function of its index alone, one LUT4 for TAU <= 4, registered as
                // DECODE = 1's is.
                genvar t, j;
                for (t = 0; t < KPOS; t = t + 1) begin : tap
                    wire [(1<<TAU)-1:0] plane;
                    for (j = 0; j < (1 << TAU); j = j + 1) begin : entry
                        if (j < ENTRIES) begin : kept
                            assign plane[j] = CODEBOOK[j*KPOS+t];
                        end else begin : unused
                            assign plane[j] = 1'b0;
                        end
                    end
                end
                reg [XW-1:0] x_c;
                reg [WW-1:0] w_c;
                // Lane t*KCH + s of PE p: index p*KCH + s at kernel position t (nested loops,
                // since one generate loop unrolls at most 1024 times in Verilator).
                genvar kp, ks;
                for (kp = 0; kp < PE; kp = kp + 1) begin : pe_bits
                    for (t = 0; t < KPOS; t = t + 1) begin : tap_bits
                        for (ks = 0; ks < KCH; ks = ks + 1) begin : lane_bit
                            localparam integer INDEX = kp * KCH + ks;
                            always @(posedge clk)
                                w_c[kp*SIMD+t*KCH+ks] <= tap[t].plane[w_r[INDEX*TAU+:TAU]];
                        end
                    end
                end
                always @(posedge clk) x_c <= x_r;
                assign x_d = x_c;
                assign w_d = w_c;
            end else begin : dense
                assign x_d = x_r;
                assign w_d = w_r;
            end
        end
    endgenerate

    assign need_in_n = (issue && last_sf) ? NF == 1 || nf == NF_LAST : need_in;
    assign last_sf_n = !issue ? last_sf
        : last_sf ? SF == 1
        : SF == 1 || sf == SF_NEXT_TO_LAST;
    always @(posedge clk) begin
        if (rst) begin
            need_in <= 1'b1;
            last_sf <= SF == 1;
        end else begin
            need_in <= need_in_n;
            last_sf <= last_sf_n;
        end
        if (rst) begin
            nf <= {NFW{1'b0}};
            sf <= {SFW{1'b0}};
        end else if (issue) begin
            if (last_sf) begin
                sf <= {SFW{1'b0}};
                nf <= (nf == NF_LAST) ? {NFW{1'b0}} : nf + 1'b1;
            end else begin
                sf <= sf + 1'b1;
            end
        end
    end

    // Optionally a second operand/weight register, so no lane starts at a block RAM's output
    // (an ECP5 DP16KD takes 5.6 ns from clock to data without its output register). Its
    // operand half is copied once per X_GROUP PEs: one register bit feeding the same lane of
    // every PE was the critical path of a wide unit on a large device (CNV's conv2 at PE 64 on
    // the LFE5U-85F: a 15.4 ns route to lanes spread over the die).
    localparam integer X_GROUP = 8;
    localparam integer X_COPIES = (MEM_REG == 1) ? (PE + X_GROUP - 1) / X_GROUP : 1;
    // BCAST_REG: copies per first-level copy of the operand.
    localparam integer X_MID_COPIES = 2;
    localparam integer X_MIDS = (X_COPIES + X_MID_COPIES - 1) / X_MID_COPIES;
    wire [X_COPIES*XW-1:0] x_p;
    wire [WW-1:0] w_p;
    generate
        if (MEM_REG == 1) begin : memory_output_register
            genvar c;
            // What each group of X_MID_COPIES copies takes: the operand, or with BCAST_REG
            // its own first-level copy.
            wire [X_MIDS*XW-1:0] x_m;
            if (BCAST_REG == 1) begin : x_mid
                xnorc_copies #(
                    .WIDTH(XW),
                    .COPIES(X_MIDS)
                ) copies (
                    .clk(clk),
                    .d(x_d),
                    .q(x_m)
                );
            end else begin : x_direct
                assign x_m = {X_MIDS{x_d}};
            end
            for (c = 0; c < X_MIDS; c = c + 1) begin : x_copy
                localparam integer LEFT = X_COPIES - c * X_MID_COPIES;
                localparam integer N = (LEFT < X_MID_COPIES) ? LEFT : X_MID_COPIES;
                xnorc_copies #(
                    .WIDTH(XW),
                    .COPIES(N)
                ) copies (
                    .clk(clk),
                    .d(x_m[c*XW+:XW]),
                    .q(x_p[c*X_MID_COPIES*XW+:N*XW])
                );
            end
            if (LATE_COPIES) begin : rom_register
                assign w_p = w_d;
            end else begin : weight_register
                reg [WW-1:0] w_q;
                always @(posedge clk) w_q <= w_d;
                assign w_p = w_q;
            end
        end else begin : no_memory_output_register
            assign x_p = x_d;
            assign w_p = w_d;
        end
    endgenerate

    // ---- Lanes and adder trees -----------------------------------------------------------
    wire [PE*ACC_W-1:0] partial;
    genvar p, s;
    generate
        for (p = 0; p < PE; p = p + 1) begin : pe_lanes
            // This PE's copy of the operand.
            localparam integer XC = (MEM_REG == 1) ? (p / X_GROUP) * XW : 0;
            wire [SIMD*LEAF_W-1:0] products;
            wire [SIMD*LEAF_W-1:0] leaves;
            if (MUL) begin : product_register
                reg [SIMD*LEAF_W-1:0] products_q;
                always @(posedge clk) products_q <= products;
                assign leaves = products_q;
            end else begin : direct
                assign leaves = products;
            end
            for (s = 0; s < SIMD; s = s + 1) begin : lane
                xnorc_lane #(
                    .LANE(LANE),
                    .EB(EB),
                    .IN_SIGNED(IN_SIGNED),
                    .LEAF_W(LEAF_W),
                    .TAU(TAU),
                    .ENTRIES(ENTRIES),
                    .RESPONSE_BITS(RESPONSE_BITS),
                    .WB(WB),
                    .W_BITS(LANE_W)
                ) unit (
                    .w(w_p[(p*SIMD+s)*LANE_W+:LANE_W]),
                    .x(x_p[XC+s*EB+:EB]),
                    .valid(x_p[XC+XW-1]),
                    .leaf(products[s*LEAF_W+:LEAF_W])
                );
            end
            xnorc_adder_tree #(
                .N(SIMD),
                .LEAF_W(LEAF_W),
                .SIGNED(LEAF_SIGNED),
                .OUT_W(ACC_W),
                .PIPELINE(TREE_PIPELINE)
            ) tree (
                .clk(clk),
                .leaves(leaves),
                .sum(partial[p*ACC_W+:ACC_W])
            );
        end
    endgenerate

    // ---- Control travelling with each op: valid, last and first op of a pass, its nf -----
    // Stage 0 is the operand register; stage REGS reaches the accumulator. Only thresholds look
    // at the op's nf (to pick their ROM word), one stage ahead of the compare.
    reg [REGS:0] v, last, first;
    reg [(REGS+1)*NFW-1:0] nf_at;
    // Each stage's next valid and first flags, so the accumulators' copies below can take the
    // same values as stage REGS.
    wire [REGS:0] v_d, first_d;
    assign v_d[0] = rst ? 1'b0 : issue;
    assign first_d[0] = sf == {SFW{1'b0}};
    always @(posedge clk) begin
        v[0] <= v_d[0];
        last[0] <= issue && last_sf;
        first[0] <= first_d[0];
        nf_at[0+:NFW] <= nf;
    end
    genvar r;
    generate
        for (r = 1; r <= REGS; r = r + 1) begin : control
            assign v_d[r] = rst ? 1'b0 : v[r-1];
            assign first_d[r] = first[r-1];
            always @(posedge clk) begin
                v[r] <= v_d[r];
                last[r] <= last[r-1];
                first[r] <= first_d[r];
                nf_at[r*NFW+:NFW] <= nf_at[(r-1)*NFW+:NFW];
            end
        end
    endgenerate

    // ---- Accumulate; after the last op of a pass the accumulators hold the totals ----------
    // Stage REGS's valid (the accumulators' enable) and first flag have a copy per X_GROUP
    // PEs after the first group's: one register enabling every accumulator bit was the
    // critical path of a wide unit on a large device (TFC's fc1 at PE 64 on the LFE5U-85F: a
    // 12 ns route to the enables).
    // With BCAST_REG every PE has its own copy, and the copies take a first level of copies,
    // one per X_GROUP PEs, fed a stage earlier (TFC's fc1 at PE 64 on the LFE5U-85F with the
    // broadcast tree: 7.2 and 10.0 ns routes from a copy per 8 PEs to accumulators' enables,
    // the eight PEs' accumulators spread apart).
    localparam integer ACC_GROUP = (BCAST_REG == 1) ? 1 : X_GROUP;
    localparam integer ACC_COPIES = (PE + ACC_GROUP - 1) / ACC_GROUP;
    localparam integer ACC_MIDS = (PE + X_GROUP - 1) / X_GROUP;
    reg [PE*ACC_W-1:0] acc;
    generate
        // Each first-level copy holds stage REGS - 1's valid and first flags (unread without
        // BCAST_REG, or with one PE).
        /* verilator lint_off UNUSEDSIGNAL */
        wire [ACC_MIDS-1:0] v_m, first_m;
        /* verilator lint_on UNUSEDSIGNAL */
        if (BCAST_REG == 1) begin : acc_mid
            // Copy p: {first, valid} at [2p +: 2].
            wire [2*ACC_MIDS-1:0] flags;
            xnorc_copies #(
                .WIDTH(2),
                .COPIES(ACC_MIDS)
            ) copies (
                .clk(clk),
                .d({first_d[REGS-1], v_d[REGS-1]}),
                .q(flags)
            );
            for (p = 0; p < ACC_MIDS; p = p + 1) begin : split
                assign v_m[p] = flags[2*p];
                assign first_m[p] = flags[2*p+1];
            end
        end else begin : acc_no_mid
            assign v_m = {ACC_MIDS{1'b0}};
            assign first_m = {ACC_MIDS{1'b0}};
        end
        for (p = 0; p < ACC_COPIES; p = p + 1) begin : acc_control
            wire v_q, first_q;
            if (p == 0) begin : stage
                assign v_q = v[REGS];
                assign first_q = first[REGS];
            end else begin : copy
                reg v_c, first_c;
                // The next value of stage REGS: from the stage before it, or its copy.
                wire v_next = (BCAST_REG == 1) ? !rst && v_m[p/X_GROUP] : v_d[REGS];
                wire first_next = (BCAST_REG == 1) ? first_m[p/X_GROUP] : first_d[REGS];
                // keep: yosys merges registers with the same input back into one.
                (* keep *) always @(posedge clk) begin
                    v_c <= v_next;
                    first_c <= first_next;
                end
                assign v_q = v_c;
                assign first_q = first_c;
            end
        end
        for (p = 0; p < PE; p = p + 1) begin : accumulate
            always @(posedge clk) begin
                if (acc_control[p/ACC_GROUP].v_q) begin
                    acc[p*ACC_W+:ACC_W] <= acc_control[p/ACC_GROUP].first_q
                        ? partial[p*ACC_W+:ACC_W]
                        : acc[p*ACC_W+:ACC_W] + partial[p*ACC_W+:ACC_W];
                end
            end
        end
    endgenerate

    // ---- Compare stage: the op that updated the accumulators last cycle --------------------
    reg v_cmp, last_cmp;
    always @(posedge clk) begin
        v_cmp <= rst ? 1'b0 : v[REGS];
        last_cmp <= last[REGS];
    end

    wire [OUT_W-1:0] out_value;
    generate
        if (ACCUMULATES) begin : accumulators
            assign out_value = acc;
            // Only thresholds read the op's nf.
            wire unused_nf = &{1'b0, nf_at};
        end else begin : thresholds
            // Read synchronously while the pass's last op is at the accumulator, so the word
            // arrives with the compare (and a large threshold memory can live in block RAM).
            wire [THRESHOLD_W-1:0] word;
            xnorc_rom #(
                .WIDTH(THRESHOLD_W),
                .DEPTH(NF),
                .ADDR_W(NFW),
                .REGISTERED(1),
                .INIT_FILE(THRESHOLDS_FILE),
                .STYLE(THRESHOLD_STYLE)
            ) table_rom (
                .clk(clk),
                .addr(nf_at[REGS*NFW+:NFW]),
                .rdata(word)
            );
            genvar e;
            for (e = 0; e < OUTS; e = e + 1) begin : output_element
                // Offset binary (sign bit flipped): the signed order becomes the unsigned one.
                wire [ACC_W-1:0] total = acc[(e%PE)*ACC_W+:ACC_W];
                wire [ACC_W-1:0] biased = {~total[ACC_W-1], total[ACC_W-2:0]};
                wire ge = word[OUTS*LEVELS*ACC_W+e];
                // The count of thresholds passed, 0..LEVELS, in OB bits (>= t: the compare
                // itself; <= t: not >= t + 1). One procedural loop rather than a generate
                // block of comparators: synthesis unrolls both alike, but a simulator keeps a
                // long loop a loop (Verilator unrolls up to 64 iterations; 255 generated levels
                // were megabytes of C++ to compile).
                integer k;
                reg [OB-1:0] count;
                always @(*) begin
                    count = {OB{1'b0}};
                    for (k = 0; k < LEVELS; k = k + 1)
                        if ((biased >= word[(e*LEVELS+k)*ACC_W+:ACC_W]) == ge) count = count + 1'b1;
                end
                assign out_value[e*OB+:OB] = count;
            end
        end
    endgenerate

    // The result register sits next to the compare logic; the queue behind it may be placed
    // far away, near the next stage (on an UP5K the route to it cost 5.7 ns of 20).
    reg [OUT_W-1:0] result;
    reg v_result;
    always @(posedge clk) begin
        result <= out_value;
        v_result <= rst ? 1'b0 : v_cmp && last_cmp;
    end

    // ---- Output queue and credits: a claim at a last op's issue, a return the cycle after a
    // beat leaves. The claims guarantee a slot for every write, so the queue's not_full is not
    // needed. The return goes through a register beside the queue: the read (out_ready) is
    // wanted by the queue at the unit's end and by the credits at its start, and as one LUT for
    // both it was placed between them, a long route on either side (on the UP5K the critical
    // path of most placements once the FIFOs were register slices).
    wire read = out_valid && out_ready;
    reg returned;
    always @(posedge clk) returned <= !rst && read;
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_not_full;
    /* verilator lint_on UNUSEDSIGNAL */
    xnorc_queue #(
        .WIDTH(OUT_W),
        .DEPTH(QUEUE),
        .STYLE("logic")
    ) queue (
        .clk(clk),
        .rst(rst),
        .wr(v_result),
        .din(result),
        .rd(read),
        .head(out_data),
        .not_full(unused_not_full),
        .not_empty(out_valid)
    );
    reg [CW-1:0] credits;
    assign credit_ok_n = (claim && !returned) ? credits != ONE_CREDIT
        : (returned && !claim) ? 1'b1
        : credit_ok;
    always @(posedge clk) begin
        credit_ok <= rst || credit_ok_n;
        if (rst) begin
            credits <= QUEUE_SIZE;
        end else if (claim && !returned) begin
            credits <= credits - 1'b1;
        end else if (returned && !claim) begin
            credits <= credits + 1'b1;
        end
    end
endmodule

`default_nettype wire
