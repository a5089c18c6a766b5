//! Packed bit vectors: the in-memory form of binary weights and activations.
//!
//! Bit `i` lives in word `i / 64` at position `i % 64` (LSB first). This is the same order as the
//! model format's packed bytes (LSB first within each byte, bytes in order), so a little-endian
//! reinterpretation of the bytes gives the words.

/// A fixed-length vector of bits packed into `u64` words; bits past `len` are always zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitVec {
    len: usize,
    words: Vec<u64>,
}

impl BitVec {
    /// All-zero vector of `len` bits.
    pub fn zeros(len: usize) -> Self {
        BitVec {
            len,
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// Builds a vector from booleans.
    pub fn from_bools(bits: &[bool]) -> Self {
        let mut v = BitVec::zeros(bits.len());
        for (i, &b) in bits.iter().enumerate() {
            v.set(i, b);
        }
        v
    }

    /// Builds a vector from packed bytes (LSB first). Returns `None` if the byte count is not
    /// `ceil(len / 8)` or if any padding bit past `len` is set.
    pub fn from_packed_bytes(len: usize, bytes: &[u8]) -> Option<Self> {
        if bytes.len() != len.div_ceil(8) {
            return None;
        }
        let mut v = BitVec::zeros(len);
        for (i, chunk) in bytes.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            v.words[i] = u64::from_le_bytes(word);
        }
        let tail = len % 64;
        if tail != 0 {
            if let Some(last) = v.words.last() {
                if last >> tail != 0 {
                    return None;
                }
            }
        }
        Some(v)
    }

    /// The packed bytes (LSB first), `ceil(len / 8)` of them.
    pub fn to_packed_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        out.truncate(self.len.div_ceil(8));
        out
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the vector holds no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `i`.
    pub fn get(&self, i: usize) -> bool {
        assert!(i < self.len, "bit index {i} out of range {}", self.len);
        (self.words[i / 64] >> (i % 64)) & 1 == 1
    }

    /// Sets bit `i` to `b`.
    pub fn set(&mut self, i: usize, b: bool) {
        assert!(i < self.len, "bit index {i} out of range {}", self.len);
        let mask = 1u64 << (i % 64);
        if b {
            self.words[i / 64] |= mask;
        } else {
            self.words[i / 64] &= !mask;
        }
    }

    /// The packed words.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_lsb_first() {
        let bits = [
            true, false, false, false, false, false, false, false, false, true,
        ];
        let v = BitVec::from_bools(&bits);
        assert_eq!(v.to_packed_bytes(), vec![0b0000_0001, 0b0000_0010]);
        assert_eq!(BitVec::from_packed_bytes(10, &[1, 2]).unwrap(), v);
    }

    #[test]
    fn rejects_wrong_byte_count_and_dirty_padding() {
        assert!(BitVec::from_packed_bytes(10, &[1]).is_none());
        assert!(BitVec::from_packed_bytes(10, &[1, 2, 3]).is_none());
        assert!(BitVec::from_packed_bytes(10, &[1, 0b0000_0100]).is_none());
        assert!(BitVec::from_packed_bytes(64, &[0xff; 8]).is_some());
    }
}
