//! Memory images: the hex files the library's ROMs read (`$readmemh`, one word per line, word
//! 0 first), and the bit encodings of what they hold.

/// Hex lines of words given as bits (bit i of the word = `bits[i]`).
pub fn hex_words(words: impl Iterator<Item = Vec<bool>>) -> String {
    let mut out = String::new();
    for bits in words {
        let digits = bits.len().div_ceil(4);
        let mut line = String::with_capacity(digits + 1);
        for d in (0..digits).rev() {
            let nibble = (0..4)
                .filter(|b| bits.get(d * 4 + b).copied().unwrap_or(false))
                .fold(0u8, |v, b| v | 1 << b);
            line.push(char::from_digit(nibble as u32, 16).expect("nibble"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The offset-binary bound (sign bit flipped, `a` bits, LSB first) against which an unsigned
/// `>=` of an offset-binary accumulator decides threshold `t`: acc ≥ t, or with `ge` false
/// acc ≤ t as the complement of acc ≥ t + 1.
pub fn bound_bits(t: i64, ge: bool, a: usize) -> Vec<bool> {
    let mut word = int_bits_le(if ge { t } else { t + 1 }, a);
    word[a - 1] = !word[a - 1];
    word
}

/// `value` as `width` two's complement bits, LSB first.
pub fn int_bits_le(value: i64, width: usize) -> Vec<bool> {
    (0..width).map(|i| (value >> i.min(63)) & 1 == 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_words_put_bit_zero_in_the_last_digit() {
        let words = [vec![true, false, false, false, true], vec![false; 3]];
        assert_eq!(hex_words(words.into_iter()), "11\n0\n");
    }

    #[test]
    fn bounds_are_offset_binary() {
        // 4 bits: -8..7 maps to 0..15; t = -1 → 7 (0111); ≤ 2 is ¬(≥ 3) → 3 + 8 = 11 (1011).
        assert_eq!(bound_bits(-1, true, 4), [true, true, true, false]);
        assert_eq!(bound_bits(2, false, 4), [true, true, false, true]);
    }
}
