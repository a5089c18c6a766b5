//! Loads a page in headless Chromium (Debian's `chromium`, installed by `make setup`): what
//! its console said, the DOM after parsing, and a screenshot.

use std::path::Path;
use std::process::Command;

/// What Chromium made of a page.
pub struct Loaded {
    /// Console lines (`CONSOLE` entries of Chromium's log): errors, failed loads, messages.
    pub console: Vec<String>,
    /// The DOM as serialized after loading.
    pub dom: String,
    /// Screenshot pixels, row by row, `channels` bytes each.
    pub pixels: Vec<u8>,
    /// Bytes per pixel (3: RGB, 4: RGBA).
    pub channels: usize,
    /// Screenshot width.
    pub width: usize,
}

/// Flags for a headless run as root in a container: no sandbox, no GPU, no first-run work.
const FLAGS: [&str; 5] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
];

/// Loads `page` (a file) and returns the console, the DOM and a `width`×`height` screenshot.
pub fn load(page: &Path, width: usize, height: usize) -> Loaded {
    super::require_tool("chromium");
    let browser = "chromium";
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let shot = page.with_extension("png");
    let out = Command::new(browser)
        .args(FLAGS)
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Failed to load"))
        .map(str::to_string)
        .collect();
    let dom = Command::new(browser)
        .args(FLAGS)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(dom.status.success());
    let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("a screenshot"));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("PNG pixels");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{info:?}");
    pixels.truncate(info.buffer_size());
    Loaded {
        console,
        dom: String::from_utf8_lossy(&dom.stdout).into_owned(),
        pixels,
        channels,
        width: info.width as usize,
    }
}

impl Loaded {
    /// Share of the screenshot's pixels that are not near-white.
    pub fn inked(&self) -> f64 {
        let px: Vec<&[u8]> = self.pixels.chunks(self.channels).collect();
        let inked = px
            .iter()
            .filter(|p| p[0] < 200 || p[1] < 200 || p[2] < 200)
            .count();
        inked as f64 / px.len().max(1) as f64
    }

    /// Distinct colours in the screenshot.
    pub fn colours(&self) -> usize {
        let set: std::collections::BTreeSet<&[u8]> = self.pixels.chunks(self.channels).collect();
        set.len()
    }
}
