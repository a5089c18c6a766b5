// xnorc_subsample: every STRIDE-th pixel of every STRIDE-th row of a map streamed pixel by
// pixel (raster order, CB beats per pixel): the model's 1x1 `sumpool` with a stride, the
// spatial half of the CIFAR ResNet "option A" shortcut (x[:, :, ::2, ::2]).
//
// Interface
//   in_*, out_*: valid/ready streams of WIDTH bits; out_valid and out_data are registers.
// Timing (xnorc_plan's Subsample component)
//   in_ready = !out_valid || out_ready; a beat of a kept pixel is registered as the output
//   beat, valid in the next cycle; the other beats are consumed and dropped.
// Parameters
//   WIDTH >= 1; CB, H, W, STRIDE >= 1 (outputs: (H - 1) / STRIDE + 1 rows of
//   (W - 1) / STRIDE + 1 pixels).
`default_nettype none

module xnorc_subsample #(
    parameter integer WIDTH = 8,
    parameter integer CB = 1,
    parameter integer H = 2,
    parameter integer W = 2,
    parameter integer STRIDE = 2
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    output wire             in_ready,
    input  wire [WIDTH-1:0] in_data,
    output reg              out_valid,
    input  wire             out_ready,
    output reg  [WIDTH-1:0] out_data
);
    localparam integer CBB = (CB > 1) ? $clog2(CB) : 1;
    localparam integer HB = (H > 1) ? $clog2(H) : 1;
    localparam integer WB = (W > 1) ? $clog2(W) : 1;
    localparam integer SB = (STRIDE > 1) ? $clog2(STRIDE) : 1;
    localparam integer CB_LAST_I = CB - 1;
    localparam integer H_LAST_I = H - 1;
    localparam integer W_LAST_I = W - 1;
    localparam integer S_LAST_I = STRIDE - 1;
    localparam [CBB-1:0] CB_LAST = CB_LAST_I[CBB-1:0];
    localparam [HB-1:0] H_LAST = H_LAST_I[HB-1:0];
    localparam [WB-1:0] W_LAST = W_LAST_I[WB-1:0];
    localparam [SB-1:0] S_LAST = S_LAST_I[SB-1:0];

    generate
        if (WIDTH < 1 || CB < 1 || H < 1 || W < 1 || STRIDE < 1) begin : bad_shape
            $error("xnorc_subsample: WIDTH, CB, H, W and STRIDE must be at least 1");
        end
    endgenerate

    // Position of the next input beat, and the row and column modulo STRIDE.
    reg [CBB-1:0] cb;
    reg [WB-1:0] ix;
    reg [HB-1:0] iy;
    reg [SB-1:0] sx, sy;
    assign in_ready = !out_valid || out_ready;
    wire fire = in_valid && in_ready;
    wire keeps = sx == {SB{1'b0}} && sy == {SB{1'b0}};

    always @(posedge clk) begin
        if (fire && keeps) out_data <= in_data;
        if (rst) begin
            out_valid <= 1'b0;
            cb <= {CBB{1'b0}};
            ix <= {WB{1'b0}};
            iy <= {HB{1'b0}};
            sx <= {SB{1'b0}};
            sy <= {SB{1'b0}};
        end else begin
            if (fire) out_valid <= keeps;
            else if (out_ready) out_valid <= 1'b0;
            if (fire) begin
                if (cb != CB_LAST) begin
                    cb <= cb + 1'b1;
                end else begin
                    cb <= {CBB{1'b0}};
                    if (ix != W_LAST) begin
                        ix <= ix + 1'b1;
                        sx <= (sx == S_LAST) ? {SB{1'b0}} : sx + 1'b1;
                    end else begin
                        ix <= {WB{1'b0}};
                        sx <= {SB{1'b0}};
                        if (iy != H_LAST) begin
                            iy <= iy + 1'b1;
                            sy <= (sy == S_LAST) ? {SB{1'b0}} : sy + 1'b1;
                        end else begin
                            iy <= {HB{1'b0}};
                            sy <= {SB{1'b0}};
                        end
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire
