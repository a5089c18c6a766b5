//! CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0; check value of
//! ASCII "123456789" = 0x29B1): the bit-serial hardware block both framers use. The host side
//! computes the same CRC with the `crc` crate (crate `xnorc-host`).

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

/// Generator polynomial (x^16 + x^12 + x^5 + 1, the x^16 term implied).
pub const CRC16_POLY: u16 = 0x1021;
/// Register value before the first byte.
pub const CRC16_INIT: u16 = 0xFFFF;

/// Bit-serial CRC-16/CCITT-FALSE engine: one message bit per clock, so a byte takes 8 cycles.
///
/// UART bytes arrive at most every 40 cycles (10 bits of at least 4 clocks), so a serial
/// engine always finishes long before the next byte, at a fraction of a parallel one's LUTs.
///
/// - `clear` (priority over `start`) loads the initial value 0xFFFF and abandons a byte.
/// - `start` takes `data` (MSB first, as the CRC is not reflected); only raise it while `busy`
///   is low.
/// - `crc` is the CRC of every byte taken since the last `clear` once `busy` is low.
///
/// The bits still to shift are a run of ones in `pending` (8 after `start`, one fewer each
/// cycle) and `busy` is its lowest bit, so every flip-flop's next value is a single small
/// LUT (no enables to decode) and the engine is idle (all zero) at configuration.
#[derive(LogicBlock)]
pub struct Crc16 {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Restart with the initial value (synchronous).
    pub clear: Signal<In, Bit>,
    /// Take `data` this cycle.
    pub start: Signal<In, Bit>,
    /// Byte to add to the CRC.
    pub data: Signal<In, Bits<8>>,
    /// Current CRC register.
    pub crc: Signal<Out, Bits<16>>,
    /// A byte is still being shifted in.
    pub busy: Signal<Out, Bit>,
    // Starts at 0xFFFF at configuration too, so the block is usable without a first clear.
    value: DFFWithInit<Bits<16>>,
    shift: DFF<Bits<8>>,
    /// One 1 per message bit still to shift, from the bottom.
    pending: DFF<Bits<8>>,
    poly: Constant<Bits<16>>,
    init: Constant<Bits<16>>,
    all_pending: Constant<Bits<8>>,
    none_pending: Constant<Bits<8>>,
}

impl Default for Crc16 {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            clear: Default::default(),
            start: Default::default(),
            data: Default::default(),
            crc: Default::default(),
            busy: Default::default(),
            value: DFFWithInit::new(u64::from(CRC16_INIT).into()),
            shift: Default::default(),
            pending: Default::default(),
            poly: Constant::new(u64::from(CRC16_POLY).into()),
            init: Constant::new(u64::from(CRC16_INIT).into()),
            all_pending: Constant::new(0xFFu64.into()),
            none_pending: Constant::new(0u64.into()),
        }
    }
}

impl Logic for Crc16 {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, value, shift, pending);
        self.crc.next = self.value.q.val();
        self.busy.next = self.pending.q.val().get_bit(0);
        if self.pending.q.val().get_bit(0) {
            // Shift one message bit (MSB first) through the register.
            if self.value.q.val().get_bit(15) ^ self.shift.q.val().get_bit(7) {
                self.value.d.next = (self.value.q.val() << 1) ^ self.poly.val();
            } else {
                self.value.d.next = self.value.q.val() << 1;
            }
        }
        // Unconditional: the shift register only matters while busy.
        self.shift.d.next = self.shift.q.val() << 1;
        self.pending.d.next = self.pending.q.val() >> 1;
        if self.start.val() {
            self.shift.d.next = self.data.val();
            self.pending.d.next = self.all_pending.val();
        }
        if self.clear.val() {
            self.value.d.next = self.init.val();
            self.pending.d.next = self.none_pending.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{Bench, Rng};

    /// The host's CRC (the `crc` crate's CRC-16/IBM-3740, which is CCITT-FALSE).
    fn crc16_ccitt_false(bytes: &[u8]) -> u16 {
        crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740).checksum(bytes)
    }

    /// Reference written from the definition, independent of the crc crate: feed each
    /// message bit MSB first into the top of the register.
    fn naive_crc(bytes: &[u8]) -> u16 {
        let mut crc: u16 = 0xFFFF;
        for &b in bytes {
            for i in (0..8).rev() {
                let bit = (b >> i) & 1 == 1;
                let top = crc & 0x8000 != 0;
                crc <<= 1;
                if bit != top {
                    crc ^= 0x1021;
                }
            }
        }
        crc
    }

    #[test]
    fn shell_crc_check_value() {
        assert_eq!(naive_crc(b"123456789"), 0x29B1);
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
        assert_eq!(crc16_ccitt_false(&[]), 0xFFFF);
    }

    #[test]
    fn shell_crc_matches_naive_and_residue_is_zero() {
        let mut rng = Rng::new(7);
        for len in 0..64 {
            let msg: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            let crc = crc16_ccitt_false(&msg);
            assert_eq!(crc, naive_crc(&msg), "message {msg:02x?}");
            let mut framed = msg.clone();
            framed.extend_from_slice(&crc.to_be_bytes());
            assert_eq!(crc16_ccitt_false(&framed), 0);
        }
    }

    /// Runs `msg` through the hardware block with `gap` idle cycles between bytes and returns
    /// its result; `clear` first, as the framers do.
    fn hw_crc(bench: &mut Bench<Crc16>, msg: &[u8], gap: usize) -> u16 {
        bench.uut.clear.next = true;
        bench.tick();
        bench.uut.clear.next = false;
        for &b in msg {
            assert!(!bench.uut.busy.val(), "busy before a byte");
            bench.uut.start.next = true;
            bench.uut.data.next = u64::from(b).into();
            bench.tick();
            bench.uut.start.next = false;
            for _ in 0..gap {
                bench.tick();
            }
        }
        for _ in 0..8 {
            bench.tick();
        }
        assert!(!bench.uut.busy.val());
        bench.uut.crc.val().to_u16()
    }

    #[test]
    fn shell_crc_block_matches_reference() {
        let mut bench = Bench::new(Crc16::default());
        // A fresh block starts from the initial value without a clear.
        assert_eq!(bench.uut.crc.val().to_u16(), 0xFFFF);
        assert_eq!(hw_crc(&mut bench, b"123456789", 8), 0x29B1);
        let mut rng = Rng::new(11);
        for len in [0usize, 1, 2, 5, 17] {
            let msg: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            let gap = 8 + rng.below(5) as usize;
            assert_eq!(hw_crc(&mut bench, &msg, gap), naive_crc(&msg), "{msg:02x?}");
        }
    }

    #[test]
    fn shell_crc_block_busy_for_eight_cycles() {
        let mut bench = Bench::new(Crc16::default());
        bench.uut.start.next = true;
        bench.uut.data.next = 0x31u64.into();
        bench.tick();
        bench.uut.start.next = false;
        let mut busy = 0;
        while bench.uut.busy.val() {
            bench.tick();
            busy += 1;
            assert!(busy <= 8);
        }
        assert_eq!(busy, 8);
        assert_eq!(bench.uut.crc.val().to_u16(), naive_crc(b"1"));
    }
}
