//! A small seeded PRNG (SplitMix64). Written here rather than taken from `rand` so
//! that a seed gives the same cluster whatever crate versions are in the lock file.

/// SplitMix64: one 64-bit state word, good enough statistical quality for test data.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// Mixes a 64-bit word into a well-spread one (SplitMix64's finaliser).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream for one object: the same (seed, stream, index) always
    /// yields the same numbers, whatever order objects are generated in.
    pub fn stream(seed: u64, stream: u64, index: u64) -> Rng {
        Rng::new(mix(seed
            ^ mix(
                stream.wrapping_mul(GOLDEN_GAMMA) ^ mix(index.wrapping_add(1))
            )))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform in `0..bound` (`bound` > 0; 0 gives 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for bounds far below 2^64.
        ((self.next_u64() as u128 * bound as u128) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `len` lowercase hex digits.
    pub fn hex(&mut self, len: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(len);
        let mut word = 0u64;
        for i in 0..len {
            if i % 16 == 0 {
                word = self.next_u64();
            }
            out.push(DIGITS[(word & 0xf) as usize] as char);
            word >>= 4;
        }
        out
    }

    /// `len` characters from the alphabet Kubernetes uses for generated name suffixes.
    pub fn name_suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len).map(|_| *self.pick(ALPHABET) as char).collect()
    }

    /// A version-4 style UUID.
    pub fn uuid(&mut self) -> String {
        let digits = self.hex(32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &digits[0..8],
            &digits[8..12],
            &digits[13..16],
            ["8", "9", "a", "b"][(self.below(4)) as usize],
            &digits[17..20],
            &digits[20..32]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut one = Rng::stream(7, 1, 0);
        let mut two = Rng::stream(7, 1, 1);
        assert_ne!(one.next_u64(), two.next_u64());
    }

    #[test]
    fn bounds_hold() {
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            assert!(rng.below(7) < 7);
            let v = rng.range(2, 4);
            assert!((2..=4).contains(&v));
        }
        let uuid = rng.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }
}
