// xnorc simulated board: a board top (clk_in, rst_btn, uart_rx, uart_tx, led) under Verilator,
// its UART pins bridged to a pseudo-terminal, so host code talks to it exactly as to a real
// board's serial port.
// Usage: board_tb CLOCKS_PER_BIT IDLE_EXIT_SECONDS RESET
// RESET: how the reset button is pressed: "high", "low", or "none" (the top has no rst_btn;
// compiled with HAS_RST_BTN when it has one).
// Prints "pty <path>" on stdout once the terminal is ready, then runs until no byte has crossed
// the link for IDLE_EXIT_SECONDS (or it is killed). Bytes are framed 8N1 at CLOCKS_PER_BIT
// clock cycles per bit, LSB first; a received stop bit of 0 is reported on stderr.
// Simulated time, for the link's throughput: "in <cycle>" on stdout when the first start bit
// towards the board begins, "out <cycle>" each time a byte from the board has been sampled
// (the middle of its stop bit).
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>
#include "verilated.h"
#include "Vcore.h"

static double now_seconds() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
    if (argc < 4) { fprintf(stderr, "usage: board_tb CLOCKS_PER_BIT IDLE_EXIT_SECONDS RESET\n"); return 2; }
    Verilated::commandArgs(1, argv);
    const long cpb = atol(argv[1]);
    const double idle_exit = atof(argv[2]);
    const int press = argv[3][0] == 'h' ? 1 : 0;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) { perror("posix_openpt"); return 1; }
    const char* slave_name = ptsname(master);
    // Hold the slave open (reads of the master fail with EIO while no slave is open) and make
    // the line raw: bytes pass unchanged, no echo.
    int slave = open(slave_name, O_RDWR | O_NOCTTY);
    if (slave < 0) { perror("open pty"); return 1; }
    termios t;
    tcgetattr(slave, &t);
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    printf("pty %s\n", slave_name);
    fflush(stdout);

    Vcore* top = new Vcore;
    top->clk_in = 0; top->uart_rx = 1;
#ifdef HAS_RST_BTN
    top->rst_btn = press;
#endif
    top->eval();
    auto cycle = [&]() { top->clk_in = 1; top->eval(); top->clk_in = 0; top->eval(); };
    for (int i = 0; i < 8; i++) cycle();
#ifdef HAS_RST_BTN
    top->rst_btn = !press;
#endif
    (void)press;

    std::deque<uint8_t> to_board;
    // Transmitter towards the board's uart_rx: bit position (-1 idle, 0 start, 1..8 data, 9 stop).
    int tx_bit = -1; long tx_count = 0; uint8_t tx_byte = 0;
    // Receiver of the board's uart_tx.
    int rx_bit = -1; long rx_count = 0; uint8_t rx_byte = 0; int prev_line = 1;
    double last_traffic = now_seconds();
    bool started = false;
    long quiet_cycles = 0;
    for (long n = 0;; n++) {
        if ((n & 63) == 0) {
            uint8_t buf[256];
            ssize_t got = read(master, buf, sizeof buf);
            if (got > 0) { to_board.insert(to_board.end(), buf, buf + got); last_traffic = now_seconds(); }
        }
        // Drive uart_rx.
        // Like a host that opens the port after configuration: nothing is sent while the
        // design is still coming out of reset.
        if (tx_bit < 0 && !to_board.empty() && n > 1000) {
            tx_byte = to_board.front(); to_board.pop_front(); tx_bit = 0; tx_count = 0;
            if (!started) { started = true; printf("in %ld\n", n); fflush(stdout); }
        }
        if (tx_bit == 0) top->uart_rx = 0;
        else if (tx_bit >= 1 && tx_bit <= 8) top->uart_rx = (tx_byte >> (tx_bit - 1)) & 1;
        else top->uart_rx = 1;
        if (tx_bit >= 0 && ++tx_count == cpb) { tx_count = 0; if (++tx_bit == 10) tx_bit = -1; }
        cycle();
        // Sample uart_tx: a falling edge starts a byte; sample each bit in its middle.
        int line = top->uart_tx;
        if (rx_bit < 0) {
            if (prev_line == 1 && line == 0) { rx_bit = 0; rx_count = 0; }
        } else if (++rx_count == (rx_bit == 0 ? cpb / 2 : cpb)) {
            rx_count = 0;
            if (rx_bit >= 1 && rx_bit <= 8) rx_byte = (uint8_t)((rx_byte >> 1) | (line << 7));
            if (rx_bit == 9) {
                if (!line) fprintf(stderr, "board_tb: framing error on uart_tx\n");
                printf("out %ld\n", n); fflush(stdout);
                ssize_t w;
                do { w = write(master, &rx_byte, 1); } while (w < 0 && errno == EAGAIN);
                last_traffic = now_seconds();
                rx_bit = -1;
            } else {
                rx_bit++;
            }
        }
        prev_line = line;
        bool busy = tx_bit >= 0 || rx_bit >= 0 || !to_board.empty();
        quiet_cycles = busy ? 0 : quiet_cycles + 1;
        // Long quiet (longer than any frame computes): the host is thinking; sleep on the
        // terminal instead of spinning.
        if (quiet_cycles > 5000000 && (n & 1023) == 0 && now_seconds() - last_traffic > 2.0) {
            pollfd p = {master, POLLIN, 0};
            poll(&p, 1, 5);
            if (now_seconds() - last_traffic > idle_exit) break;
        }
    }
    top->final();
    delete top;
    return 0;
}
