//! What decoding an ONNX file allocates, measured: the bound stated in `import::onnx` (a file
//! of L bytes whose length-delimited fields number C makes the reader allocate at most
//! 4 · MAX_STRUCT_BYTES · C + 25 · L bytes) holds for files built to make prost allocate as much
//! as possible per byte, and for a real model.
//!
//! A counting global allocator records the peak; this file has a single test so that no other
//! test allocates at the same time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use xnorc_compiler::import::onnx::{count_messages, parse_model, MAX_MESSAGES, MAX_STRUCT_BYTES};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a fresh block while the old one is still held, as a copying realloc does.
        let now = CURRENT.fetch_add(new_size, Ordering::SeqCst) + new_size;
        PEAK.fetch_max(now, Ordering::SeqCst);
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated at the peak of `f`, above what was live before it.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst) - base
}

/// The smallest cap `count_messages` accepts the file under: its count.
fn counted(bytes: &[u8]) -> usize {
    let (mut lo, mut hi) = (0, MAX_MESSAGES);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if count_messages(bytes, mid).is_ok() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
fn field(number: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    varint(number << 3 | 2, &mut out);
    varint(body.len() as u64, &mut out);
    out.extend_from_slice(body);
    out
}

/// A model whose graph holds `n` copies of the field `one`.
fn graph_of(n: usize, one: &[u8]) -> Vec<u8> {
    field(7, &one.repeat(n))
}

#[test]
fn decoding_stays_within_the_stated_bound() {
    const N: usize = 60_000;
    let empty_attribute = field(5, &[]);
    let nested_graph_attribute = {
        // attribute { graphs { node { attribute { graphs { node { ... } } } } } }, 12 deep.
        let mut inner = Vec::new();
        for _ in 0..12 {
            inner = field(5, &field(11, &field(1, &inner)));
        }
        inner
    };
    let packed_dims = {
        // One initializer with a packed run of N one-byte dims.
        field(7, &field(5, &field(1, &[1; N])))
    };
    let fixture = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/qonnx/tfc_mnist.onnx"),
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty nodes", graph_of(N, &field(1, &[]))),
        (
            "nodes with one empty attribute",
            graph_of(N, &field(1, &empty_attribute)),
        ),
        (
            "nodes with one attribute holding one empty tensor",
            graph_of(N, &field(1, &field(5, &field(10, &[])))),
        ),
        (
            "nodes with one attribute holding an empty subgraph",
            graph_of(N, &field(1, &field(5, &field(6, &[])))),
        ),
        (
            "nodes with one empty input name",
            graph_of(N, &field(1, &field(1, &[]))),
        ),
        ("empty initializers", graph_of(N, &field(5, &[]))),
        (
            "nested subgraph attributes",
            graph_of(N / 40, &field(1, &nested_graph_attribute)),
        ),
        ("a packed run of one-byte dims", packed_dims),
        ("tfc_mnist.onnx", fixture),
    ];
    for (name, bytes) in cases {
        let len = bytes.len();
        let count = counted(&bytes);
        let peak = peak_of(|| {
            let model = parse_model(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            drop(model);
        });
        let bound = 4 * MAX_STRUCT_BYTES * count + 25 * len;
        println!(
            "{name}: {len} bytes, {count} counted, peak {peak} bytes ({:.0} per byte, {:.0} per \
             counted field), bound {bound}",
            peak as f64 / len as f64,
            peak as f64 / count.max(1) as f64
        );
        assert!(peak <= bound, "{name}: peak {peak} > bound {bound}");
    }
}
