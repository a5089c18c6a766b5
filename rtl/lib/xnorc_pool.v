// xnorc_pool: max-pool (or sum-pool) with window = stride = K over a map streamed pixel by
// pixel (raster order, C/ELEMS beats per pixel, channels innermost).
//
// Computation
//   Output pixel (oy, ox) channel c is the max over the K x K input pixels (oy*K + ky,
//   ox*K + kx): the OR of bits for EB = 1, the signed (IN_SIGNED) or unsigned max of
//   EB-bit integers otherwise; for a channel whose MIN_MASK bit is set, the min (the AND of
//   bits) instead — a max-pool moved after a threshold whose count falls as its input rises
//   (docs/hardware.md, "Max-pool before the threshold"). With SUM = 1 the output is instead
//   the sum of the window (the model's `sumpool`; K = H = W is the global sum), in OB-bit two's
//   complement, each EB-bit input sign- (IN_SIGNED) or zero-extended. Rows and columns past the
//   last whole window are consumed and dropped (OUT_H = floor(H / K), OUT_W = floor(W / K)).
// Memory
//   A row of partial results, OUT_W * C/ELEMS words of ELEMS*OB bits (xnorc_ram, read
//   asynchronously), placed as ROW_STYLE says.
// Interface
//   in_*, out_*: valid/ready streams of ELEMS elements of EB bits in, OB bits out; out_valid
//   and out_data are registers.
// Timing (xnorc_plan's Pool component)
//   in_ready = !out_valid || out_ready; the input beat completing a window is registered as
//   the output beat, valid in the next cycle.
// Parameters
//   ELEMS >= 1 dividing C; EB >= 1; K >= 1; H, W >= K; MIN_MASK: C bits, bit c for channel c
//   (stream position cb*ELEMS + e), 0 everywhere for a plain max-pool and for a sum; OB = EB
//   for a max, OB >= EB + 1 for a sum (the plan sizes it to the window sum's range).
`default_nettype none

module xnorc_pool #(
    parameter integer C = 1,
    parameter integer ELEMS = 1,
    parameter integer EB = 1,
    parameter integer IN_SIGNED = 0,
    parameter integer H = 2,
    parameter integer W = 2,
    parameter integer K = 2,
    parameter [C-1:0] MIN_MASK = 0,
    parameter integer SUM = 0,
    parameter integer OB = EB,
    parameter ROW_STYLE = "auto"
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [ELEMS*EB-1:0] in_data,
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [ELEMS*OB-1:0] out_data
);
    localparam integer DW = ELEMS * OB;
    localparam integer CB = C / ELEMS;
    localparam integer OUT_H = H / K;
    localparam integer OUT_W = W / K;
    localparam integer HB = (H > 1) ? $clog2(H) : 1;
    localparam integer WB = (W > 1) ? $clog2(W) : 1;
    localparam integer CBB = (CB > 1) ? $clog2(CB) : 1;
    localparam integer KB = (K > 1) ? $clog2(K) : 1;
    // ox keeps counting windows past the pooled area (up to W / K) until the row ends.
    localparam integer OXB = $clog2(W / K + 2);
    localparam integer DEPTH = OUT_W * CB;
    localparam integer AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;

    localparam integer H_LAST_I = H - 1;
    localparam [HB-1:0] H_LAST = H_LAST_I[HB-1:0];
    localparam integer W_LAST_I = W - 1;
    localparam [WB-1:0] W_LAST = W_LAST_I[WB-1:0];
    localparam integer CB_LAST_I = CB - 1;
    localparam [CBB-1:0] CB_LAST = CB_LAST_I[CBB-1:0];
    localparam integer K_LAST_I = K - 1;
    localparam [KB-1:0] K_LAST = K_LAST_I[KB-1:0];
    // Compared in one more bit than the counters so the constants fit.
    localparam integer ROWS_USED_I = OUT_H * K;
    localparam [HB:0] ROWS_USED = ROWS_USED_I[HB:0];
    localparam integer COLS_USED_I = OUT_W * K;
    localparam [WB:0] COLS_USED = COLS_USED_I[WB:0];
    localparam integer CB_MOD_I = CB % (1 << AW);
    localparam [AW-1:0] CB_WORDS = CB_MOD_I[AW-1:0];

    generate
        if (ELEMS < 1 || EB < 1 || K < 1 || C % ELEMS != 0 || H < K || W < K) begin : bad_shape
            $error("xnorc_pool: needs ELEMS dividing C, EB >= 1, K >= 1 and H, W >= K");
        end
        if ((SUM == 0 && OB != EB) || (SUM != 0 && (OB <= EB || MIN_MASK != 0))) begin : bad_sum
            $error("xnorc_pool: a max needs OB = EB; a sum needs OB > EB and no MIN_MASK");
        end
    endgenerate

    reg [HB-1:0] iy;
    reg [WB-1:0] ix;
    reg [CBB-1:0] cb;
    reg [KB-1:0] kyp, kxp;
    reg [OXB-1:0] ox;

    assign in_ready = !out_valid || out_ready;
    wire fire = in_valid && in_ready;
    wire in_bounds = {1'b0, iy} < ROWS_USED && {1'b0, ix} < COLS_USED;
    wire first = kyp == {KB{1'b0}} && kxp == {KB{1'b0}};
    wire last = kyp == K_LAST && kxp == K_LAST;

    // In AW bits: exact whenever the window is inside (ox < OUT_W), the only time it is used.
    wire [AW-1:0] ox_a, cb_a;
    generate
        if (OXB >= AW) begin : narrow_ox
            assign ox_a = ox[AW-1:0];
        end else begin : wide_ox
            assign ox_a = {{(AW - OXB) {1'b0}}, ox};
        end
        if (CBB >= AW) begin : narrow_cb
            assign cb_a = cb[AW-1:0];
        end else begin : wide_cb
            assign cb_a = {{(AW - CBB) {1'b0}}, cb};
        end
    endgenerate
    wire [AW-1:0] addr = ox_a * CB_WORDS + cb_a;

    wire [DW-1:0] stored, combined;
    xnorc_ram #(
        .WIDTH(DW),
        .DEPTH(DEPTH),
        .ADDR_W(AW),
        .REGISTERED(0),
        .STYLE(ROW_STYLE)
    ) row (
        .clk(clk),
        .we(fire && in_bounds),
        .waddr(addr),
        .wdata(combined),
        .re(1'b1),
        .raddr(addr),
        .rdata(stored)
    );

    // Elementwise combine of the stored partial result and the new beat: the sum, or the max
    // (min where the channel's MIN_MASK bit is set; element e of channel block cb is channel
    // cb*ELEMS + e); the window's first beat starts it.
    genvar e, b;
    generate
        if (SUM != 0) begin : sums
            for (e = 0; e < ELEMS; e = e + 1) begin : element
                wire [EB-1:0] v = in_data[e*EB+:EB];
                wire [OB-1:0] v_wide = {{(OB - EB) {IN_SIGNED != 0 && v[EB-1]}}, v};
                assign combined[e*OB+:OB] = first ? v_wide : stored[e*OB+:OB] + v_wide;
            end
        end else begin : maxima
            wire [DW-1:0] maxed;
            for (e = 0; e < ELEMS; e = e + 1) begin : element
                wire [EB-1:0] a = stored[e*EB+:EB];
                wire [EB-1:0] v = in_data[e*EB+:EB];
                wire [CB-1:0] min_of_block;
                for (b = 0; b < CB; b = b + 1) begin : block
                    assign min_of_block[b] = MIN_MASK[b*ELEMS+e];
                end
                wire take_min = min_of_block[cb];
                wire a_above;
                if (EB == 1) begin : bits
                    assign a_above = a & ~v;
                end else if (IN_SIGNED != 0) begin : signed_compare
                    assign a_above = $signed(a) > $signed(v);
                end else begin : unsigned_compare
                    assign a_above = a > v;
                end
                // The max keeps a when it is above v, the min when it is not (ties: equal values).
                assign maxed[e*EB+:EB] = (a_above != take_min) ? a : v;
            end
            assign combined = first ? in_data : maxed;
        end
    endgenerate
    wire completes = fire && in_bounds && last;

    always @(posedge clk) begin
        if (completes) out_data <= combined;
        if (rst) begin
            iy <= {HB{1'b0}};
            ix <= {WB{1'b0}};
            cb <= {CBB{1'b0}};
            kyp <= {KB{1'b0}};
            kxp <= {KB{1'b0}};
            ox <= {OXB{1'b0}};
            out_valid <= 1'b0;
        end else begin
            // Counters: channel block, then column (with kxp, ox), then row (with kyp).
            if (fire) begin
                if (cb == CB_LAST) begin
                    cb <= {CBB{1'b0}};
                    if (ix == W_LAST) begin
                        ix <= {WB{1'b0}};
                        kxp <= {KB{1'b0}};
                        ox <= {OXB{1'b0}};
                        if (iy == H_LAST) begin
                            iy <= {HB{1'b0}};
                            kyp <= {KB{1'b0}};
                        end else begin
                            iy <= iy + 1'b1;
                            kyp <= (kyp == K_LAST) ? {KB{1'b0}} : kyp + 1'b1;
                        end
                    end else begin
                        ix <= ix + 1'b1;
                        if (kxp == K_LAST) begin
                            kxp <= {KB{1'b0}};
                            ox <= ox + 1'b1;
                        end else begin
                            kxp <= kxp + 1'b1;
                        end
                    end
                end else begin
                    cb <= cb + 1'b1;
                end
            end
            out_valid <= completes || (out_valid && !out_ready);
        end
    end
endmodule

`default_nettype wire
