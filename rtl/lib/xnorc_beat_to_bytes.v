// xnorc_beat_to_bytes: the board's response gearbox: one core output beat into bytes for the
// host link, LSB first, the last byte padded with zeros (docs/uart-protocol.md).
//
// Interface
//   in_*   valid/ready stream of WIDTH-bit beats.   out_*  valid/ready stream of bytes.
// Timing
//   One bit per cycle; in_ready, out_valid and every enable come from registered flags, as in
//   xnorc_bytes_to_beats.
// Parameters
//   WIDTH >= 1.
`default_nettype none

module xnorc_beat_to_bytes #(
    parameter integer WIDTH = 1
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    output wire             in_ready,
    input  wire [WIDTH-1:0] in_data,
    output wire             out_valid,
    input  wire             out_ready,
    output wire [      7:0] out_data
);
    localparam integer PADDED = (WIDTH + 7) / 8 * 8;
    localparam integer CW = $clog2(PADDED + 1);
    localparam [CW-1:0] ALL_BITS = PADDED[CW-1:0];
    localparam [CW-1:0] ONE_BIT = 1;
    localparam [CW-1:0] TWO_BITS = 2;

    generate
        if (WIDTH < 1) begin : bad_shape
            $error("xnorc_beat_to_bytes: WIDTH must be at least 1");
        end
    endgenerate

    reg [PADDED-1:0] buffer;
    reg [CW-1:0] bits_left;
    reg busy;
    reg [7:0] held_byte;
    reg [2:0] byte_bits;
    reg byte_full;
    // shift = busy && !byte_full, as a register of its own taking their next values: it
    // enables the whole buffer (on the UP5K, byte_full → shift → the buffer's and busy's
    // enables was a critical path).
    reg shift;
    // bits_left == 1 and byte_bits == 7 as registers, kept in step with the counters, so the
    // flags' next values are one LUT each (the counters' compares in front of busy_n and
    // byte_full_n, then shift, were the UP5K's critical path on some placements).
    reg at_last_bit, at_last_of_byte;
    assign in_ready = !busy;
    assign out_valid = byte_full;
    assign out_data = held_byte;
    wire load = in_valid && !busy;
    wire sent = byte_full && out_ready;
    // The flags' next values out of reset (the reset stays on the registers' reset inputs).
    wire busy_n = load ? 1'b1 : shift ? !at_last_bit : busy;
    // sent needs byte_full, shift needs it clear: they never coincide.
    wire byte_full_n = shift ? at_last_of_byte : sent ? 1'b0 : byte_full;

    wire [PADDED-1:0] loaded;
    generate
        if (PADDED > WIDTH) begin : pad
            assign loaded = {{(PADDED - WIDTH) {1'b0}}, in_data};
        end else begin : whole_bytes
            assign loaded = in_data;
        end
    endgenerate

    // Loading and shifting never coincide (load needs !busy, shift needs busy).
    always @(posedge clk) begin
        if (load) buffer <= loaded;
        else if (shift) buffer <= buffer >> 1;
    end
    always @(posedge clk) if (shift) held_byte <= {buffer[0], held_byte[7:1]};

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            byte_full <= 1'b0;
            shift <= 1'b0;
            bits_left <= {CW{1'b0}};
            byte_bits <= 3'd0;
            at_last_bit <= 1'b0;
            at_last_of_byte <= 1'b0;
        end else begin
            busy <= busy_n;
            byte_full <= byte_full_n;
            shift <= busy_n && !byte_full_n;
            if (load) begin
                bits_left <= ALL_BITS;
                at_last_bit <= ALL_BITS == ONE_BIT;
            end
            if (shift) begin
                bits_left <= bits_left - 1'b1;
                byte_bits <= byte_bits + 3'd1;
                at_last_bit <= bits_left == TWO_BITS;
                at_last_of_byte <= byte_bits == 3'd6;
            end
        end
    end
endmodule

`default_nettype wire
