// xnorc_swg: the sliding-window generator in front of a convolution's MVU.
//
// Computation
//   The input map (H x W pixels, CB beats of DW bits per pixel, raster order) is written into
//   a line buffer of ROWS input rows; for each output pixel (oy, ox) of the OUT_H x OUT_W
//   output the window's taps are read, input pixel (oy*STRIDE + ky - PAD_TOP,
//   ox*STRIDE + kx - PAD_LEFT) for ky < KH, kx < KW, every channel block cb < CB. Order: (ky,
//   kx, cb) with cb innermost, or with CB_OUTER = 1 (before a codebook responses stage)
//   (cb, ky, kx) with kx innermost. A tap outside the map is padding: the stored zero word
//   (integer data; -1 padding is stored as the zero word of its offset encoding), or with
//   MASKED = 1 a beat whose valid flag (above the data) is 0.
// Memory
//   The line buffer: ROWS * W * CB words of DW bits (xnorc_ram, read synchronously), row slot
//   = row mod ROWS (ROWS a power of two >= KH + STRIDE, so the slot is a bit slice).
// Interface
//   in_*   valid/ready stream of DW-bit beats.
//   out_*  valid/ready stream of DW (+1 with MASKED) bit beats.
// Timing (xnorc_plan's Swg component: swg_write_ok, swg_available)
//   The write side takes input row r only while r < (first row the current output row
//   needs) + ROWS, runs at most one frame ahead of the read side and may fall one frame
//   behind (d counts frames ahead + 1). The read side emits a window tap per cycle that
//   out_ready allows once the window's last input pixel (raster order) has been written; the
//   tap is registered (one cycle from read to out_valid).
// Parameters
//   H, W, KH, KW, STRIDE, OUT_H, OUT_W, CB, DW >= 1; ROWS a power of two >= KH + STRIDE;
//   0 <= PAD_TOP < KH, 0 <= PAD_LEFT < KW; MASKED, CB_OUTER 0/1; LINES_STYLE: ram_style.
`default_nettype none

module xnorc_swg #(
    parameter integer H = 1,
    parameter integer W = 1,
    parameter integer CB = 1,
    parameter integer DW = 1,
    parameter integer KH = 1,
    parameter integer KW = 1,
    parameter integer STRIDE = 1,
    parameter integer PAD_TOP = 0,
    parameter integer PAD_LEFT = 0,
    parameter integer OUT_H = 1,
    parameter integer OUT_W = 1,
    parameter integer ROWS = 2,
    parameter integer MASKED = 0,
    parameter integer CB_OUTER = 0,
    parameter LINES_STYLE = "auto"
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire [       DW-1:0] in_data,
    output wire                 out_valid,
    input  wire                 out_ready,
    output wire [DW+MASKED-1:0] out_data
);
    function integer bits_for(input integer n);  // bits to count 0..n-1, at least 1
        bits_for = (n > 1) ? $clog2(n) : 1;
    endfunction

    localparam integer SB = bits_for(ROWS);
    localparam integer DEPTH = ROWS * W * CB;
    localparam integer AW = bits_for(DEPTH);
    // Row/column arithmetic: enough bits for every sum below.
    localparam integer RW = $clog2(2 * H + 2 * W + ROWS + (OUT_H + OUT_W) * STRIDE + KH + KW + 8) + 1;
    localparam integer HB = bits_for(H);
    localparam integer WB = bits_for(W);
    localparam integer CBB = bits_for(CB);
    localparam integer KHB = bits_for(KH);
    localparam integer KWB = bits_for(KW);
    localparam integer OHB = bits_for(OUT_H);
    localparam integer OWB = bits_for(OUT_W);

    // Constants at the widths they are used in (integer parameters are 32 bits).
    /* verilator lint_off UNUSEDSIGNAL */
    function [RW-1:0] at_rw(input integer v);
        at_rw = v[RW-1:0];
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */
    localparam [RW-1:0] R_H = at_rw(H), R_ROWS = at_rw(ROWS), R_STRIDE = at_rw(STRIDE);
    localparam [RW-1:0] R_PAD_TOP = at_rw(PAD_TOP), R_PAD_LEFT = at_rw(PAD_LEFT);
    localparam [RW-1:0] R_KH_LAST = at_rw(KH - 1), R_KW_LAST = at_rw(KW - 1);
    localparam [RW-1:0] R_H_LAST = at_rw(H - 1), R_W_LAST = at_rw(W - 1);
    localparam [RW-1:0] R_TOP_END = at_rw(PAD_TOP + H), R_LEFT_END = at_rw(PAD_LEFT + W);
    localparam integer H_LAST_I = H - 1, W_LAST_I = W - 1, CB_LAST_I = CB - 1;
    localparam integer KH_LAST_I = KH - 1, KW_LAST_I = KW - 1;
    localparam integer OH_LAST_I = OUT_H - 1, OW_LAST_I = OUT_W - 1;
    localparam [HB-1:0] H_LAST = H_LAST_I[HB-1:0];
    localparam [WB-1:0] W_LAST = W_LAST_I[WB-1:0];
    localparam [CBB-1:0] CB_LAST = CB_LAST_I[CBB-1:0];
    localparam [KHB-1:0] KH_LAST = KH_LAST_I[KHB-1:0];
    localparam [KWB-1:0] KW_LAST = KW_LAST_I[KWB-1:0];
    localparam [OHB-1:0] OH_LAST = OH_LAST_I[OHB-1:0];
    localparam [OWB-1:0] OW_LAST = OW_LAST_I[OWB-1:0];
    // Narrow quantities are computed modulo their width: exact because the true values fit
    // (row slot mod ROWS, column < W, address < DEPTH).
    localparam integer PAD_TOP_MOD_I = PAD_TOP % (1 << SB);
    localparam [SB-1:0] PAD_TOP_MOD = PAD_TOP_MOD_I[SB-1:0];
    localparam integer PAD_LEFT_MOD_I = PAD_LEFT % (1 << WB);
    localparam [WB-1:0] PAD_LEFT_MOD = PAD_LEFT_MOD_I[WB-1:0];
    localparam integer H_MOD_I = H % ROWS;
    localparam [SB-1:0] H_MOD = H_MOD_I[SB-1:0];
    localparam integer SLOT_WORDS_I = (W * CB) % (1 << AW);
    localparam [AW-1:0] SLOT_WORDS = SLOT_WORDS_I[AW-1:0];
    localparam integer CB_WORDS_I = CB % (1 << AW);
    localparam [AW-1:0] CB_WORDS = CB_WORDS_I[AW-1:0];

    generate
        if (H < 1 || W < 1 || CB < 1 || DW < 1 || KH < 1 || KW < 1 || STRIDE < 1 ||
            OUT_H < 1 || OUT_W < 1) begin : bad_shape
            $error("xnorc_swg: every size must be at least 1");
        end
        if ((ROWS & (ROWS - 1)) != 0 || ROWS < KH + STRIDE) begin : bad_rows
            $error("xnorc_swg: ROWS must be a power of two of at least KH + STRIDE");
        end
        if (PAD_TOP < 0 || PAD_TOP >= KH || PAD_LEFT < 0 || PAD_LEFT >= KW) begin : bad_padding
            $error("xnorc_swg: padding must be smaller than the kernel");
        end
        if (MASKED != 0 && MASKED != 1 || CB_OUTER != 0 && CB_OUTER != 1) begin : bad_flag
            $error("xnorc_swg: MASKED and CB_OUTER must be 0 or 1");
        end
    endgenerate

    // Write side: input pixel (wy, wx), channel block wcb.
    reg [HB-1:0] wy;
    reg [WB-1:0] wx;
    reg [CBB-1:0] wcb;
    // Read side: output pixel (oy, ox) with oys = oy*STRIDE, oxs = ox*STRIDE, tap (ky, kx, rcb).
    reg [OHB-1:0] oy;
    reg [OWB-1:0] ox;
    reg [RW-1:0] oys, oxs;
    reg [KHB-1:0] ky;
    reg [KWB-1:0] kx;
    reg [CBB-1:0] rcb;
    // Frames the write side is ahead, plus one: 2 one ahead, 1 the same frame, 0 one behind.
    reg [1:0] d;
    // Slot of input row 0 of the frame being written / read.
    reg [SB-1:0] wbase, rbase;

    // ---- Write side (swg_write_ok) ----
    wire [RW-1:0] first_needed;
    generate
        if (PAD_TOP == 0) begin : no_top_padding
            assign first_needed = oys;
        end else begin : top_padding
            assign first_needed = (oys >= R_PAD_TOP) ? oys - R_PAD_TOP : {RW{1'b0}};
        end
    endgenerate
    wire [RW-1:0] wy_r = {{(RW - HB) {1'b0}}, wy};
    wire [RW-1:0] wx_r = {{(RW - WB) {1'b0}}, wx};
    wire [RW-1:0] wrow = wy_r + ((d == 2'd2) ? R_H : {RW{1'b0}});
    wire last_write = wy == H_LAST && wx == W_LAST && wcb == CB_LAST;
    assign in_ready = (d == 2'd0 || wrow < first_needed + R_ROWS) && !(d == 2'd2 && last_write);
    wire fire_in = in_valid && in_ready;

    // ---- Read side (swg_available): the window's last input pixel has been written ----
    wire [RW-1:0] row_end = oys + R_KH_LAST - R_PAD_TOP;
    wire [RW-1:0] col_end = oxs + R_KW_LAST - R_PAD_LEFT;
    wire [RW-1:0] row_need = (row_end > R_H_LAST) ? R_H_LAST : row_end;
    wire [RW-1:0] col_need = (col_end > R_W_LAST) ? R_W_LAST : col_end;
    wire avail = d == 2'd2 || (d == 2'd1 && (wy_r > row_need || (wy_r == row_need && wx_r > col_need)));
    reg valid_r;
    assign out_valid = valid_r;
    wire ce = !valid_r || out_ready;
    wire step = ce && avail;

    // The tap being read; lower bounds only where there is padding (unsigned is never < 0).
    wire [RW-1:0] ya = oys + {{(RW - KHB) {1'b0}}, ky};
    wire [RW-1:0] xa = oxs + {{(RW - KWB) {1'b0}}, kx};
    wire in_bounds = ya < R_TOP_END && xa < R_LEFT_END
                     && (PAD_TOP == 0 || ya >= R_PAD_TOP) && (PAD_LEFT == 0 || xa >= R_PAD_LEFT);
    wire [SB-1:0] rslot = rbase + ya[SB-1:0] - PAD_TOP_MOD;
    wire [WB-1:0] ix = xa[WB-1:0] - PAD_LEFT_MOD;

    // v times the constant k as shifts and adds, one per set bit of k: written as `*`, a
    // constant that is not a power of two takes a hard multiplier on ECP5 (yosys maps every
    // product of operands of 2 bits or more to a MULT18X18D), two per window generator and
    // constant here (one per address), for operands of a few bits.
    function [AW-1:0] times(input [AW-1:0] v, input [AW-1:0] k);
        integer i;
        begin
            times = {AW{1'b0}};
            for (i = 0; i < AW; i = i + 1) begin
                if (k[i]) times = times + (v << i);
            end
        end
    endfunction

    // Line buffer address of (slot, column, channel block).
    function [AW-1:0] address(input [SB-1:0] slot, input [WB-1:0] x, input [CBB-1:0] c);
        address = times({{(AW - SB) {1'b0}}, slot}, SLOT_WORDS)
                + times({{(AW - WB) {1'b0}}, x}, CB_WORDS) + {{(AW - CBB) {1'b0}}, c};
    endfunction
    wire [AW-1:0] raddr = in_bounds ? address(rslot, ix, rcb) : {AW{1'b0}};
    wire [SB-1:0] wy_slot;
    generate
        if (HB >= SB) begin : slot_of_row
            assign wy_slot = wy[SB-1:0];
        end else begin : short_row
            assign wy_slot = {{(SB - HB) {1'b0}}, wy};
        end
    endgenerate
    wire [AW-1:0] waddr = address(wbase + wy_slot, wx, wcb);

    wire [DW-1:0] rdata;
    xnorc_ram #(
        .WIDTH(DW),
        .DEPTH(DEPTH),
        .ADDR_W(AW),
        .REGISTERED(1),
        .STYLE(LINES_STYLE)
    ) lines (
        .clk(clk),
        .we(fire_in),
        .waddr(waddr),
        .wdata(in_data),
        .re(step),
        .raddr(raddr),
        .rdata(rdata)
    );
    reg pad_r;
    always @(posedge clk) if (step) pad_r <= !in_bounds;
    wire [DW-1:0] data = pad_r ? {DW{1'b0}} : rdata;
    generate
        if (MASKED == 1) begin : valid_flag
            assign out_data = {!pad_r, data};
        end else begin : plain
            assign out_data = data;
        end
    endgenerate

    // ---- Counters ----
    wire tap_last = rcb == CB_LAST && kx == KW_LAST && ky == KH_LAST;
    wire read_frame_end = step && tap_last && ox == OW_LAST && oy == OH_LAST;
    wire write_frame_end = fire_in && last_write;
    always @(posedge clk) begin
        if (rst) begin
            d <= 2'd1;
            valid_r <= 1'b0;
            {wy, wx, wcb} <= {(HB + WB + CBB) {1'b0}};
            {oy, ox, oys, oxs, ky, kx, rcb} <= {(OHB + OWB + 2 * RW + KHB + KWB + CBB) {1'b0}};
            wbase <= {SB{1'b0}};
            rbase <= {SB{1'b0}};
        end else begin
            if (ce) valid_r <= avail;
            if (step) begin
                // The tap counters, innermost first: cb, kx, ky (or kx, ky, cb with CB_OUTER).
                if (CB_OUTER == 0) begin
                    if (rcb != CB_LAST) rcb <= rcb + 1'b1;
                    else begin
                        rcb <= {CBB{1'b0}};
                        if (kx != KW_LAST) kx <= kx + 1'b1;
                        else begin
                            kx <= {KWB{1'b0}};
                            ky <= (ky == KH_LAST) ? {KHB{1'b0}} : ky + 1'b1;
                        end
                    end
                end else begin
                    if (kx != KW_LAST) kx <= kx + 1'b1;
                    else begin
                        kx <= {KWB{1'b0}};
                        if (ky != KH_LAST) ky <= ky + 1'b1;
                        else begin
                            ky <= {KHB{1'b0}};
                            rcb <= (rcb == CB_LAST) ? {CBB{1'b0}} : rcb + 1'b1;
                        end
                    end
                end
                // The window counters after the window's last tap.
                if (tap_last) begin
                    if (ox != OW_LAST) begin
                        ox <= ox + 1'b1;
                        oxs <= oxs + R_STRIDE;
                    end else begin
                        ox <= {OWB{1'b0}};
                        oxs <= {RW{1'b0}};
                        if (oy != OH_LAST) begin
                            oy <= oy + 1'b1;
                            oys <= oys + R_STRIDE;
                        end else begin
                            oy <= {OHB{1'b0}};
                            oys <= {RW{1'b0}};
                            rbase <= rbase + H_MOD;
                        end
                    end
                end
            end
            if (fire_in) begin
                if (wcb != CB_LAST) wcb <= wcb + 1'b1;
                else begin
                    wcb <= {CBB{1'b0}};
                    if (wx != W_LAST) wx <= wx + 1'b1;
                    else begin
                        wx <= {WB{1'b0}};
                        if (wy != H_LAST) wy <= wy + 1'b1;
                        else begin
                            wy <= {HB{1'b0}};
                            wbase <= wbase + H_MOD;
                        end
                    end
                end
            end
            // d moves up when the write side finishes a frame, down when the read side does.
            if (write_frame_end && !read_frame_end) d <= d + 2'd1;
            if (read_frame_end && !write_frame_end) d <= d - 2'd1;
        end
    end
endmodule

`default_nettype wire
