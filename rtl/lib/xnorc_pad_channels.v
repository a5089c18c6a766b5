// xnorc_pad_channels: zero channels around each pixel's own (the model's `pad_channels`, the
// channel half of the CIFAR ResNet "option A" shortcut), in whole beats: per pixel BEFORE zero
// beats, the pixel's OWN input beats, AFTER zero beats.
//
// Interface
//   in_*, out_*: valid/ready streams of WIDTH bits; out_valid and out_data are registers.
// Timing (xnorc_plan's PadChannels component)
//   With ce = !out_valid || out_ready: at a padding position a zero beat is registered as the
//   output whenever ce (no input is taken); at an own position the input beat is, when it
//   comes (in_ready = ce there).
// Parameters
//   WIDTH >= 1; OWN >= 1; BEFORE, AFTER >= 0.
`default_nettype none

module xnorc_pad_channels #(
    parameter integer WIDTH = 8,
    parameter integer BEFORE = 1,
    parameter integer OWN = 1,
    parameter integer AFTER = 1
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
    localparam integer TOTAL = BEFORE + OWN + AFTER;
    localparam integer PB = (TOTAL > 1) ? $clog2(TOTAL) : 1;
    localparam integer LAST_I = TOTAL - 1;
    localparam integer FIRST_OWN_I = BEFORE;
    localparam integer END_OWN_I = BEFORE + OWN;
    localparam [PB-1:0] LAST = LAST_I[PB-1:0];
    localparam [PB:0] FIRST_OWN = FIRST_OWN_I[PB:0];
    localparam [PB:0] END_OWN = END_OWN_I[PB:0];

    generate
        if (WIDTH < 1 || OWN < 1 || BEFORE < 0 || AFTER < 0) begin : bad_shape
            $error("xnorc_pad_channels: needs WIDTH, OWN >= 1 and BEFORE, AFTER >= 0");
        end
    endgenerate

    reg [PB-1:0] pos;
    wire ce = !out_valid || out_ready;
    wire own = {1'b0, pos} >= FIRST_OWN && {1'b0, pos} < END_OWN;
    assign in_ready = ce && own;
    wire loads = own ? (in_valid && ce) : ce;

    always @(posedge clk) begin
        if (loads) out_data <= own ? in_data : {WIDTH{1'b0}};
        if (rst) begin
            out_valid <= 1'b0;
            pos <= {PB{1'b0}};
        end else begin
            if (loads) begin
                out_valid <= 1'b1;
                pos <= (pos == LAST) ? {PB{1'b0}} : pos + 1'b1;
            end else if (out_ready) begin
                out_valid <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
