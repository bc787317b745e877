//! pii-scan benchmarks, each against a baseline in the same run:
//! - throughput on 64 MiB of mixed text (English with accents, CJK, emoji;
//!   one piece of PII every ~4 KiB), one core, vs a `memchr` scan for `@` and
//!   ASCII digits (the least work any PII scanner must do; target: >= 200 MB/s);
//! - one 2 KiB journal entry (latency), vs the same baseline on that entry.
//!
//! The 2 KiB latency distribution (median, p99 over 20,000 single scans) is
//! also written to `target/criterion/pii-scan-latency.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use pii_scan::Scanner;

const BIG: usize = 64 << 20;
const ENTRY: usize = 2048;

const WORDS: &[&str] = &[
    "the",
    "journal",
    "entry",
    "today",
    "we",
    "walked",
    "to",
    "the",
    "café",
    "naïve",
    "über",
    "résumé",
    "東京",
    "日本語",
    "😀",
    "meeting",
    "about",
    "project",
    "and",
    "then",
    "42",
    "people",
    "🎉",
    "Zürich",
    "señor",
    "with",
    "a",
    "long",
    "conversation",
    "on",
    "2024",
    "plans",
    "ok",
    "river",
    "morning",
    "coffee",
    "3",
    "books",
    "weather",
    "Привет",
    "مرحبا",
    "🙂",
    "was",
    "it",
    "good",
    "quiet",
    "friends",
    "dinner",
    "at",
    "7pm",
];

const PII: &[&str] = &[
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "(415) 555-0132",
    "192.168.10.20",
    "GB82 WEST 1234 5698 7654 32",
    "SSN 536-90-4399",
    "https://example.org/a?b=c",
    "January 5, 2021",
    "00:1A:2B:3C:4D:5E",
    "+44 20 7946 0958",
];

/// Deterministic mixed text of at least `len` bytes with one PII value every
/// `every` bytes.
fn mixed_text(len: usize, every: usize, seed: u64) -> String {
    let mut s = String::with_capacity(len + 64);
    let mut x = seed | 1;
    let mut next_pii = every / 2;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pick = usize::try_from(x % 1_000_003).unwrap();
        if s.len() >= next_pii {
            s.push_str(PII[pick % PII.len()]);
            next_pii += every;
        } else {
            s.push_str(WORDS[pick % WORDS.len()]);
        }
        s.push(match pick % 17 {
            0 => '.',
            1 => ',',
            2 => '\n',
            _ => ' ',
        });
    }
    s
}

/// The baseline: find every `@` (memchr) and count ASCII digits (a
/// vectorized byte loop) — one pass over the text, no matching at all.
fn baseline(text: &str) -> usize {
    let at = memchr::memchr_iter(b'@', text.as_bytes()).count();
    let digits = text
        .as_bytes()
        .iter()
        .filter(|b| b.is_ascii_digit())
        .count();
    at + digits
}

fn throughput(c: &mut Criterion) {
    let scanner = Scanner::new();
    let text = mixed_text(BIG, 4096, 0x9E37_79B9_7F4A_7C15);
    assert!(!text.is_ascii());
    let found = scanner.scan(&text).len();
    assert!(
        found >= BIG / 4096 * 9 / 10,
        "the scanner should find the planted PII ({found})"
    );
    let mut group = c.benchmark_group("pii-scan/throughput");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(text.len() as u64));
    let size = "64MiB-mixed";
    group.bench_function(BenchmarkId::new("baseline-memchr", size), |b| {
        b.iter(|| baseline(black_box(&text)));
    });
    group.bench_function(BenchmarkId::new("scan", size), |b| {
        b.iter(|| scanner.scan(black_box(&text)));
    });
    group.finish();
}

fn latency(c: &mut Criterion) {
    let scanner = Scanner::new();
    let entries: Vec<String> = (0..64)
        .map(|i| {
            let mut e = mixed_text(ENTRY, 700, 0x1234_5678 + i);
            let mut cut = ENTRY;
            while !e.is_char_boundary(cut) {
                cut -= 1;
            }
            e.truncate(cut);
            e
        })
        .collect();
    let mut group = c.benchmark_group("pii-scan/entry");
    group.sample_size(50);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Bytes(ENTRY as u64));
    let size = "2KiB";
    let mut i = 0usize;
    group.bench_function(BenchmarkId::new("baseline-memchr", size), |b| {
        b.iter(|| {
            i = (i + 1) % entries.len();
            baseline(black_box(&entries[i]))
        });
    });
    group.bench_function(BenchmarkId::new("scan", size), |b| {
        b.iter(|| {
            i = (i + 1) % entries.len();
            scanner.scan(black_box(&entries[i]))
        });
    });
    group.finish();

    // The distribution of single scans, for the median and p99.
    let mut samples: Vec<Duration> = (0..20_000)
        .map(|k| {
            let e = &entries[k % entries.len()];
            let t = Instant::now();
            black_box(scanner.scan(black_box(e)));
            t.elapsed()
        })
        .collect();
    samples.sort_unstable();
    // Nearest-rank percentile: index = (n - 1) * pct / 100.
    let q = |pct: usize| samples[(samples.len() - 1) * pct / 100].as_secs_f64() * 1e6;
    let (median, p99) = (q(50), q(99));
    println!("pii-scan 2 KiB entry latency: median {median:.1} us, p99 {p99:.1} us (20,000 scans)");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        std::path::PathBuf::from,
    );
    let dir = target.join("criterion");
    if std::fs::create_dir_all(&dir).is_ok() {
        let json =
            format!("{{\"median_us\": {median:.2}, \"p99_us\": {p99:.2}, \"scans\": 20000}}\n");
        let _ = std::fs::write(dir.join("pii-scan-latency.json"), json);
    }
}

criterion_group!(benches, throughput, latency);
criterion_main!(benches);
