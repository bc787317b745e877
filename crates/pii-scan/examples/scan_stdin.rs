//! Scans standard input and prints each finding: `cargo run --example scan_stdin < file.txt`.
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let scanner = pii_scan::Scanner::new();
    for f in scanner.scan(&text) {
        println!(
            "{:<26} {:>6}..{:<6} {:.2}  {}",
            f.entity_type,
            f.start,
            f.end,
            f.score,
            f.text(&text).unwrap_or("")
        );
    }
    Ok(())
}
