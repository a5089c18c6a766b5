// xnorc_dwc_up: a width converter collecting RATIO input beats into one output beat, the first
// beat in the low bits.
//
// Interface
//   in_*   valid/ready stream of WIDTH-bit beats.
//   out_*  valid/ready stream of RATIO * WIDTH-bit beats; out_valid and out_data are registers.
// Timing (xnorc_plan's DwcUp component)
//   in_ready = !out_valid || out_ready: an input beat is taken while the output register is
//   free or leaving. The beat completing a group is registered with the RATIO - 1 held before
//   it, so the output is valid in the cycle after the group's last input beat.
// Parameters
//   WIDTH >= 1, RATIO >= 2.
`default_nettype none

module xnorc_dwc_up #(
    parameter integer WIDTH = 1,
    parameter integer RATIO = 2
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   in_valid,
    output wire                   in_ready,
    input  wire [      WIDTH-1:0] in_data,
    output reg                    out_valid,
    input  wire                   out_ready,
    output reg  [RATIO*WIDTH-1:0] out_data
);
    localparam integer CW = $clog2(RATIO);
    localparam integer LAST_I = RATIO - 1;
    localparam [CW-1:0] LAST = LAST_I[CW-1:0];
    localparam integer HOLD_W = WIDTH * (RATIO - 1);

    generate
        if (WIDTH < 1 || RATIO < 2) begin : bad_shape
            $error("xnorc_dwc_up: WIDTH must be at least 1 and RATIO at least 2");
        end
    endgenerate

    reg [CW-1:0] count;
    reg [HOLD_W-1:0] hold;
    wire fire = in_valid && in_ready;
    wire completes = fire && count == LAST;
    assign in_ready = !out_valid || out_ready;

    // Shift in from the top: after RATIO - 1 beats the first one sits in the low bits.
    wire [HOLD_W-1:0] shifted;
    generate
        if (RATIO == 2) begin : two
            assign shifted = in_data;
        end else begin : more
            assign shifted = {in_data, hold[WIDTH+:HOLD_W-WIDTH]};
        end
    endgenerate

    always @(posedge clk) begin
        if (completes) out_data <= {in_data, hold};
        if (fire && !completes) hold <= shifted;
        if (rst) begin
            count <= {CW{1'b0}};
            out_valid <= 1'b0;
        end else begin
            if (fire) count <= completes ? {CW{1'b0}} : count + 1'b1;
            out_valid <= completes || (out_valid && !out_ready);
        end
    end
endmodule

`default_nettype wire
