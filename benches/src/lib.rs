//! Shared helpers for the criterion benches in `benches/`.
//!
//! Every bench group pairs our code with a baseline measured in the same
//! run; `cargo xtask bench` prints the ratios. A baseline's function name
//! starts with `baseline`.

use std::path::Path;
use std::time::{Duration, Instant};

/// Writes `len` bytes of a fixed non-zero pattern to `path`, unbuffered
/// work done outside the timed region of a bench.
///
/// # Errors
/// Any I/O error from writing the file.
pub fn write_pattern_file(path: &Path, len: usize) -> std::io::Result<()> {
    use std::io::Write;
    let chunk: Vec<u8> = (0..1u32 << 20)
        .map(|i| u8::try_from(i % 251).unwrap_or(0) ^ 0x5a)
        .collect();
    let mut file = std::fs::File::create(path)?;
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n])?;
        left -= n;
    }
    file.sync_all()
}

/// Runs each of `steps` once per round, in order, for `rounds` rounds, and
/// returns each step's median time. Alternating call by call puts our code
/// and its baseline under the same load; on a shared machine the load (and
/// the disk's `fdatasync` time) drifts too much between two criterion
/// groups measured one after the other.
pub fn interleaved_medians<const N: usize>(
    rounds: usize,
    steps: &mut [&mut dyn FnMut(); N],
) -> [Duration; N] {
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(rounds));
    for _ in 0..rounds {
        for (step, t) in steps.iter_mut().zip(&mut times) {
            let start = Instant::now();
            step();
            t.push(start.elapsed());
        }
    }
    times.map(|mut v| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or_default()
    })
}
