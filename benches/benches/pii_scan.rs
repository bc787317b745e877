//! pii-scan benchmarks, each against a baseline in the same run:
//! - throughput on 64 MiB of mixed text (English with accents, CJK, emoji;
//!   one piece of PII every ~4 KiB), one core, vs a `memchr` scan for `@` and
//!   ASCII digits (the least work any PII scanner must do; target: >= 200 MB/s);
//! - PII-dense text (one finding per ~170 bytes; target >= 100 MB/s) and
//!   text without PII (target >= 300 MB/s), 8 MiB each, vs the same baseline;
//! - pathological inputs (URLs every 15 bytes, a long run of closing
//!   brackets after a URL, dotted digit runs), which must stay linear (in
//!   `pii-scan ratios`, the URL text also through `scan_reader`, the stream
//!   path of the `pii-scan` command);
//! - building a scanner with a 20,000-entry deny list;
//! - building a scanner (every recognizer, and the journal's warning set;
//!   and the journal's build plus its first scan of a short entry, which
//!   compiles the regexes the entry needs), vs compiling one simple regex
//!   (`\b\d{3}-\d{4}\b`, `regex_automata::meta`); the first build in a
//!   fresh process is `cargo run --release -p pii-scan --example build_cost`;
//! - one 2 KiB journal entry (latency), vs the same baseline on that entry.
//!
//! Besides criterion's groups (which run one after the other, under
//! whatever load the machine has then), `pii-scan ratios` prints each
//! case's median time as a ratio to the baseline's, the two timed call by
//! call in turn (`benches::interleaved_medians`), and MB/s.
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

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use pii_scan::{EntityType, Scanner};

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
/// `every` bytes; the words between them include times ("7pm"), which
/// are findings too.
fn mixed_text(len: usize, every: usize, seed: u64) -> String {
    planted_text(len, every, seed, WORDS)
}

/// Deterministic text of at least `len` bytes: one PII value every `every`
/// bytes, `words` between them.
fn planted_text(len: usize, every: usize, seed: u64, words: &[&str]) -> String {
    planted_values(len, every, seed, PII, words)
}

/// Deterministic text of at least `len` bytes: one of `values` every
/// `every` bytes, `words` between them.
fn planted_values(len: usize, every: usize, seed: u64, values: &[&str], words: &[&str]) -> String {
    let mut s = String::with_capacity(len + 64);
    let mut x = seed | 1;
    let mut next_pii = every / 2;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pick = usize::try_from(x % 1_000_003).unwrap();
        if s.len() >= next_pii {
            s.push_str(values[pick % values.len()]);
            next_pii += every;
        } else {
            s.push_str(words[pick % words.len()]);
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

/// Text of at least `len` bytes with no PII: the words above, less the ones
/// that are PII themselves ("7pm" is a time).
fn clean_text(len: usize, seed: u64) -> String {
    let words = clean_words();
    let mut s = String::with_capacity(len + 64);
    let mut x = seed | 1;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pick = usize::try_from(x % 1_000_003).unwrap();
        s.push_str(words[pick % words.len()]);
        s.push(if pick % 17 == 0 { '.' } else { ' ' });
    }
    s
}

/// The words above that are no PII ("7pm" is a time).
fn clean_words() -> Vec<&'static str> {
    WORDS.iter().copied().filter(|w| *w != "7pm").collect()
}

/// PII-dense text as the target defines it: one finding per ~170 bytes
/// (planted values, and no times among the words between them).
fn dense_text(len: usize, seed: u64) -> String {
    planted_text(len, DENSE_EVERY, seed, &clean_words())
}

/// Values of other kinds and forms than [`PII`] (ISO, numeric and written
/// dates in three languages, a time range, NANP and German numbers, a UK
/// NINO, a Visa debit card, German and French IBANs, an IPv6 address, a
/// long URL, an e-mail address with a tag), for a dense text that the
/// scanner's speed work was not tuned on.
const OTHER_PII: &[&str] = &[
    "2021-03-04",
    "12/05/2020",
    "call 555-123-4567",
    "AB123456C",
    "https://www.example.com/path/to/page.html",
    "john.smith+tag@mail.example.co.uk",
    "5. März 2021",
    "10:30 am",
    "DE89 3704 0044 0532 0130 00",
    "fe80::1ff:fe23:4567:890a",
    "+49 30 901820",
    "4000 0566 5566 5556",
    "the 3rd of May",
    "5 Oct 2022",
    "FR14 2004 1010 0505 0001 3M02 606",
    "Mar 3-5",
    "14:30",
];

/// Journal-like words without PII: another mix than [`WORDS`] (18 of these
/// 32 are among those too), with other numbers ("17", "2019").
const OTHER_WORDS: &[&str] = &[
    "journal",
    "entry",
    "today",
    "walked",
    "to",
    "café",
    "naïve",
    "über",
    "résumé",
    "東京",
    "日本語",
    "😀",
    "about",
    "friend",
    "said",
    "later",
    "house",
    "went",
    "after",
    "lunch",
    "17",
    "we",
    "the",
    "a",
    "and",
    "with",
    "slept",
    "badly",
    "2019",
    "tired",
    "but",
    "happy",
];

/// PII-dense text of other values and words: [`OTHER_PII`] every 170
/// bytes, [`OTHER_WORDS`] between them.
fn dense_other_text(len: usize, seed: u64) -> String {
    planted_values(len, DENSE_EVERY, seed, OTHER_PII, OTHER_WORDS)
}

/// Dense text: one planted value every 170 bytes (in `dense-170B` the
/// words between them add times: one finding per ~116 bytes).
const DENSE_EVERY: usize = 170;
const MID: usize = 8 << 20;

fn dense_and_clean(c: &mut Criterion) {
    let scanner = Scanner::new();
    let dense = mixed_text(MID, DENSE_EVERY, 0x51_7C_C1_B7);
    let one_in_170 = dense_text(MID, 0x51_7C_C1_B7);
    let clean = clean_text(MID, 0x2545_F491);
    let planted = MID / DENSE_EVERY;
    let found = scanner.scan(&dense).len();
    assert!(found >= planted * 9 / 10, "dense: {found} of {planted}");
    let found = scanner.scan(&one_in_170).len();
    assert!(
        (planted * 9 / 10..=planted * 11 / 10).contains(&found),
        "one in 170 B: {found} of {planted}"
    );
    let found_clean = scanner.scan(&clean).len();
    assert!(found_clean < 100, "clean text: {found_clean} findings");
    let mut group = c.benchmark_group("pii-scan/dense");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(5));
    for (name, text) in [
        ("dense-170B", &dense),
        ("dense-1-in-170B", &one_in_170),
        ("no-pii", &clean),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::new("baseline-memchr", name), |b| {
            b.iter(|| baseline(black_box(text)));
        });
        group.bench_function(BenchmarkId::new("scan", name), |b| {
            b.iter(|| scanner.scan(black_box(text)));
        });
    }
    group.finish();
}

/// Inputs built to trip quadratic paths.
fn pathological_inputs() -> Vec<(&'static str, String)> {
    let mut urls = String::new();
    while urls.len() < 3 << 20 {
        urls.push_str("http://x.co/)) ");
    }
    let brackets = format!("http://x.co/{}", ")".repeat(200_000));
    let dotted = "1.".repeat(500_000);
    let digits = "4111 1111 1111 1111 ".repeat(50_000);
    vec![
        ("urls-every-15B", urls),
        ("url-200k-brackets", brackets),
        ("dotted-digits", dotted),
        ("cards-back-to-back", digits),
    ]
}

fn pathological(c: &mut Criterion) {
    let scanner = Scanner::new();
    let mut group = c.benchmark_group("pii-scan/pathological");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(3));
    for (name, text) in pathological_inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::new("baseline-memchr", name), |b| {
            b.iter(|| baseline(black_box(&text)));
        });
        group.bench_function(BenchmarkId::new("scan", name), |b| {
            b.iter(|| scanner.scan(black_box(&text)));
        });
    }
    group.finish();
}

/// The words of a 20,000-entry deny list.
fn deny_words() -> Vec<String> {
    (0..20_000u32)
        .map(|i| format!("codename{i:05}x{}", i.wrapping_mul(2_654_435_761) % 997))
        .collect()
}

fn deny_list(c: &mut Criterion) {
    let words = deny_words();
    let mut group = c.benchmark_group("pii-scan/deny-list");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("baseline-default-build", |b| b.iter(Scanner::new));
    group.bench_function("build-20000-words", |b| {
        b.iter(|| {
            Scanner::builder()
                .deny(
                    EntityType::custom("CODENAME").unwrap(),
                    words.iter().cloned(),
                )
                .build()
                .unwrap()
        });
    });
    group.finish();
}

/// A short journal entry with a phone number and an e-mail address.
const SHORT_ENTRY: &str = "Met Ann today, her number is (415) 555-0132 and mail ann@example.com.";

/// A scanner of the journal's default warning set, taken from the app
/// (`journal::settings::DEFAULT_PII_WARN`) so that it never drifts.
fn journal_scanner() -> Scanner {
    Scanner::builder()
        .entities(
            journal::settings::DEFAULT_PII_WARN
                .iter()
                .map(|name| name.parse::<EntityType>().unwrap()),
        )
        .build()
        .unwrap()
}

/// The baseline of the build benches: compiling one simple regex.
fn one_regex() -> regex_automata::meta::Regex {
    regex_automata::meta::Regex::new(r"\b\d{3}-\d{4}\b").unwrap()
}

fn build(c: &mut Criterion) {
    assert_eq!(journal_scanner().scan(SHORT_ENTRY).len(), 2);
    let mut group = c.benchmark_group("pii-scan/build");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("baseline-one-regex", |b| b.iter(one_regex));
    group.bench_function("every-recognizer", |b| b.iter(Scanner::new));
    group.bench_function("journal-warn-set", |b| b.iter(journal_scanner));
    group.bench_function("journal-warn-set+first-scan", |b| {
        b.iter(|| journal_scanner().scan(black_box(SHORT_ENTRY)));
    });
    group.finish();
}

/// The texts the interleaved ratios and the findings dump share: dense,
/// clean and mixed text, then the pathological inputs.
fn bench_texts() -> Vec<(&'static str, String)> {
    let mut cases: Vec<(&str, String)> = vec![
        ("dense-170B", mixed_text(MID, DENSE_EVERY, 0x51_7C_C1_B7)),
        ("dense-1-in-170B", dense_text(MID, 0x51_7C_C1_B7)),
        ("dense-other-1-in-170B", dense_other_text(MID, 0x2545_F491)),
        ("no-pii", clean_text(MID, 0x2545_F491)),
        ("mixed-4KiB", mixed_text(MID, 4096, 0x9E37_79B9)),
    ];
    cases.extend(pathological_inputs());
    cases
}

/// Interleaved cross-check: each case's median over `rounds` calls, as a
/// ratio to the baseline's median on the same text, timed call by call.
fn ratios(_c: &mut Criterion) {
    let scanner = Scanner::new();
    let cases = bench_texts();
    let mut base = || {
        black_box(one_regex());
    };
    let mut all = || {
        black_box(Scanner::new());
    };
    let mut warn = || {
        black_box(journal_scanner());
    };
    let mut first = || {
        black_box(journal_scanner().scan(black_box(SHORT_ENTRY)));
    };
    let [b, a, w, f] =
        benches::interleaved_medians(15, &mut [&mut base, &mut all, &mut warn, &mut first]);
    for (name, t) in [
        ("every-recognizer", a),
        ("journal-warn-set", w),
        ("journal-warn-set+first-scan", f),
    ] {
        println!(
            "pii-scan ratios build {name}: {:.1}x baseline ({:.2} ms, one regex {:.3} ms)",
            t.as_secs_f64() / b.as_secs_f64(),
            t.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
        );
    }
    for (name, text) in &cases {
        let findings = scanner.scan(text).len();
        let mut base = || {
            black_box(baseline(black_box(text)));
        };
        let mut scan = || {
            black_box(scanner.scan(black_box(text)));
        };
        let [b, s] = benches::interleaved_medians(9, &mut [&mut base, &mut scan]);
        let mbs = text.len() as f64 / s.as_secs_f64() / 1e6;
        let us_per_finding = if findings == 0 {
            0.0
        } else {
            s.as_secs_f64() * 1e6 / findings as f64
        };
        println!(
            "pii-scan ratios {name}: {:.1}x baseline ({mbs:.0} MB/s, baseline {:.0} MB/s, {findings} findings, {us_per_finding:.2} us each)",
            s.as_secs_f64() / b.as_secs_f64(),
            text.len() as f64 / b.as_secs_f64() / 1e6,
        );
    }
    // The stream path (what the `pii-scan` command runs on a file: 1 MiB
    // chunks), on the text with the most findings per chunk: it must stay
    // linear in the findings of a chunk, as `scan` does.
    let (name, text) = cases
        .iter()
        .find(|(name, _)| *name == "urls-every-15B")
        .unwrap();
    let mut base = || {
        black_box(baseline(black_box(text)));
    };
    let mut stream = || {
        let mut n = 0usize;
        scanner
            .scan_reader(black_box(text.as_bytes()), 1 << 20, |_, _| n += 1)
            .unwrap();
        black_box(n);
    };
    let [b, s] = benches::interleaved_medians(5, &mut [&mut base, &mut stream]);
    println!(
        "pii-scan ratios {name} (scan_reader, 1 MiB chunks): {:.1}x baseline ({:.0} MB/s)",
        s.as_secs_f64() / b.as_secs_f64(),
        text.len() as f64 / s.as_secs_f64() / 1e6,
    );
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

criterion_group!(
    benches,
    ratios,
    dense_and_clean,
    pathological,
    deny_list,
    build,
    throughput,
    latency
);

/// `PII_SCAN_PROFILE=dense|dense-1-in-170|dense-other|no-pii` (or one of them after
/// `baseline-`) runs one scan (or baseline) loop over 1 MiB of that text
/// and exits, for instruction counts under `valgrind --tool=callgrind`
/// (which load on the machine does not change);
/// `PII_SCAN_PROFILE=ratios` prints only the
/// interleaved ratios; `PII_SCAN_PROFILE=findings` prints every finding
/// of the bench's texts; otherwise the criterion benches run.
fn profile(which: &str) {
    let rounds: usize = std::env::var("PII_SCAN_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let len = 1 << 20;
    let text = if which.ends_with("dense") {
        mixed_text(len, DENSE_EVERY, 0x51_7C_C1_B7)
    } else if which.ends_with("dense-1-in-170") {
        dense_text(len, 0x51_7C_C1_B7)
    } else if which.ends_with("dense-other") {
        dense_other_text(len, 0x2545_F491)
    } else {
        clean_text(len, 0x2545_F491)
    };
    let scanner = Scanner::new();
    // One untimed round first: lazy DFA states and phone plans are built
    // on first use.
    black_box(scanner.scan(black_box(&text)));
    let start = Instant::now();
    let n = profile_rounds(which, rounds, &scanner, &text);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{which}: {n} ({:.0} MB/s over {rounds} rounds)",
        (text.len() * rounds) as f64 / secs / 1e6
    );
}

/// The measured loop (`valgrind --tool=callgrind --collect-atstart=no
/// --toggle-collect='*profile_rounds*'` counts only this).
#[inline(never)]
fn profile_rounds(which: &str, rounds: usize, scanner: &Scanner, text: &str) -> usize {
    let mut n = 0;
    for _ in 0..rounds {
        n = if which.starts_with("baseline") {
            baseline(black_box(text))
        } else {
            scanner.scan(black_box(text)).len()
        };
    }
    n
}

/// `PII_SCAN_PROFILE=findings`: prints every finding (case, entity, span,
/// score, recognizer) of the bench's texts, to compare the scanner's
/// output before and after a change that must not alter it.
fn print_findings() {
    let scanner = Scanner::new();
    let cases = bench_texts();
    for (name, text) in &cases {
        for f in scanner.scan(text) {
            println!(
                "{name} {} {} {} {:.2} {}",
                f.entity_type, f.start, f.end, f.score, f.recognizer
            );
        }
    }
}

fn main() {
    if let Ok(which) = std::env::var("PII_SCAN_PROFILE") {
        if which == "findings" {
            print_findings();
        } else if which == "ratios" {
            // Only the interleaved ratios, without criterion's groups.
            ratios(&mut Criterion::default());
        } else {
            profile(&which);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
