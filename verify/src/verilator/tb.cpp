// xnorc co-simulation testbench (generic: port widths come from the Verilated model).
// Usage: tb STIMULUS OUTPUT OUTPUTS INPUT_BEATS SEED P_IN_STALL P_OUT_STALL MAX_CYCLES RELEASE [VCD]
// STIMULUS: input beats, each IN_WORDS little-endian u32. OUTPUT: text, one line per event:
//   "i <cycle>" for an accepted input beat, "o <cycle> <hex words, least significant first>".
// Stalls: with probability P (per mille) the source withholds a beat / the sink is not ready.
// RELEASE: cycles after rst falls while the core is still leaving reset. The source offers its
//   first beat all along, the sink is ready, and neither handshake may happen (exit 4 if one
//   does); cycle 0 of the log is the cycle after them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "verilated.h"
#include "Vcore.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

template <typename T> static void put(T& port, const uint32_t* w, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n && i < 2; i++) v |= (uint64_t)w[i] << (32 * i);
    port = (T)v;
}
template <std::size_t N> static void put(VlWide<N>& port, const uint32_t* w, int n) {
    for (std::size_t i = 0; i < N; i++) port[i] = (int)i < n ? w[i] : 0;
}
template <typename T> static int words_of(const T&) { return sizeof(T) > 4 ? 2 : 1; }
template <std::size_t N> static int words_of(const VlWide<N>&) { return (int)N; }
template <typename T> static void get(const T& port, std::vector<uint32_t>& out) {
    uint64_t v = (uint64_t)port;
    out.push_back((uint32_t)v);
    if (sizeof(T) > 4) out.push_back((uint32_t)(v >> 32));
}
template <std::size_t N> static void get(const VlWide<N>& port, std::vector<uint32_t>& out) {
    for (std::size_t i = 0; i < N; i++) out.push_back(port[i]);
}

static uint64_t rng_state;
static uint32_t next_rand() {  // xorshift64*
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

int main(int argc, char** argv) {
    if (argc < 10) { fprintf(stderr, "usage: tb STIM OUT OUTPUTS INBEATS SEED PIN POUT MAXCYC RELEASE [VCD]\n"); return 2; }
    Verilated::commandArgs(1, argv);
    const char* stim_path = argv[1];
    const char* out_path = argv[2];
    long frames = atol(argv[3]), total_beats = atol(argv[4]);  // output beats to collect, input beats
    rng_state = strtoull(argv[5], nullptr, 10) * 0x9E3779B97F4A7C15ULL + 1;
    int p_in = atoi(argv[6]), p_out = atoi(argv[7]);
    long max_cycles = atol(argv[8]);
    long release = atol(argv[9]);
    Vcore* top = new Vcore;
    const int in_words = words_of(top->in_data);
    std::vector<uint32_t> stim((size_t)total_beats * in_words);
    FILE* f = fopen(stim_path, "rb");
    if (!f || fread(stim.data(), 4, stim.size(), f) != stim.size()) { fprintf(stderr, "cannot read %s\n", stim_path); return 2; }
    fclose(f);
    FILE* out = fopen(out_path, "w");
    if (!out) { fprintf(stderr, "cannot write %s\n", out_path); return 2; }
#if VM_TRACE
    VerilatedVcdC* vcd = nullptr;
    if (argc > 10) { Verilated::traceEverOn(true); vcd = new VerilatedVcdC; top->trace(vcd, 99); vcd->open(argv[10]); }
#endif
    long t = 0;
    // One cycle = two evaluations: the caller has set clk = 0 and the inputs and evaluated
    // (combinational settle, read the handshakes); the rising edge updates state. Setting clk
    // back to 0 waits for the next cycle's inputs, saving a third evaluation per cycle.
    auto tick = [&]() {
        top->clk = 1; top->eval();
#if VM_TRACE
        if (vcd) vcd->dump((uint64_t)(2 * t + 1));
#endif
        top->clk = 0;
    };
    top->clk = 0; top->rst = 1; top->in_valid = 0; top->out_ready = 0; top->eval();
    for (int i = 0; i < 4; i++) { top->eval(); tick(); }
    top->rst = 0;
    for (long i = 0; i < release; i++, t++) {
        top->in_valid = total_beats > 0;
        if (total_beats > 0) put(top->in_data, &stim[0], in_words);
        top->out_ready = 1;
        top->eval();
        if ((total_beats > 0 && top->in_ready) || top->out_valid) {
            fprintf(stderr, "handshake %ld cycles after reset, before the core left reset\n", i);
            return 4;
        }
        tick();
    }
    long sent = 0, received = 0;
    std::vector<uint32_t> words;
    for (long cycle = 0; received < frames && cycle < max_cycles; cycle++, t++) {
        bool offer = sent < total_beats && (p_in == 0 || (int)(next_rand() % 1000) >= p_in);
        bool ready = p_out == 0 || (int)(next_rand() % 1000) >= p_out;
        top->in_valid = offer;
        if (offer) put(top->in_data, &stim[(size_t)sent * in_words], in_words);
        top->out_ready = ready;
        top->eval();
#if VM_TRACE
        if (vcd) vcd->dump((uint64_t)(2 * t));
#endif
        if (offer && top->in_ready) { fprintf(out, "i %ld\n", cycle); sent++; }
        if (top->out_valid && ready) {
            words.clear(); get(top->out_data, words);
            fprintf(out, "o %ld", cycle);
            for (uint32_t w : words) fprintf(out, " %08x", w);
            fprintf(out, "\n");
            received++;
        }
        tick();
    }
#if VM_TRACE
    if (vcd) vcd->close();
#endif
    fclose(out);
    top->final();
    delete top;
    return received == frames ? 0 : 3;
}
