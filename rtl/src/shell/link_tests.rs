//! End-to-end tests of the link in rust-hdl's simulator: a host model bit-bangs requests onto
//! `uart_rx` and decodes `uart_tx`, and a fake core consumes `req_*` with random backpressure
//! and answers a fixed response on `resp_*` with random gaps. Every expected value comes from
//! the test's own model (its own CRC), never from the code under test.

use std::collections::VecDeque;

use super::link::SlowTimers;
use super::sim::{model_crc16, uart_frame, Bench, Rng, UartDecoder};
use super::{Link, LinkParams};

const CPB: usize = 8;
const RESPONSE: [u8; 3] = [0xC0, 0x01, 0xA5];
const LED_CYCLES: u32 = 50;

/// A request frame as the host sends it.
fn request_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0xA5];
    f.extend_from_slice(payload);
    f.extend_from_slice(&model_crc16(payload).to_be_bytes());
    f
}

/// A decoded response: status and payload, after checking sync byte and CRC.
#[derive(Debug, PartialEq)]
struct Response {
    status: u8,
    payload: Vec<u8>,
}

struct Env {
    bench: Bench<Link>,
    request_bytes: usize,
    led_cycles: usize,
    /// How much longer than led_cycles the prescaled LED hold may be (2P - 2).
    led_slack: usize,
    /// The core takes nothing while set.
    stall: bool,
    rng: Rng,
    /// Line levels still to put on `uart_rx`, one per clock.
    host_tx: VecDeque<bool>,
    decoder: UartDecoder,
    /// Response bytes already parsed out of `decoder.bytes`.
    parsed: usize,
    /// Every byte the core took from `req_*`.
    core_in: Vec<u8>,
    /// Bytes of the current request taken so far.
    frame_in: usize,
    /// Index of the next response byte to offer, while the core has a response to give.
    producing: Option<usize>,
    /// Whole inputs taken whose responses wait behind the one being produced.
    queued_responses: usize,
    /// The core offers no response byte while set (it is still computing).
    hold_responses: bool,
    /// `resp_valid` as driven (held until the handshake, as a stream source must).
    resp_valid: bool,
    /// `req_data` seen last cycle while valid and not taken: it must not change.
    waiting_req: Option<u8>,
    /// Responses the host's requests allow: while 0, `resp_ready` must stay low (a request is
    /// still on the wire).
    resp_allowed: usize,
}

impl Env {
    fn new(seed: u64) -> Self {
        Self::with_request_bytes(seed, 5)
    }

    fn with_request_bytes(seed: u64, request_bytes: usize) -> Self {
        Self::with_params(seed, request_bytes, 20 * CPB as u32, LED_CYCLES)
    }

    fn with_params(seed: u64, request_bytes: usize, timeout_cycles: u32, led_cycles: u32) -> Self {
        let params = LinkParams {
            clocks_per_bit: CPB as u32,
            request_bytes: request_bytes as u32,
            response_bytes: RESPONSE.len() as u32,
            timeout_cycles,
            led_cycles,
            reset_copies: true,
        };
        let link = Link::new(&params).unwrap();
        let mut env = Self {
            bench: Bench::new(link),
            request_bytes,
            led_cycles: led_cycles as usize,
            led_slack: 2 * (1 << SlowTimers::new(&params).shift) - 2,
            stall: false,
            rng: Rng::new(seed),
            host_tx: VecDeque::new(),
            decoder: UartDecoder::new(CPB),
            parsed: 0,
            core_in: Vec::new(),
            frame_in: 0,
            producing: None,
            queued_responses: 0,
            hold_responses: false,
            resp_valid: false,
            waiting_req: None,
            resp_allowed: 0,
        };
        // Power-on reset, then the pins idle.
        assert!(env.bench.uut.reset.val());
        env.run(25);
        assert!(!env.bench.uut.reset.val());
        assert!(env.bench.uut.uart_tx.val());
        assert!(!env.bench.uut.led.val());
        env
    }

    /// Queues `bytes` on the host's TX line with random gaps of up to two bit times.
    fn send(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.host_tx.extend(uart_frame(b, CPB, true));
            let gap = self.rng.below(2 * CPB as u64) as usize;
            self.host_tx.extend(std::iter::repeat_n(true, gap));
        }
    }

    /// One clock: host line, fake core, stream-protocol checks.
    fn step(&mut self) {
        let uut = &mut self.bench.uut;
        uut.uart_rx.next = self.host_tx.pop_front().unwrap_or(true);
        let ready = !self.stall && self.rng.chance(1, 2);
        uut.req_ready.next = ready;
        if let Some(i) = self.producing {
            if !self.resp_valid && !self.hold_responses && self.rng.chance(1, 4) {
                self.resp_valid = true;
                uut.resp_data.next = u64::from(RESPONSE[i]).into();
            }
        }
        uut.resp_valid.next = self.resp_valid;
        self.bench.settle();
        let uut = &self.bench.uut;
        if uut.reset.val() {
            // The core is reset too: it forgets the frame it was in.
            self.frame_in = 0;
            self.producing = None;
            self.queued_responses = 0;
            self.resp_valid = false;
            self.waiting_req = None;
        } else {
            let data = uut.req_data.val().to_u8();
            if uut.req_valid.val() {
                if let Some(w) = self.waiting_req {
                    assert_eq!(data, w, "req_data changed while waiting for ready");
                }
            }
            self.waiting_req = None;
            if uut.req_valid.val() && ready {
                self.core_in.push(data);
                self.frame_in += 1;
                if self.frame_in == self.request_bytes {
                    // The core has its whole input: it answers (maybe before the CRC is in),
                    // after the responses of the inputs before it.
                    self.frame_in = 0;
                    if self.producing.is_none() {
                        self.producing = Some(0);
                    } else {
                        self.queued_responses += 1;
                    }
                }
            } else if uut.req_valid.val() {
                self.waiting_req = Some(data);
            }
            if uut.resp_ready.val() {
                assert!(
                    self.resp_allowed > 0,
                    "resp_ready before the request was complete"
                );
            }
            if uut.resp_ready.val() && self.resp_valid {
                self.resp_valid = false;
                let next = self.producing.expect("handshake without an offer") + 1;
                self.producing = if next < RESPONSE.len() {
                    Some(next)
                } else if self.queued_responses > 0 {
                    self.queued_responses -= 1;
                    Some(0)
                } else {
                    None
                };
            }
        }
        self.bench.tick();
        self.decoder.sample(self.bench.uut.uart_tx.val());
    }

    fn run(&mut self, cycles: usize) {
        for _ in 0..cycles {
            self.step();
        }
    }

    /// Runs until the host has sent everything queued.
    fn drain_host(&mut self) {
        while !self.host_tx.is_empty() {
            self.step();
        }
    }

    /// Runs until a whole response frame has been decoded, and parses it.
    fn response(&mut self) -> Response {
        let len = 4 + RESPONSE.len();
        let start = self.bench.cycles;
        while self.decoder.bytes.len() < self.parsed + len {
            self.step();
            assert!(self.bench.cycles - start < 20_000, "no response");
        }
        let frame: Vec<u8> = self.decoder.bytes[self.parsed..self.parsed + len]
            .iter()
            .map(|&(b, stop_ok)| {
                assert!(stop_ok, "framing error on uart_tx");
                b
            })
            .collect();
        self.parsed += len;
        self.resp_allowed = self.resp_allowed.saturating_sub(1);
        assert_eq!(frame[0], 0x5A, "response sync");
        let crc = model_crc16(&frame[1..len - 2]);
        assert_eq!(frame[len - 2..], crc.to_be_bytes(), "response CRC");
        // Nothing was taken from the core that it had not offered, nothing left over of this
        // response (the next one's first byte may be on offer already).
        assert!(self.producing.is_none_or(|i| i == 0));
        Response {
            status: frame[1],
            payload: frame[2..len - 2].to_vec(),
        }
    }

    /// Sends `bytes` as a request and returns its response, checking the LED along the way.
    fn exchange(&mut self, bytes: &[u8]) -> Response {
        self.send(bytes);
        self.drain_host();
        assert!(self.bench.uut.led.val(), "LED off during a request");
        self.resp_allowed += 1;
        let r = self.response();
        // On for the rest of the last stop bit, then led_cycles (prescaled: up to led_slack
        // more), then off.
        let mut on = 0;
        while self.bench.uut.led.val() {
            self.step();
            on += 1;
            assert!(
                on <= self.led_cycles + self.led_slack + CPB + 4,
                "LED still on"
            );
        }
        assert!(on >= self.led_cycles, "LED off after {on} cycles");
        r
    }

    fn good() -> Response {
        Response {
            status: 0,
            payload: RESPONSE.to_vec(),
        }
    }
}

#[test]
fn shell_link_good_bad_truncated_resync() {
    let mut env = Env::new(1);
    // Noise before the sync byte is ignored.
    let payload = [0x12, 0x34, 0xA5, 0x5A, 0xFF];
    let mut bytes = vec![0x00, 0x5A, 0xFF];
    bytes.extend(request_frame(&payload));
    assert_eq!(env.exchange(&bytes), Env::good());
    assert_eq!(env.core_in, payload);

    // Corrupted CRC: flagged, and the core still got exactly the 5 payload bytes.
    let payload2 = [1, 2, 3, 4, 5];
    let mut bad = request_frame(&payload2);
    bad[6] ^= 0x40;
    let r = env.exchange(&bad);
    assert_eq!(r.status, 0x01);
    assert_eq!(r.payload, RESPONSE);
    assert_eq!(env.core_in[5..], payload2);

    // Truncated after 2 payload bytes: padded with zeros, flagged after the timeout.
    let r = env.exchange(&[0xA5, 0x77, 0x88]);
    assert_eq!(r.status, 0x02);
    assert_eq!(env.core_in[10..], [0x77, 0x88, 0, 0, 0]);

    // The next good request works (resync).
    let payload4 = [0xDE, 0xAD, 0xBE, 0xEF, 0x00];
    assert_eq!(env.exchange(&request_frame(&payload4)), Env::good());
    assert_eq!(env.core_in[15..], payload4);
    assert_eq!(env.core_in.len(), 20);
}

#[test]
fn shell_link_pipelines_a_window_of_two() {
    let mut env = Env::new(2);
    // Three requests back to back while the core is still computing: the first two take the
    // status queue's two entries, the third is complete (its payload is with the core) and
    // waits for room. A fourth sent meanwhile is beyond the window: ignored entirely.
    let (a, b, c) = ([9, 8, 7, 6, 5], [1, 2, 3, 4, 5], [7, 7, 7, 7, 7]);
    let mut bad = request_frame(&b);
    bad[6] ^= 0x01;
    env.hold_responses = true;
    env.resp_allowed = 3;
    for frame in [request_frame(&a), bad, request_frame(&c)] {
        env.send(&frame);
    }
    env.drain_host();
    env.run(4 * CPB);
    let ignored = request_frame(&[3, 3, 3, 3, 3]);
    assert!(!ignored[1..].contains(&0xA5));
    env.send(&ignored);
    env.drain_host();
    env.run(40 * CPB);
    assert_eq!(
        env.decoder.bytes.len(),
        0,
        "a response before the core offered one"
    );
    assert_eq!(env.core_in, [a, b, c].concat());
    assert!(env.bench.uut.led.val());
    // The core answers: three responses in request order, with their own statuses.
    env.hold_responses = false;
    assert_eq!(env.response(), Env::good());
    let r = env.response();
    assert_eq!((r.status, r.payload), (0x01, RESPONSE.to_vec()));
    assert_eq!(env.response(), Env::good());
    env.run(40 * CPB);
    assert_eq!(
        env.decoder.bytes.len(),
        env.parsed,
        "a response to the ignored request"
    );
    assert_eq!(env.core_in.len(), 15);
    // The link is back in step: the next request is answered.
    let next = [4, 3, 2, 1, 0];
    assert_eq!(env.exchange(&request_frame(&next)), Env::good());
    assert_eq!(env.core_in[15..], next);
}

#[test]
fn shell_link_reset_mid_request() {
    let mut env = Env::new(3);
    env.send(&[0xA5, 0x10, 0x20]);
    env.drain_host();
    env.run(2 * CPB);
    // The request is caught at once and the reset asserts at the next clock edge.
    env.bench.uut.reset_req.next = true;
    env.bench.settle();
    env.run(1);
    assert!(env.bench.uut.reset.val());
    env.run(2);
    env.bench.uut.reset_req.next = false;
    let mut held = 0;
    while env.bench.uut.reset.val() {
        env.step();
        held += 1;
    }
    assert!(held >= 16, "reset held {held} cycles");
    assert!(
        !env.bench.uut.req_valid.val(),
        "stale request bytes after reset"
    );
    let payload = [0x55, 0x66, 0x77, 0x88, 0x99];
    let before = env.core_in.len();
    assert_eq!(env.exchange(&request_frame(&payload)), Env::good());
    assert_eq!(env.core_in[before..], payload);
}

#[test]
fn shell_link_overrun_keeps_core_in_step() {
    // 12 payload bytes while the core takes nothing: the 8-byte FIFO overflows, 4 bytes are
    // lost and made up with zeros at the end of the payload.
    let mut env = Env::with_request_bytes(4, 12);
    let led_cycles = env.led_cycles;
    let payload: Vec<u8> = (0x31..0x3D).collect();
    env.stall = true;
    env.send(&request_frame(&payload));
    env.drain_host();
    env.run(4 * CPB);
    env.stall = false;
    env.resp_allowed = 1;
    let r = env.response();
    assert_eq!(r.status, 0x04);
    assert_eq!(r.payload, RESPONSE);
    let mut want = payload[..8].to_vec();
    want.extend([0; 4]);
    assert_eq!(env.core_in, want);
    // And the link is back in step for the next request.
    env.run(led_cycles + CPB + 4);
    let next: Vec<u8> = (0x41..0x4D).collect();
    assert_eq!(env.exchange(&request_frame(&next)), Env::good());
    assert_eq!(env.core_in[12..], next);
}

#[test]
fn shell_link_prescaled_timeout_and_led() {
    // Long enough for the slow timers to count prescaler ticks (period 4): the LED hold is
    // checked against its bounds by exchange(), the timeout still pads a cut-off request,
    // and no sooner than timeout_cycles after its last byte.
    let timeout = 3000;
    let mut env = Env::with_params(5, 5, timeout, 5000);
    assert_eq!(env.led_slack, 6);
    let payload = [7, 6, 5, 4, 3];
    assert_eq!(env.exchange(&request_frame(&payload)), Env::good());
    // No gap after the last byte: its stop bit ends when the host's queue runs out, a bit
    // after the receiver's strobe (mid stop bit), from which the timeout counts.
    for b in [0xA5, 0x42] {
        env.host_tx.extend(uart_frame(b, CPB, true));
    }
    env.drain_host();
    let idle_since = env.bench.cycles;
    while env.core_in.len() < 7 {
        env.step();
        assert!(
            env.bench.cycles - idle_since < u64::from(timeout) + 100,
            "no padding"
        );
    }
    assert!(env.bench.cycles - idle_since + CPB as u64 / 2 >= u64::from(timeout));
    env.resp_allowed = 1;
    let r = env.response();
    assert_eq!(r.status, 0x02);
    assert_eq!(env.core_in[5..], [0x42, 0, 0, 0, 0]);
}
