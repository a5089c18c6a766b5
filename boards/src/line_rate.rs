//! The host link's line rate: the fastest baud rate that both the board's USB-UART bridge can
//! generate and the FPGA's UART can time from the core clock.
//!
//! The FPGA side times each bit as a whole number of core clocks (`clocks_per_bit`), so its
//! rate is `clock / clocks_per_bit`; the bridge's rate is its base clock over a divisor from a
//! fixed set. The two must agree within [`MAX_RATE_ERROR`]: a UART receiver samples each bit
//! near its middle, timed from the start bit's edge, so by the stop bit (9.5 bits later) a
//! relative rate error `e` has moved the sample by `9.5 e` bits. With at least
//! [`MIN_CLOCKS_PER_BIT`] clocks per bit the FPGA's receiver finds the start edge within 1/8
//! bit; 2% leaves 0.5 − 1/8 − 9.5 × 0.02 ≈ 0.19 bit for edge distortion on the cable (FTDI's
//! receivers sample at 16 × the rate, a 1/16-bit step, so they have more).

use crate::board::{Bridge, Uart};
use serde::Serialize;

/// Largest relative difference allowed between the bridge's rate and the FPGA's.
pub const MAX_RATE_ERROR: f64 = 0.02;

/// Fewest core clocks per bit the link is built with when it picks the rate itself.
pub const MIN_CLOCKS_PER_BIT: u32 = 8;

/// Slowest rate considered when searching a bridge's rates.
const SLOWEST_BAUD: f64 = 9600.0;

/// The link's rate on one board at one core clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LineRate {
    /// The baud rate the host opens its serial port at (the bridge generates it exactly, up
    /// to this integer's rounding).
    pub baud: u32,
    /// Core clocks per bit in the FPGA's UART.
    pub clocks_per_bit: u32,
    /// The FPGA's rate (`clock / clocks_per_bit`) relative to the bridge's, minus 1.
    pub error: f64,
}

impl Bridge {
    /// The bridge's base rate: its baud rates are this over a divisor (FTDI application note
    /// AN232B-05, "Configuring FT232R, FT2232 and FT232B Baud Rates", and the FT2232H/FT232H
    /// data sheets: the Hi-Speed parts divide 120 MHz by 10, the others 48 MHz by 16).
    pub fn base_baud(self) -> f64 {
        match self {
            Bridge::Ft2232h | Bridge::Ft232h | Bridge::Ft4232h => 12_000_000.0,
            Bridge::Ft231x | Bridge::Ft230x | Bridge::Ft232r => 3_000_000.0,
        }
    }

    /// The divisors the bridge can use, smallest first: 1 and 1.5 (the two special cases),
    /// then every multiple of 1/8 from 2 (sub-integer divisors between 1 and 2 other than 1.5
    /// are not allowed).
    fn divisors() -> impl Iterator<Item = f64> {
        [1.0, 1.5]
            .into_iter()
            .chain((16u32..).map(|eighths| f64::from(eighths) / 8.0))
    }

    /// The rates the bridge can generate, fastest first, down to 9600 baud.
    pub fn rates(self) -> impl Iterator<Item = f64> {
        let base = self.base_baud();
        Self::divisors()
            .map(move |d| base / d)
            .take_while(|&b| b >= SLOWEST_BAUD)
    }
}

/// How a core clock times `baud`: the nearest whole number of clocks per bit, and the error.
fn timing(clock_hz: f64, baud: f64) -> (u32, f64) {
    let clocks = (clock_hz / baud).round().max(1.0);
    (clocks as u32, clock_hz / clocks / baud - 1.0)
}

/// The link's rate for `uart` at a core clock of `clock_hz`: the board file's fixed `baud`,
/// or the fastest rate its bridge can generate that the clock times within
/// [`MAX_RATE_ERROR`] with at least [`MIN_CLOCKS_PER_BIT`] clocks per bit. `Err` says why
/// none fits.
pub fn line_rate(uart: &Uart, clock_hz: f64) -> Result<LineRate, String> {
    let fits = |baud: f64| {
        let (clocks_per_bit, error) = timing(clock_hz, baud);
        (error.abs() <= MAX_RATE_ERROR).then_some(LineRate {
            baud: baud.round() as u32,
            clocks_per_bit,
            error,
        })
    };
    let mhz = clock_hz / 1e6;
    match (uart.baud, uart.bridge) {
        (Some(baud), _) => {
            let rate = fits(f64::from(baud)).ok_or_else(|| {
                let (clocks, error) = timing(clock_hz, f64::from(baud));
                format!(
                    "a {mhz:.3} MHz clock times {baud} baud as {clocks} clocks per bit, {:+.2}% \
                     off (at most ±{:.0}% works)",
                    100.0 * error,
                    100.0 * MAX_RATE_ERROR
                )
            })?;
            if rate.clocks_per_bit < 4 {
                return Err(format!(
                    "{baud} baud needs at least 4 clocks per bit: {mhz:.3} MHz is too slow"
                ));
            }
            Ok(rate)
        }
        (None, Some(bridge)) => bridge
            .rates()
            .filter(|&b| clock_hz / b >= f64::from(MIN_CLOCKS_PER_BIT) - 0.5)
            .find_map(fits)
            .ok_or_else(|| {
                format!(
                    "no rate of the {bridge} from {SLOWEST_BAUD} baud up fits a {mhz:.3} MHz clock"
                )
            }),
        (None, None) => Err("the board file gives neither uart.bridge nor uart.baud".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uart(bridge: Option<Bridge>, baud: Option<u32>) -> Uart {
        Uart {
            rx: "1".into(),
            tx: "2".into(),
            bridge,
            baud,
            via: String::new(),
        }
    }

    #[test]
    fn bridge_rates_follow_the_divisor_rules() {
        let h: Vec<f64> = Bridge::Ft2232h.rates().take(5).collect();
        assert_eq!(
            h,
            [12e6, 8e6, 6e6, 12e6 / 2.125, 12e6 / 2.25],
            "12 MHz over 1, 1.5, then eighths from 2"
        );
        let x: Vec<f64> = Bridge::Ft231x.rates().take(3).collect();
        assert_eq!(x, [3e6, 2e6, 1.5e6]);
        assert!(Bridge::Ft231x
            .rates()
            .any(|b| (b - 115_200.0).abs() / 115_200.0 < 0.002));
        assert!(Bridge::Ft231x.rates().last().unwrap() >= SLOWEST_BAUD);
    }

    #[test]
    fn the_fastest_rate_both_sides_agree_on() {
        // 45 MHz on an FT2232H: 12 M (3.75 clocks), 8 M and 6 M are below 8 clocks a bit;
        // 12 M / 2.125 = 5.647 M is 7.97 clocks, timed as 8: 0.4% slow.
        let r = line_rate(&uart(Some(Bridge::Ft2232h), None), 45e6).unwrap();
        assert_eq!((r.baud, r.clocks_per_bit), (5_647_059, 8));
        assert!((r.error - (45e6 / 8.0 / (12e6 / 2.125) - 1.0)).abs() < 1e-12);
        // 50 MHz on an FT231X: 3 M is 16.7 clocks, timed as 17: 1.96% slow, just within 2%.
        let r = line_rate(&uart(Some(Bridge::Ft231x), None), 50e6).unwrap();
        assert_eq!((r.baud, r.clocks_per_bit), (3_000_000, 17));
        // 47.25 MHz on an FT2232H: 6 M in 8 clocks is 1.56% slow. At 40 MHz 6 M would be
        // 6.7 clocks; 12 M / 2.125 = 5.647 M is 7.1, 12 M / 2.25 = 5.333 M is 7.5 (timed as 8:
        // -6.3%), 12 M / 2.375 = 5.053 M is 7.9 (timed as 8: -1.0%).
        let r = line_rate(&uart(Some(Bridge::Ft2232h), None), 47.25e6).unwrap();
        assert_eq!((r.baud, r.clocks_per_bit), (6_000_000, 8));
        let r = line_rate(&uart(Some(Bridge::Ft2232h), None), 40e6).unwrap();
        assert_eq!((r.baud, r.clocks_per_bit), (5_052_632, 8));
        // 48 MHz: 3 M is 16 clocks exactly.
        let r = line_rate(&uart(Some(Bridge::Ft231x), None), 48e6).unwrap();
        assert_eq!((r.baud, r.clocks_per_bit), (3_000_000, 16));
        // Whatever the clock, the rate is the bridge's own and the FPGA's is within 2%.
        for mhz in [12.0, 24.0, 33.3, 45.0, 63.1, 81.25, 103.6, 120.0] {
            for bridge in [Bridge::Ft2232h, Bridge::Ft231x] {
                let r = line_rate(&uart(Some(bridge), None), mhz * 1e6).unwrap();
                assert!(r.error.abs() <= MAX_RATE_ERROR, "{mhz} {bridge}");
                assert!(r.clocks_per_bit >= MIN_CLOCKS_PER_BIT, "{mhz} {bridge}");
                let fpga = mhz * 1e6 / f64::from(r.clocks_per_bit);
                assert!((fpga / f64::from(r.baud) - 1.0 - r.error).abs() < 1e-6);
                assert!(bridge.rates().any(|b| (b - f64::from(r.baud)).abs() < 0.5));
            }
        }
    }

    #[test]
    fn a_fixed_rate_is_checked_against_the_clock() {
        let r = line_rate(&uart(None, Some(115_200)), 48e6).unwrap();
        assert_eq!((r.baud, r.clocks_per_bit), (115_200, 417));
        // 1 Mbaud from 12.5 MHz: 12.5 clocks, timed as 13: off by 3.85%.
        let e = line_rate(&uart(None, Some(1_000_000)), 12.5e6).unwrap_err();
        assert!(
            e.contains("13 clocks per bit") && e.contains("-3.85%"),
            "{e}"
        );
        let e = line_rate(&uart(None, Some(3_000_000)), 6e6).unwrap_err();
        assert!(e.contains("at least 4 clocks"), "{e}");
    }
}
