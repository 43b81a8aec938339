//! A deterministic byte generator standing in for WASI `random_get` in tests.
//!
//! Not a CSPRNG and never meant to be one: tests pin it so they can assert exact state, nonce
//! and cookie values. The filter's wasm build takes its randomness from the host's CSPRNG.

/// SplitMix64 (Steele, Lea, Flood 2014) over a 64-bit seed.
///
/// `fill` consumes one `next_u64` per started 8-byte chunk and writes it little-endian, dropping
/// the unused tail of the last word, so tests can reproduce any draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output depends only on `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `buf` with the next outputs.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // First outputs of the reference C implementation for seed 1234567.
        let mut rng = SplitMix64::new(1234567);
        let want = [
            6457827717110365317,
            3203168211198807973,
            9817491932198370423,
        ];
        for expected in want {
            assert_eq!(rng.next_u64(), expected);
        }
    }

    #[test]
    fn fill_uses_one_word_per_started_chunk() {
        let mut words = SplitMix64::new(7);
        let first = words.next_u64().to_le_bytes();
        let second = words.next_u64().to_le_bytes();
        let mut buf = [0u8; 11];
        SplitMix64::new(7).fill(&mut buf);
        assert_eq!(&buf[..8], &first);
        assert_eq!(&buf[8..], &second[..3]);
    }

    #[test]
    fn seeds_give_different_streams() {
        let (mut a, mut b) = (SplitMix64::new(1), SplitMix64::new(2));
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
