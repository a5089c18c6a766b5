//! A serial port opened raw (8N1, no flow control) with read timeouts: the board's USB-UART, or
//! the simulated board's pseudo-terminal.

use crate::error::LinkError;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// An open serial port.
pub struct Port {
    inner: Box<dyn serialport::SerialPort>,
    baud: u32,
}

impl Port {
    /// Opens `path` at `baud`.
    pub fn open(path: &str, baud: u32) -> Result<Self, LinkError> {
        let inner = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(50))
            .open()
            .map_err(|e| {
                LinkError::Io(format!(
                    "{path}: cannot open serial port: {e}; check the port name (ls /dev/ttyUSB* /dev/ttyACM*) and permissions (group dialout)"
                ))
            })?;
        Ok(Port { inner, baud })
    }

    /// Queues all of `bytes` for sending and returns without waiting for the line: the driver
    /// sends them behind whatever is still queued, so requests go out back to back.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.inner
            .write_all(bytes)
            .map_err(|e| LinkError::Io(format!("serial write: {e}")))
    }

    /// Reads one frame of `len` bytes that starts with `sync`, skipping bytes before the sync,
    /// within `timeout`.
    pub fn read_frame(
        &mut self,
        sync: u8,
        len: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, LinkError> {
        let start = Instant::now();
        let mut frame = Vec::with_capacity(len);
        let mut buf = [0u8; 256];
        while frame.len() < len {
            if start.elapsed() > timeout {
                return Err(LinkError::Timeout {
                    got: frame.len(),
                    want: len,
                    after: timeout,
                    baud: self.baud,
                });
            }
            let want = (len - frame.len()).min(buf.len());
            match self.inner.read(&mut buf[..want]) {
                Ok(n) => {
                    for &b in &buf[..n] {
                        if frame.is_empty() && b != sync {
                            continue;
                        }
                        frame.push(b);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LinkError::Io(format!("serial read: {e}"))),
            }
        }
        Ok(frame)
    }
}
