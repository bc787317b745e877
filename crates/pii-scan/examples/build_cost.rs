//! How long building a scanner takes, against a baseline measured in the
//! same process: compiling one simple regex (`\b\d{3}-\d{4}\b`).
//!
//! ```text
//! cargo run --release -p pii-scan --example build_cost [first [ENTITIES]]
//! ```
//!
//! It times the first build in a fresh process (what a command-line
//! program such as `journal add` pays, lazily loaded data included) and
//! the scans of a short entry with a phone number and an e-mail address
//! in it. The scanner built has every built-in recognizer, or only the
//! entities named in `ENTITIES` (comma-separated, as `EntityType` parses
//! them: `CREDIT_CARD,EMAIL_ADDRESS,PHONE_NUMBER`); this example keeps no
//! copy of any application's entity list, so pass an application's own
//! list to time its build. The journal's warning set
//! (`journal::settings::DEFAULT_PII_WARN`, read from the app itself) is
//! timed by criterion's `pii-scan/build` group and the `pii-scan ratios
//! build` lines of `benches/benches/pii_scan.rs`, which also time repeated
//! builds. With `DB_FIRST=1`, it also times loading the `phonenumber`
//! crate's database, which building a scanner did before 0.1.0's lazy
//! plans (the table in `src/phone_plans.txt` replaced it).
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use pii_scan::{EntityType, Scanner};
use regex_automata::meta::Regex;

const ENTRY: &str = "Met Ann today, her number is (415) 555-0132 and mail ann@example.com.";

/// A scanner of `entities` (every built-in recognizer when `None`).
fn build(entities: Option<&[EntityType]>) -> Scanner {
    let Some(list) = entities else {
        return Scanner::new();
    };
    match Scanner::builder().entities(list.iter().cloned()).build() {
        Ok(scanner) => scanner,
        Err(e) => {
            eprintln!("cannot build a scanner of those entities: {e}");
            std::process::exit(2);
        }
    }
}

/// The entities named on the command line, or `None` for every one.
fn parse_entities(arg: Option<String>) -> Option<Vec<EntityType>> {
    let arg = arg?;
    let parsed: Result<Vec<EntityType>, _> = arg
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::parse::<EntityType>)
        .collect();
    match parsed {
        Ok(list) => Some(list),
        Err(e) => {
            eprintln!("bad entity list `{arg}`: {e}");
            std::process::exit(2);
        }
    }
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
    let entities = parse_entities(std::env::args().nth(2));
    let what = if entities.is_some() {
        "the entities named"
    } else {
        "every recognizer"
    };
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
            let (scanner, d) = time(|| build(entities.as_deref()));
            report(&format!("first build, {what}"), d);
            let (found, d) = time(|| scanner.scan(ENTRY));
            report("first scan of a short entry", d);
            println!("findings in the entry: {}", found.len());
            let (_, d) = time(|| scanner.scan(ENTRY));
            report("second scan", d);
            let d = median((0..11).map(|_| time(|| scanner.scan(ENTRY)).1).collect());
            report("later scans (median of 11)", d);
        }
        other => {
            eprintln!(
                "unknown mode `{other}`: only `first [ENTITIES]` (repeated builds are criterion's `pii-scan/build` group)"
            );
            std::process::exit(2);
        }
    }
}
