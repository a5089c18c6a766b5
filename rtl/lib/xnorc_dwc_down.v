// xnorc_dwc_down: a width converter splitting each input beat into RATIO output beats, low
// bits first.
//
// Interface
//   in_*   valid/ready stream of RATIO * WIDTH-bit beats.
//   out_*  valid/ready stream of WIDTH-bit beats.
// Timing (xnorc_plan's DwcDown component)
//   A taken beat is held in a register; its pieces leave one per cycle that out_ready allows,
//   from the next cycle on. in_ready = !holding || (out_ready && last piece), so the next beat
//   can follow the last piece without a gap.
// Parameters
//   WIDTH >= 1, RATIO >= 2.
`default_nettype none

module xnorc_dwc_down #(
    parameter integer WIDTH = 1,
    parameter integer RATIO = 2
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   in_valid,
    output wire                   in_ready,
    input  wire [RATIO*WIDTH-1:0] in_data,
    output wire                   out_valid,
    input  wire                   out_ready,
    output wire [      WIDTH-1:0] out_data
);
    localparam integer TOTAL = RATIO * WIDTH;
    localparam integer CW = $clog2(RATIO);
    localparam integer LAST_I = RATIO - 1;
    localparam [CW-1:0] LAST = LAST_I[CW-1:0];

    generate
        if (WIDTH < 1 || RATIO < 2) begin : bad_shape
            $error("xnorc_dwc_down: WIDTH must be at least 1 and RATIO at least 2");
        end
    endgenerate

    reg [TOTAL-1:0] buffer;
    reg holding;
    reg [CW-1:0] index;
    wire last_piece = index == LAST;
    assign out_valid = holding;
    assign out_data = buffer[0+:WIDTH];
    assign in_ready = !holding || (out_ready && last_piece);
    wire fire_in = in_valid && in_ready;
    wire fire_out = out_valid && out_ready;

    always @(posedge clk) begin
        if (rst) begin
            holding <= 1'b0;
            index <= {CW{1'b0}};
        end else if (fire_out && !last_piece) begin
            index <= index + 1'b1;
            buffer <= {{WIDTH{1'b0}}, buffer[WIDTH+:TOTAL-WIDTH]};
        end else begin
            if (fire_in) begin
                buffer <= in_data;
                index <= {CW{1'b0}};
            end
            // A finished last piece without a new beat empties the converter.
            if (fire_in || (out_ready && last_piece)) holding <= fire_in;
        end
    end
endmodule

`default_nettype wire
