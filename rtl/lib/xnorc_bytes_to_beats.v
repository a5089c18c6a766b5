// xnorc_bytes_to_beats: the board's request gearbox: bytes from the host link into the core's
// input beats (docs/uart-protocol.md: a frame's bits in stream order, LSB first).
//
// Computation
//   Each byte is shifted out LSB first, one bit per cycle, into a WIDTH-bit beat (new bits
//   enter at the top: after WIDTH shifts the first sits in bit 0); BEATS beats make a frame.
//   After a frame's last beat the padding bits left in the current byte are dropped, so every
//   frame starts on a byte boundary.
// Interface
//   in_*   valid/ready stream of bytes.   out_*  valid/ready stream of WIDTH-bit beats.
// Timing
//   One bit per cycle (the UART is thousands of times slower). in_ready, out_valid and every
//   enable come from registered flags, never from counter compares, so the wide shift
//   register's enable starts at a flip-flop.
// Parameters
//   WIDTH >= 1, BEATS >= 1.
`default_nettype none

module xnorc_bytes_to_beats #(
    parameter integer WIDTH = 1,
    parameter integer BEATS = 1
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    output wire             in_ready,
    input  wire [      7:0] in_data,
    output wire             out_valid,
    input  wire             out_ready,
    output wire [WIDTH-1:0] out_data
);
    localparam integer FW = $clog2(WIDTH + 1);
    localparam integer BW = (BEATS > 1) ? $clog2(BEATS) : 1;
    localparam integer WIDTH_LAST_I = WIDTH - 1;
    localparam [FW-1:0] WIDTH_LAST = WIDTH_LAST_I[FW-1:0];
    localparam integer NEXT_TO_LAST_I = (BEATS > 1) ? BEATS - 2 : 0;
    localparam [BW-1:0] NEXT_TO_LAST = NEXT_TO_LAST_I[BW-1:0];

    generate
        if (WIDTH < 1 || BEATS < 1) begin : bad_shape
            $error("xnorc_bytes_to_beats: WIDTH and BEATS must be at least 1");
        end
    endgenerate

    reg [7:0] held_byte;
    reg [3:0] bits_left;
    reg have_bits;
    reg [WIDTH-1:0] acc;
    reg [FW-1:0] filled;
    reg full;
    reg [BW-1:0] beat;
    reg last_beat;
    assign out_valid = full;
    assign out_data = acc;
    assign in_ready = !have_bits;
    wire take = in_valid && !have_bits;
    wire shift = have_bits && !full;
    wire emit = full && out_ready;
    wire next_is_last = BEATS == 1 || beat == NEXT_TO_LAST;

    wire [WIDTH-1:0] shifted;
    generate
        if (WIDTH == 1) begin : one_bit
            assign shifted = held_byte[0];
        end else begin : bits
            assign shifted = {held_byte[0], acc[WIDTH-1:1]};
        end
    endgenerate

    // Taking a byte and shifting never coincide (take needs !have_bits, shift needs it).
    always @(posedge clk) begin
        if (take) held_byte <= in_data;
        else if (shift) begin
            acc <= shifted;
            held_byte <= held_byte >> 1;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            bits_left <= 4'd0;
            have_bits <= 1'b0;
            filled <= {FW{1'b0}};
            full <= 1'b0;
            beat <= {BW{1'b0}};
            last_beat <= BEATS == 1;
        end else begin
            if (take) begin
                bits_left <= 4'd8;
                have_bits <= 1'b1;
            end
            if (shift) begin
                bits_left <= bits_left - 4'd1;
                have_bits <= bits_left != 4'd1;
                filled <= filled + 1'b1;
                full <= filled == WIDTH_LAST;
            end
            if (emit) begin
                filled <= {FW{1'b0}};
                full <= 1'b0;
                if (last_beat) begin
                    beat <= {BW{1'b0}};
                    last_beat <= BEATS == 1;
                    // The rest of this byte is padding (if the byte ended exactly, a byte
                    // taken in this cycle must stay).
                    if (have_bits) begin
                        bits_left <= 4'd0;
                        have_bits <= 1'b0;
                    end
                end else begin
                    beat <= beat + 1'b1;
                    last_beat <= next_is_last;
                end
            end
        end
    end
endmodule

`default_nettype wire
