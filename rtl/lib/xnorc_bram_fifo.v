// xnorc_bram_fifo: a first-word-fall-through FIFO whose storage is read through a register, so
// that synthesis can place it in block RAM (iCE40 SB_RAM40_4K, ECP5 DP16KD). For deep buffers,
// such as the board's request buffer, where xnorc_fifo's combinational read would take
// flip-flops and a wide multiplexer.
//
// Interface
//   in_valid/in_ready/in_data, out_valid/out_ready/out_data: valid/ready streams of WIDTH-bit
//   beats; a beat moves in a cycle where both valid and ready are high.
// Timing
//   A beat written in cycle t is at the output from cycle t + 3: a cycle into the memory, a
//   cycle through its read register, a cycle through the output register. The output register
//   is a plain register after the memory's data, so that on ECP5 the flow can move it into the
//   block RAM (its output register; docs/flow.md) and the memory's slow clock-to-data never
//   meets the consumer's logic. in_ready is a registered flag: high while fewer than DEPTH
//   beats wait in the memory (the beats in the two registers do not count, and a read in the
//   cycle of a write does not free a slot for that write). out_valid is a register; out_ready
//   reaches the registers' enables and the memory's read pointer through gates, so a consumer
//   that takes a beat every cycle gets one every cycle. out_data holds while out_valid is high
//   and out_ready low.
//   FULL_RATE = 0 (a buffer filled at a serial line's byte rate, such as the board's request
//   buffer): the read side decides from registers only. A read is a registered strobe, issued
//   when the read register is empty and none is in flight, at least 4 cycles after the last
//   one, and when the memory held a beat two cycles before (count != 0, compared through two
//   register levels: since the last read only writes can have changed the count, so that is
//   never a beat too many). At most one beat every 4 cycles leaves; out_ready reaches only the
//   output and read registers' enables. On an UP5K at 77% of its cells the full-rate read
//   chain (the output register's state -> the read decision -> the pointer's and count's
//   enables, through the memory's fixed column) was the critical path of most placements.
// Parameters
//   WIDTH >= 1, DEPTH >= 2; FULL_RATE 0/1 (default 1); STYLE: the storage's ram_style (see
//   xnorc_ram), "block" by default.
`default_nettype none

module xnorc_bram_fifo #(
    parameter integer WIDTH = 8,
    parameter integer DEPTH = 2,
    parameter integer FULL_RATE = 1,
    parameter STYLE = "block"
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
    localparam integer AW = $clog2(DEPTH);
    localparam integer CW = $clog2(DEPTH + 1);
    localparam integer BEFORE_LAST_I = DEPTH - 2;
    localparam [AW-1:0] BEFORE_LAST = BEFORE_LAST_I[AW-1:0];

    generate
        if (WIDTH < 1 || DEPTH < 2 || FULL_RATE < 0 || FULL_RATE > 1) begin : bad_shape
            $error("xnorc_bram_fifo: WIDTH must be at least 1, DEPTH at least 2, FULL_RATE 0 or 1");
        end
    endgenerate

    reg [AW-1:0] wptr, rptr;
    // "The pointer is at the last slot (DEPTH - 1)", kept in step as a register: a pointer's
    // next value is then its increment or, at the last slot, the flip-flops' synchronous reset,
    // so each sum bit of the carry chain goes straight into its flip-flop (on the UP5K a wrap
    // multiplexer after the chain put two routes across the pointer in the critical path).
    reg wlast, rlast;
    // Beats in the memory (not those in the two registers), and count != 0 as a register.
    wire [CW-1:0] count;
    // Read by the full-rate read decision only.
    /* verilator lint_off UNUSEDSIGNAL */
    wire stored;
    /* verilator lint_on UNUSEDSIGNAL */
    // The read register holds a beat (read_valid); it moves to the output register when that
    // is empty or being taken.
    reg read_valid;
    wire [WIDTH-1:0] read_data;
    wire wr = in_valid && in_ready;
    wire move = read_valid && (!out_valid || out_ready);
    wire rd;
    generate
        if (FULL_RATE == 1) begin : full_rate
            // Read the next beat into the read register when it is empty or moving on.
            assign rd = stored && (!read_valid || move);
        end else begin : registered_read
            localparam integer PARTS = (CW + 3) / 4;
            // count != 0 two cycles late: ORs of its 4-bit slices, then of those.
            reg [PARTS-1:0] part_q;
            reg held_q;
            // Cycles since the last read, one-hot (bit 2: three or more).
            reg [2:0] since;
            reg rd_q;
            genvar i;
            for (i = 0; i < PARTS; i = i + 1) begin : part
                localparam integer LO = 4 * i;
                localparam integer N = (CW - LO < 4) ? CW - LO : 4;
                always @(posedge clk) part_q[i] <= !rst && |count[LO+:N];
            end
            always @(posedge clk) begin
                if (rst) begin
                    held_q <= 1'b0;
                    rd_q <= 1'b0;
                    since <= 3'b100;
                end else begin
                    held_q <= |part_q;
                    rd_q <= held_q && since[2] && !read_valid && !rd_q;
                    since <= rd_q ? 3'b001 : (since[2] ? since : {since[1:0], 1'b0});
                end
            end
            assign rd = rd_q;
        end
    endgenerate

    xnorc_ram #(
        .WIDTH(WIDTH),
        .DEPTH(DEPTH),
        .ADDR_W(AW),
        .REGISTERED(1),
        .STYLE(STYLE),
        // A word is never read in the cycle it is written: reads take stored words only, and
        // a write needs a free slot, so the pointers meet only when nothing is read (empty) or
        // written (full).
        .COLLISIONS(0)
    ) storage (
        .clk(clk),
        .we(wr),
        .waddr(wptr),
        .wdata(in_data),
        .re(rd),
        .raddr(rptr),
        .rdata(read_data)
    );

    xnorc_occupancy #(
        .DEPTH(DEPTH)
    ) occupancy (
        .clk(clk),
        .rst(rst),
        .inc(wr),
        .dec(rd),
        .count(count),
        .not_full(in_ready),
        .not_empty(stored)
    );

    // No reset: out_valid says when it holds a beat.
    always @(posedge clk) if (move) out_data <= read_data;

    always @(posedge clk) begin
        if (rst) begin
            wptr <= {AW{1'b0}};
            rptr <= {AW{1'b0}};
            wlast <= 1'b0;
            rlast <= 1'b0;
            read_valid <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (wr) begin
                wptr <= wlast ? {AW{1'b0}} : wptr + 1'b1;
                wlast <= wptr == BEFORE_LAST;
            end
            if (rd) begin
                rptr <= rlast ? {AW{1'b0}} : rptr + 1'b1;
                rlast <= rptr == BEFORE_LAST;
            end
            if (rd) read_valid <= 1'b1;
            else if (move) read_valid <= 1'b0;
            if (move) out_valid <= 1'b1;
            else if (out_ready) out_valid <= 1'b0;
        end
    end
endmodule

`default_nettype wire
