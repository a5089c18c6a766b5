//! Test-only harness around rust-hdl's simulator: a cycle-stepping bench and the host-side
//! models (UART bit-banger and decoder, random numbers) the shell tests share.
//!
//! The bench steps rust-hdl's own event loop ([`simulate`]) directly instead of running
//! `Simulation`'s one-thread-per-testbench scheduler: each test's host model is a plain state
//! machine advanced once per clock, which keeps the tests short and the run fast.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use rust_hdl_core::prelude::*;

use super::countdown::Countdown;
use super::crc::Crc16;
use super::fifo::ByteFifo;
use super::link::Link;
use super::reset::ResetSync;
use super::rx_framer::RxFramer;
use super::status_queue::StatusQueue;
use super::tx_framer::TxFramer;
use super::uart_rx::UartRx;
use super::uart_tx::UartTx;

/// A block with a `clock` input the bench can toggle.
pub trait Clocked: Block {
    /// The block's clock input.
    fn clock_input(&mut self) -> &mut Signal<In, Clock>;
}

/// Implements [`Clocked`] for blocks whose clock field is `clock`.
macro_rules! impl_clocked {
    ($($t:ty),*) => {
        $(impl Clocked for $t {
            fn clock_input(&mut self) -> &mut Signal<In, Clock> {
                &mut self.clock
            }
        })*
    };
}
pub(crate) use impl_clocked;

impl_clocked!(
    ByteFifo,
    Countdown,
    Crc16,
    ResetSync,
    UartRx,
    UartTx,
    RxFramer,
    TxFramer,
    StatusQueue,
    Link
);

/// A block under test, stepped one clock at a time.
///
/// Convention: set inputs, call [`Bench::settle`] if combinational outputs are to be read
/// before the edge, then [`Bench::tick`] for one rising and one falling edge; registered
/// outputs read after `tick` are the values after that rising edge.
pub struct Bench<T: Clocked> {
    /// The block; drive its inputs' `.next` and read outputs with `.val()`.
    pub uut: T,
    /// Rising edges so far.
    pub cycles: u64,
}

impl<T: Clocked> Bench<T> {
    /// Connects `uut`, runs rust-hdl's design checks (undriven signals, logic loops, writes
    /// to inputs) and settles the initial state.
    pub fn new(mut uut: T) -> Self {
        uut.connect_all();
        check_all(&uut).expect("rust-hdl design checks");
        let mut bench = Self { uut, cycles: 0 };
        bench.settle();
        bench
    }

    /// Propagates input changes through the combinational logic.
    pub fn settle(&mut self) {
        assert!(simulate(&mut self.uut, 1000), "simulation did not settle");
    }

    /// One clock period: rising edge, then falling edge.
    pub fn tick(&mut self) {
        self.uut.clock_input().next = true.into();
        self.settle();
        self.uut.clock_input().next = false.into();
        self.settle();
        self.cycles += 1;
    }
}

/// Small deterministic xorshift64* generator, so tests need no extra dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (any seed; 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

/// Line level for each clock of one 8N1 frame (start, 8 data bits LSB first, stop), each bit
/// `cpb` clocks long; `stop` is the stop bit's level (false makes a framing error).
pub fn uart_frame(byte: u8, cpb: usize, stop: bool) -> Vec<bool> {
    let mut bits = vec![false];
    bits.extend((0..8).map(|i| (byte >> i) & 1 == 1));
    bits.push(stop);
    bits.iter()
        .flat_map(|&b| std::iter::repeat_n(b, cpb))
        .collect()
}

/// A host-side 8N1 receiver: fed one line sample per clock, it finds the start bit's falling
/// edge, checks the start bit at mid-bit and samples every bit at its middle.
pub struct UartDecoder {
    cpb: usize,
    state: DecoderState,
    data: u8,
    /// Every byte decoded so far, with its stop bit's level.
    pub bytes: Vec<(u8, bool)>,
}

enum DecoderState {
    Idle,
    /// Clocks since the first low sample.
    Frame(usize),
    /// A framing error: wait for the line to return high.
    WaitHigh,
}

impl UartDecoder {
    /// Decoder for `cpb` clocks per bit.
    pub fn new(cpb: usize) -> Self {
        Self {
            cpb,
            state: DecoderState::Idle,
            data: 0,
            bytes: Vec::new(),
        }
    }

    /// Takes one line sample.
    pub fn sample(&mut self, level: bool) {
        let mid = self.cpb / 2;
        self.state = match self.state {
            DecoderState::Idle if !level => DecoderState::Frame(0),
            DecoderState::Idle => DecoderState::Idle,
            DecoderState::WaitHigh if level => DecoderState::Idle,
            DecoderState::WaitHigh => DecoderState::WaitHigh,
            DecoderState::Frame(t) => {
                let t = t + 1;
                if t == mid && level {
                    DecoderState::Idle
                } else if t > mid && (t - mid).is_multiple_of(self.cpb) {
                    let k = (t - mid) / self.cpb;
                    if k <= 8 {
                        self.data = (self.data >> 1) | if level { 0x80 } else { 0 };
                        DecoderState::Frame(t)
                    } else {
                        self.bytes.push((self.data, level));
                        if level {
                            DecoderState::Idle
                        } else {
                            DecoderState::WaitHigh
                        }
                    }
                } else {
                    DecoderState::Frame(t)
                }
            }
        };
    }
}

/// Writes `files` into a fresh temporary directory and runs `program` there.
///
/// # Panics
/// If `program` is not installed (a missing tool fails the test, it never skips it: run
/// `make setup`), or the directory cannot be written.
pub fn run_tool(program: &str, args: &[&str], files: &[(&str, &str)]) -> Output {
    let mut outputs = run_tools(&[program], &[(program, args)], files);
    outputs.pop().expect("one command")
}

/// Like [`run_tool`] for several commands in the same directory, run while they succeed;
/// returns the output of each that ran (the last one is the first failure, if any).
///
/// # Panics
/// If a tool of `needed` is not installed (run `make setup`), or the directory cannot be
/// written.
pub fn run_tools(
    needed: &[&str],
    commands: &[(&str, &[&str])],
    files: &[(&str, &str)],
) -> Vec<Output> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    for tool in needed {
        require_tool(tool);
    }
    let dir = std::env::temp_dir().join(format!(
        "xnorc-shell-{}-{}-{}",
        needed[0],
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let mut outputs = Vec::new();
    for (program, args) in commands {
        // A path names a file made in the directory; a plain name is looked up on PATH.
        let path = if program.contains('/') {
            dir.join(program)
        } else {
            program.into()
        };
        let o = Command::new(&path)
            .args(*args)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        let ok = o.status.success();
        outputs.push(o);
        if !ok {
            break;
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    outputs
}

/// Panics with a clear message unless `tool` can be started.
pub fn require_tool(tool: &str) {
    let installed = Command::new(tool).arg("-V").output().is_ok();
    assert!(
        installed,
        "{tool} is not installed: run `make setup` (apt-get install {tool})"
    );
}

/// CRC-16/CCITT-FALSE computed bit by bit from its definition (poly 0x1021, init 0xFFFF, no
/// reflection, no final XOR): the tests' independent model of the link's CRC.
pub fn model_crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}
