//! A seeded random number generator and the byte-level mutations the
//! driver stacks on corpus entries: bit flips, interesting bytes, inserted
//! and deleted runs, duplicated runs, dictionary tokens, and splices of two
//! entries. Everything is deterministic for a given seed.

/// A small, fast, seeded generator (SplitMix64): the same seed gives the same
/// inputs on every machine, so that a failure found in CI replays by hand.
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        (self.next() % bound as u64) as usize
    }

    /// True `numerator` times in `denominator`.
    pub fn chance(&mut self, numerator: usize, denominator: usize) -> bool {
        self.below(denominator) < numerator
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A size skewed towards small values, at most `most`: most mutations
    /// touch a few bytes, a few touch many.
    pub fn size(&mut self, most: usize) -> usize {
        let magnitude = self.below(usize::BITS as usize - most.leading_zeros() as usize + 1);
        let bound = (1usize << magnitude).min(most.max(1));
        1 + self.below(bound)
    }
}

/// Bytes that often sit on a boundary of a reader's logic.
const INTERESTING_BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b'\t', b' ', b'"', b'\'', b'\\', b'{', b'}', b'[', b']',
    b':', b',', b'-', b'#', b'&', b'*', b'!', b'|', b'>', b'%', b'@', b'`', b'0', b'9', b'.',
];

/// Numbers written as text that often sit on a boundary.
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "-0",
    "1e309",
    "-1e309",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "4294967296",
    "0.000000000000000000001",
    "1E400",
    "0x7fffffffffffffff",
    "0o777",
    "NaN",
    ".inf",
    "1_000",
];

/// Applies one to four random mutations to `input`. `dictionary` holds the
/// target's tokens; `corpus` is what a splice can take from. The result is
/// at most `max_len` bytes.
pub fn mutate(
    rng: &mut Rng,
    input: &[u8],
    dictionary: &[&[u8]],
    corpus: &[Vec<u8>],
    max_len: usize,
) -> Vec<u8> {
    let mut output = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        mutate_once(rng, &mut output, dictionary, corpus);
        output.truncate(max_len);
    }
    output
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, dictionary: &[&[u8]], corpus: &[Vec<u8>]) {
    match rng.below(12) {
        0 if !data.is_empty() => {
            let at = rng.below(data.len());
            data[at] ^= 1 << rng.below(8);
        }
        1 if !data.is_empty() => {
            let at = rng.below(data.len());
            data[at] = *rng.pick(INTERESTING_BYTES);
        }
        2 => {
            let at = rng.below(data.len() + 1);
            let count = rng.size(16);
            let bytes: Vec<u8> = (0..count).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        3 if !data.is_empty() => {
            let at = rng.below(data.len());
            let count = rng.size(data.len() - at);
            data.drain(at..at + count);
        }
        4 if !data.is_empty() => {
            // Repeats a run in place: deepens nesting, lengthens lists.
            let at = rng.below(data.len());
            let count = rng.size((data.len() - at).min(64));
            let run = data[at..at + count].to_vec();
            let times = rng.size(64);
            let repeated: Vec<u8> = run
                .iter()
                .copied()
                .cycle()
                .take(run.len() * times)
                .collect();
            data.splice(at..at, repeated);
        }
        5 if !data.is_empty() => {
            // Copies a run elsewhere in the same input.
            let from = rng.below(data.len());
            let count = rng.size(data.len() - from);
            let run = data[from..from + count].to_vec();
            let to = rng.below(data.len() + 1);
            data.splice(to..to, run);
        }
        6 | 7 if !dictionary.is_empty() => {
            let at = boundary(rng, data);
            let token = rng.pick(dictionary).to_vec();
            data.splice(at..at, token);
        }
        8 if !dictionary.is_empty() && !data.is_empty() => {
            // Replaces a run with a token.
            let at = rng.below(data.len());
            let count = rng.size((data.len() - at).min(16));
            let token = rng.pick(dictionary).to_vec();
            data.splice(at..at + count, token);
        }
        9 if !corpus.is_empty() => {
            // Splices: the start of this input, the end of another.
            let other = rng.pick(corpus);
            let cut = rng.below(data.len() + 1);
            let other_cut = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[other_cut..]);
        }
        10 if !corpus.is_empty() => {
            // Inserts a run of another input.
            let other = rng.pick(corpus);
            if !other.is_empty() {
                let from = rng.below(other.len());
                let count = rng.size(other.len() - from);
                let at = boundary(rng, data);
                data.splice(at..at, other[from..from + count].iter().copied());
            }
        }
        _ => {
            // Replaces a number, or puts one in.
            let number = rng.pick(INTERESTING_NUMBERS).as_bytes().to_vec();
            match digit_run(rng, data) {
                Some((start, end)) => {
                    data.splice(start..end, number);
                }
                None => {
                    let at = boundary(rng, data);
                    data.splice(at..at, number);
                }
            }
        }
    }
}

/// A position, preferably just after a space, a newline or punctuation, so
/// that inserted tokens tend to land where a token may start.
fn boundary(rng: &mut Rng, data: &[u8]) -> usize {
    let at = rng.below(data.len() + 1);
    let found = data[at..]
        .iter()
        .position(|byte| matches!(byte, b' ' | b'\n' | b'(' | b'[' | b'{' | b',' | b':'));
    match found {
        Some(offset) if offset < 64 => at + offset + 1,
        _ => at,
    }
}

/// The digits around a random position, if there are any nearby.
fn digit_run(rng: &mut Rng, data: &[u8]) -> Option<(usize, usize)> {
    if data.is_empty() {
        return None;
    }
    let at = rng.below(data.len());
    let start = at + data[at..].iter().take(256).position(u8::is_ascii_digit)?;
    let length = data[start..]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    Some((start, start + length))
}

/// A 64-bit FNV-1a hash: names crash files after their content, and
/// summarizes an outcome for the corpus's novelty test.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |state, byte| {
        (state ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
