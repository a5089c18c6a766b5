//! The USB-UART's latency timer (Linux, FTDI bridges): how long the bridge holds received
//! bytes before it sends a short USB packet. FTDI's default is 16 ms. A board's response is
//! shorter than a USB packet, so at that default every response waits up to 16 ms in the
//! bridge, and a window of two requests carries at most about two frames per 16 ms whatever
//! the baud rate. At 1 ms the link runs close to its byte rate.
//!
//! Linux's ftdi_sio driver exposes the timer as
//! `/sys/bus/usb-serial/devices/<ttyUSBn>/latency_timer` (milliseconds), writable by root or a
//! udev rule.

use std::path::{Path, PathBuf};

/// Where Linux's usb-serial drivers list their ports.
pub const USB_SERIAL_SYSFS: &str = "/sys/bus/usb-serial/devices";

/// The latency timer the link wants, in milliseconds (the smallest FTDI allows).
pub const WANTED_MS: u32 = 1;

/// What [`lower_latency_timer`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatencyTimer {
    /// Not a usb-serial port with a latency timer (a pseudo-terminal, a CDC-ACM port, not
    /// Linux): nothing to do.
    NotApplicable,
    /// Already at [`WANTED_MS`] or below.
    Low(u32),
    /// Was higher; set to [`WANTED_MS`].
    Lowered {
        /// The value before, in milliseconds.
        from: u32,
    },
    /// Higher, and this user may not change it: the message says how.
    High {
        /// The current value, in milliseconds.
        ms: u32,
        /// The sysfs file.
        file: PathBuf,
    },
}

impl LatencyTimer {
    /// A warning for the user, when the timer stays high.
    pub fn warning(&self) -> Option<String> {
        match self {
            LatencyTimer::High { ms, file } => Some(format!(
                "the USB-UART holds each response up to {ms} ms (its latency timer), which \
                 limits the link to about {} frames/s; to lower it: echo {WANTED_MS} | sudo tee {}",
                2000 / ms.max(&1),
                file.display()
            )),
            _ => None,
        }
    }
}

/// Lowers the latency timer of serial port `port` (e.g. `/dev/ttyUSB1`) to [`WANTED_MS`] if its
/// driver has one, looking in `sysfs` (normally [`USB_SERIAL_SYSFS`]).
pub fn lower_latency_timer(port: &str, sysfs: &Path) -> LatencyTimer {
    // Follow a symlink such as /dev/serial/by-id/… to the tty's own name.
    let resolved = std::fs::canonicalize(port).unwrap_or_else(|_| PathBuf::from(port));
    let Some(tty) = resolved.file_name().and_then(|n| n.to_str()) else {
        return LatencyTimer::NotApplicable;
    };
    let file = sysfs.join(tty).join("latency_timer");
    let Some(ms) = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return LatencyTimer::NotApplicable;
    };
    if ms <= WANTED_MS {
        return LatencyTimer::Low(ms);
    }
    match std::fs::write(&file, format!("{WANTED_MS}\n")) {
        Ok(()) => LatencyTimer::Lowered { from: ms },
        Err(_) => LatencyTimer::High { ms, file },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake sysfs with `tty`'s latency timer at `ms`.
    fn sysfs(tty: &str, ms: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(tty)).unwrap();
        std::fs::write(dir.path().join(tty).join("latency_timer"), ms).unwrap();
        dir
    }

    #[test]
    fn a_high_timer_is_lowered_and_a_low_one_left() {
        let dir = sysfs("ttyUSB7", "16\n");
        let got = lower_latency_timer("/dev/ttyUSB7", dir.path());
        assert_eq!(got, LatencyTimer::Lowered { from: 16 });
        let file = dir.path().join("ttyUSB7/latency_timer");
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), "1");
        assert_eq!(
            lower_latency_timer("/dev/ttyUSB7", dir.path()),
            LatencyTimer::Low(1)
        );
        assert_eq!(LatencyTimer::Low(1).warning(), None);
    }

    #[test]
    fn ports_without_a_timer_are_left_alone() {
        let dir = sysfs("ttyUSB7", "16\n");
        assert_eq!(
            lower_latency_timer("/dev/pts/3", dir.path()),
            LatencyTimer::NotApplicable
        );
        assert_eq!(
            lower_latency_timer("/dev/ttyACM0", dir.path()),
            LatencyTimer::NotApplicable
        );
    }

    #[test]
    fn a_timer_that_cannot_be_written_is_reported_with_the_fix() {
        let high = LatencyTimer::High {
            ms: 16,
            file: PathBuf::from("/sys/bus/usb-serial/devices/ttyUSB1/latency_timer"),
        };
        let w = high.warning().unwrap();
        assert!(
            w.contains("16 ms") && w.contains("about 125 frames/s"),
            "{w}"
        );
        assert!(w.contains("echo 1 | sudo tee /sys/bus/usb-serial/devices/ttyUSB1/latency_timer"));
    }
}
