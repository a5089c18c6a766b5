// xnorc_dwc_up: a width converter collecting RATIO input beats into one output beat, the first
// beat in the low bits.
//
// Interface
//   in_*   valid/ready stream of WIDTH-bit beats.
//   out_*  valid/ready stream of RATIO * WIDTH-bit beats; out_valid and out_data are registers.
// Timing (xnorc_plan's DwcUp component)
//   in_ready = count != RATIO - 1 || !out_valid, kept as a register of its own: a beat that
//   does not complete a group goes to the hold register and is always taken; the completing
//   beat waits until the output register is empty. A downstream handshake never reaches the
//   upstream through this converter (on the UP5K, out_ready passing through to the MVU's
//   output queue was one of the paths that held TFC below 60 MHz, and so was the compare of
//   the count that replaced it). The beat completing a group is registered with the RATIO - 1
//   held before it, so the output is valid in the cycle after the group's last input beat. At full rate (an input beat every cycle, the output taken at
//   once) no cycle is lost: the output leaves the cycle after it completes, and the next
//   completing beat comes RATIO - 1 >= 1 cycles later.
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
    localparam integer BEFORE_LAST_I = RATIO - 2;
    localparam [CW-1:0] BEFORE_LAST = BEFORE_LAST_I[CW-1:0];
    localparam integer HOLD_W = WIDTH * (RATIO - 1);

    generate
        if (WIDTH < 1 || RATIO < 2) begin : bad_shape
            $error("xnorc_dwc_up: WIDTH must be at least 1 and RATIO at least 2");
        end
    endgenerate

    reg [CW-1:0] count;
    reg [HOLD_W-1:0] hold;
    // count == RATIO - 1, and in_ready, each a register kept in step with count and out_valid.
    reg at_last, ready_q;
    wire fire = in_valid && in_ready;
    wire completes = fire && at_last;
    assign in_ready = ready_q;
    wire at_last_d = fire ? !completes && count == BEFORE_LAST : at_last;
    wire out_valid_d = completes || (out_valid && !out_ready);

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
            at_last <= 1'b0;
            ready_q <= 1'b1;
            out_valid <= 1'b0;
        end else begin
            if (fire) count <= completes ? {CW{1'b0}} : count + 1'b1;
            at_last <= at_last_d;
            ready_q <= !at_last_d || !out_valid_d;
            out_valid <= out_valid_d;
        end
    end
endmodule

`default_nettype wire
