// xnorc_queue: a first-word-fall-through queue of DEPTH entries, the storage of the FIFO and of
// the MVU's output queue.
//
// Interface
//   wr, din      write din at the clock edge (the user guarantees wr only while not full).
//   rd           drop the head at the clock edge (the user guarantees rd only while not empty).
//   head         the oldest entry (valid while not_empty).
//   not_full     registered flag, kept equal to count != DEPTH.
//   not_empty    registered flag, kept equal to count != 0.
// Timing
//   A word written in cycle t is the head from cycle t + 1 (if it is the oldest). The flags are
//   registers, not compares of the count, so a stage that stalls on them starts its path at a
//   flip-flop (xnorc_plan's cycle model: a FIFO's in_ready is count < depth, and a read in the
//   cycle of a write does not free a slot for that write). With DEPTH = 1 the flags take their
//   next values every cycle, one LUT of wr, rd and themselves, with the reset on the
//   flip-flops' reset inputs: an enabled register's synchronous reset acts through its enable
//   on iCE40, which put a second LUT into the board's output slice, between the scores stage
//   and the response gearbox (a critical path of the UP5K).
// Parameters
//   WIDTH >= 1, DEPTH >= 1; STYLE: the storage's ram_style (see xnorc_ram).
`default_nettype none

module xnorc_queue #(
    parameter integer WIDTH = 1,
    parameter integer DEPTH = 1,
    parameter STYLE = "auto"
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             wr,
    input  wire [WIDTH-1:0] din,
    input  wire             rd,
    output wire [WIDTH-1:0] head,
    output wire             not_full,
    output wire             not_empty
);
    // Pointer and count widths (at least one bit each).
    localparam integer AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam integer CW = $clog2(DEPTH + 1);
    localparam integer LAST_I = DEPTH - 1;
    localparam [AW-1:0] LAST = LAST_I[AW-1:0];

    generate
        if (WIDTH < 1 || DEPTH < 1) begin : bad_shape
            $error("xnorc_queue: WIDTH and DEPTH must be at least 1");
        end
    endgenerate

    reg [AW-1:0] wptr, rptr;

    xnorc_ram #(
        .WIDTH(WIDTH),
        .DEPTH(DEPTH),
        .ADDR_W(AW),
        .REGISTERED(0),
        .STYLE(STYLE)
    ) storage (
        .clk(clk),
        .we(wr),
        .waddr(wptr),
        .wdata(din),
        .re(1'b1),
        .raddr(rptr),
        .rdata(head)
    );

    always @(posedge clk) begin
        if (rst) begin
            wptr <= {AW{1'b0}};
            rptr <= {AW{1'b0}};
        end else begin
            if (wr) wptr <= (wptr == LAST) ? {AW{1'b0}} : wptr + 1'b1;
            if (rd) rptr <= (rptr == LAST) ? {AW{1'b0}} : rptr + 1'b1;
        end
    end

    generate
        if (DEPTH == 1) begin : one_entry
            // wr needs the entry free and rd needs it held: they never coincide.
            reg held, free;
            always @(posedge clk) begin
                if (rst) begin
                    held <= 1'b0;
                    free <= 1'b1;
                end else begin
                    held <= wr || (held && !rd);
                    free <= !wr && (free || rd);
                end
            end
            assign not_empty = held;
            assign not_full = free;
        end else begin : entries
            // The count itself is not needed: the flags say all the queue's users ask.
            /* verilator lint_off UNUSEDSIGNAL */
            wire [CW-1:0] count;
            /* verilator lint_on UNUSEDSIGNAL */
            xnorc_occupancy #(
                .DEPTH(DEPTH)
            ) occupancy (
                .clk(clk),
                .rst(rst),
                .inc(wr),
                .dec(rd),
                .count(count),
                .not_full(not_full),
                .not_empty(not_empty)
            );
        end
    endgenerate
endmodule

`default_nettype wire
