// xnorc_copies: COPIES registered copies of one WIDTH-bit signal, each its own register, so the
// placer can put every copy beside the logic it drives.
//
// Interface
//   d: the signal. q: the copies, copy c in q[c*WIDTH +: WIDTH].
// Timing
//   Every copy is d one clock edge late. At configuration every copy holds INIT (a copy of a
//   reset starts in reset, INIT = 1).
// Why
//   One register whose output reaches logic spread over a large device is one route across
//   the die: 9.9-10.4 ns on the LFE5U-85F, where nextpnr puts only the clock on a global
//   network. The board's synchronous reset, driving every stage's control, was the critical
//   path of TFC at 100 MHz. A copy per stage (per sub-block of the link) turns that into two
//   shorter routes, one clock edge apart. yosys merges registers with the same input back into
//   one register; the keep attribute stops it.
// Parameters
//   WIDTH >= 1, COPIES >= 1, INIT 0 (copies start at zero) or 1 (at all ones).
`default_nettype none

module xnorc_copies #(
    parameter integer WIDTH = 1,
    parameter integer COPIES = 1,
    parameter integer INIT = 0
) (
    input  wire                    clk,
    input  wire [       WIDTH-1:0] d,
    output wire [COPIES*WIDTH-1:0] q
);
    generate
        if (WIDTH < 1 || COPIES < 1) begin : bad_shape
            $error("xnorc_copies: WIDTH and COPIES must be at least 1");
        end
        if (INIT != 0 && INIT != 1) begin : bad_init
            $error("xnorc_copies: INIT must be 0 or 1");
        end
    endgenerate

    genvar c;
    generate
        for (c = 0; c < COPIES; c = c + 1) begin : copy
            reg [WIDTH-1:0] q_c;
            initial q_c = {WIDTH{INIT == 1}};
            // keep: yosys merges registers with the same input back into one.
            (* keep *) always @(posedge clk) q_c <= d;
            assign q[c*WIDTH+:WIDTH] = q_c;
        end
    endgenerate
endmodule

`default_nettype wire
