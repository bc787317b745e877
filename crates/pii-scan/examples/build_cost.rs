//! How long building a scanner takes, against a baseline measured in the
//! same process: compiling one simple regex (`\b\d{3}-\d{4}\b`).
//!
//! ```text
//! cargo run --release -p pii-scan --example build_cost [first]
//! ```
//!
//! It times the first build in a fresh process (what a command-line
//! program such as `journal add` pays, lazily loaded data included) and
//! the scans of a short entry with a phone number in it. Repeated builds
//! (every built-in recognizer, the journal's warning set, and a build with
//! its first scan) are criterion's `pii-scan/build` group and the
//! `pii-scan ratios build` lines of `benches/benches/pii_scan.rs`, not
//! repeated here. With `DB_FIRST=1`, it also times loading the `phonenumber` crate's
//! database, which building a scanner did before 0.1.0's lazy plans (the
//! table in `src/phone_plans.txt` replaced it).
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use pii_scan::{EntityType, Scanner};
use regex_automata::meta::Regex;

/// The journal's default warning set (apps/journal settings).
const WARN: &[EntityType] = &[
    EntityType::CreditCard,
    EntityType::IbanCode,
    EntityType::UsBankNumber,
    EntityType::AbaRoutingNumber,
    EntityType::UsSsn,
    EntityType::UsItin,
    EntityType::UkNhs,
    EntityType::UkNino,
    EntityType::EsNif,
    EntityType::EsNie,
    EntityType::ItFiscalCode,
    EntityType::PlPesel,
    EntityType::FiPersonalIdentityCode,
    EntityType::UsPassport,
    EntityType::UsDriverLicense,
    EntityType::MedicalLicense,
    EntityType::EmailAddress,
    EntityType::PhoneNumber,
    EntityType::Crypto,
];

const ENTRY: &str = "Met Ann today, her number is (415) 555-0132 and mail ann@example.com.";

fn warn_scanner() -> Scanner {
    Scanner::builder()
        .entities(WARN.iter().cloned())
        .build()
        .unwrap()
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "first".into());
    let baseline = || Regex::new(r"\b\d{3}-\d{4}\b").unwrap();
    // The baseline first, so that its own one-time costs are not counted.
    let base = median((0..21).map(|_| time(|| black_box(baseline())).1).collect());
    let report = |what: &str, d: Duration| {
        println!(
            "{what:<34} {:>10.3} ms  {:>8.1} x one regex",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / base.as_secs_f64()
        );
    };
    report("baseline: one simple regex", base);
    match mode.as_str() {
        "first" => {
            if std::env::var_os("DB_FIRST").is_some() {
                let (_, d) = time(|| phonenumber::metadata::DATABASE.by_id("US").is_some());
                report("phonenumber DATABASE", d);
            }
            let (scanner, d) = time(warn_scanner);
            report("first build, journal warning set", d);
            let (found, d) = time(|| scanner.scan(ENTRY));
            report("first scan of a short entry", d);
            assert_eq!(found.len(), 2);
            let (_, d) = time(|| scanner.scan(ENTRY));
            report("second scan", d);
            let d = median((0..11).map(|_| time(|| scanner.scan(ENTRY)).1).collect());
            report("later scans (median of 11)", d);
        }
        other => {
            eprintln!(
                "unknown mode `{other}`: only `first` (repeated builds are criterion's `pii-scan/build` group)"
            );
            std::process::exit(2);
        }
    }
}
