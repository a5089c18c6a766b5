// xnorc_slice: a register slice at full rate (a skid buffer): both sides of the stream start
// at flip-flops, so a consumer placed far from its producer sees the route end at this slice,
// not at its own handshake logic.
//
// Interface
//   in_*   valid/ready stream; in_ready is a register (the skid register empty).
//   out_*  valid/ready stream; out_valid and out_data are registers (the main register).
// Timing (xnorc_plan's cycle model, Component::Slice)
//   A beat taken in cycle t is the output from t + 1. Two entries: the main register, which
//   the output shows, and the skid register, which takes a beat arriving while the main one is
//   held (in_ready was already promised for that cycle). With out_ready high every cycle the
//   skid stays empty and a beat passes every cycle.
//   in_valid reaches only the two valid flags' next values (one LUT each): no enable and no
//   data multiplexer waits for it. The data registers' enables are functions of this slice's
//   registers and out_ready.
// Parameters
//   WIDTH >= 1.
`default_nettype none

module xnorc_slice #(
    parameter integer WIDTH = 1
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
    generate
        if (WIDTH < 1) begin : bad_shape
            $error("xnorc_slice: WIDTH must be at least 1");
        end
    endgenerate

    // The skid register's flag is kept as "empty": it is in_ready itself, a flip-flop's output
    // with no inverter (a LUT on iCE40) between it and the producer.
    reg skid_empty;
    reg [WIDTH-1:0] skid_data;
    assign in_ready = skid_empty;

    // The main register moves when it is empty or its beat leaves; it then takes the skid's
    // beat if there is one, else the input (whose valid flag says whether that was a beat).
    wire main_moves = !out_valid || out_ready;
    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            skid_empty <= 1'b1;
        end else begin
            out_valid <= !skid_empty || in_valid || (out_valid && !out_ready);
            skid_empty <= main_moves || (skid_empty && !in_valid);
        end
    end
    always @(posedge clk) begin
        if (main_moves) out_data <= skid_empty ? in_data : skid_data;
        // An empty skid register follows the input: when a beat arrives while the main
        // register is held, it is already there.
        if (skid_empty) skid_data <= in_data;
    end
endmodule

`default_nettype wire
