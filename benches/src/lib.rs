//! Shared helpers for the criterion benches in `benches/`.
//!
//! Every bench group pairs our code with a baseline measured in the same
//! run; `cargo xtask bench` prints the ratios. A baseline's function name
//! starts with `baseline`.

use std::path::Path;

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
