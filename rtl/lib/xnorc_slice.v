// xnorc_slice: a two-entry register slice, the two-entry FIFO in registers: both handshake
// flags are flip-flops, and the input's valid reaches nothing but the slice's own flags, so a
// consumer placed far from its producer sees the route end at a few flag LUTs, not at the
// enables of its data registers.
//
// Interface
//   in_*   valid/ready stream; in_ready is a register (fewer than two beats held).
//   out_*  valid/ready stream; out_valid is a register (a beat held); out_data is the head's
//          slot, one 2:1 multiplexer after the data registers, selected by a register.
// Timing (xnorc_plan's cycle model: a FIFO of depth 2)
//   A beat taken in cycle t is the output from t + 1 if it is the oldest; in_ready is low
//   while two beats are held, also in a cycle in which one leaves, exactly as xnorc_queue's.
//   Each slot's data register follows in_data while the slot is empty (its enable is the
//   slot's own flag), so a beat is already there when the flags take it; no enable and no
//   data multiplexer waits for in_valid, and in_data goes straight into the data registers
//   (a producer's own output multiplexer, such as a deep queue's, gets no LUT after it).
// Parameters
//   WIDTH >= 1.
`default_nettype none

module xnorc_slice #(
    parameter integer WIDTH = 1
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    output reg              in_ready,
    input  wire [WIDTH-1:0] in_data,
    output reg              out_valid,
    input  wire             out_ready,
    output wire [WIDTH-1:0] out_data
);
    generate
        if (WIDTH < 1) begin : bad_shape
            $error("xnorc_slice: WIDTH must be at least 1");
        end
    endgenerate

    // Slot s holds a beat (held[s]); the next beat goes to slot wsel, the head is slot rsel.
    // held follows from the flags and the pointers (two held: !in_ready; one: slot rsel), but
    // is kept as registers of its own so that each slot's data enable is a flip-flop, not a
    // LUT of in_ready, out_valid and rsel in front of WIDTH enables.
    reg [1:0] held;
    reg wsel, rsel;
    reg [WIDTH-1:0] slot0, slot1;
    assign out_data = rsel ? slot1 : slot0;

    wire take = in_valid && in_ready;
    wire give = out_valid && out_ready;
    wire both = held[0] && held[1];
    always @(posedge clk) begin
        if (!held[0]) slot0 <= in_data;
        if (!held[1]) slot1 <= in_data;
        if (rst) begin
            held <= 2'b00;
            wsel <= 1'b0;
            rsel <= 1'b0;
            in_ready <= 1'b1;
            out_valid <= 1'b0;
        end else begin
            held[0] <= (held[0] && !(give && !rsel)) || (take && !wsel);
            held[1] <= (held[1] && !(give && rsel)) || (take && wsel);
            if (take) wsel <= !wsel;
            if (give) rsel <= !rsel;
            // Two beats next cycle: two now and none leaving, or one now, one arriving and
            // none leaving (a beat arrives only while fewer than two are held).
            in_ready <= give || !(both || (take && out_valid));
            out_valid <= take || both || (out_valid && !give);
        end
    end
endmodule

`default_nettype wire
