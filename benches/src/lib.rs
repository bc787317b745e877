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

/// Records a ratio measured with [`interleaved_medians`] (or another
/// paired method) under `name`, for `cargo xtask bench`'s table of
/// DESIGN §5 targets, which prefers it to the ratio of two criterion groups
/// measured one after the other: `target/criterion/paired/NAME.json`
/// (`$CARGO_TARGET_DIR` when set). The ratio has the sense of its target:
/// a throughput ratio (baseline time / ours) for a target written `>=`, a
/// time ratio (ours / baseline) for one written `<=`. Failing to write is
/// not an error for a bench: the figure is printed anyway.
pub fn record_paired(name: &str, ratio: f64) {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        std::path::PathBuf::from,
    );
    let dir = target.join("criterion").join("paired");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(
            dir.join(format!("{name}.json")),
            format!("{{\"ratio\": {ratio}}}\n"),
        );
    }
}

/// Criterion's options that take a value: the word after one of them is
/// not the filter.
const VALUE_OPTIONS: &[&str] = &[
    "--save-baseline",
    "-s",
    "--baseline",
    "-b",
    "--baseline-lenient",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--profile-time",
    "--color",
    "-c",
    "--format",
    "--output-format",
    "--plotting-backend",
    "-p",
];

/// The benchmark filter in `args` as criterion reads it (the first word
/// that is neither an option nor an option's value), and whether
/// `--exact` was given.
fn filter_in(args: &[String]) -> (Option<&str>, bool) {
    let mut filter = None;
    let mut exact = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--exact" {
            exact = true;
        } else if VALUE_OPTIONS.contains(&arg.as_str()) {
            let _ = it.next();
        } else if !arg.starts_with('-') && filter.is_none() {
            filter = Some(arg.as_str());
        }
    }
    (filter, exact)
}

/// Whether criterion will run at least one of the benchmarks `ids`
/// (`group/function/parameter`, as criterion names them) under the filter
/// given in `args`: a regular expression searched in the id, or the whole
/// id with `--exact`. Call it with `std::env::args().skip(1)` before a
/// bench's setup, so that `cargo xtask bench FILTER` does not build 4 GiB
/// of model files, a loopback TLS server or a 10,000-record log for
/// benchmarks that will not run. An invalid regex selects everything
/// (criterion then reports it).
#[must_use]
pub fn selected_by(args: &[String], ids: &[&str]) -> bool {
    match filter_in(args) {
        (None, _) => true,
        (Some(f), true) => ids.contains(&f),
        (Some(f), false) => match regex_automata::meta::Regex::new(f) {
            Ok(re) => ids.iter().any(|id| re.is_match(id)),
            Err(_) => true,
        },
    }
}

/// [`selected_by`] with this process's arguments.
#[must_use]
pub fn selected(ids: &[&str]) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    selected_by(&args, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    const MODEL: &[&str] = &[
        "model_verify_multi_file/model-verify/2048MiB",
        "model_verify_multi_file/baseline-openssl-dgst-sha256/2048MiB",
    ];

    #[test]
    fn no_filter_selects_everything() {
        assert!(selected_by(&args(&["--bench"]), MODEL));
        assert!(selected_by(&[], MODEL));
    }

    #[test]
    fn a_filter_for_another_bench_skips_the_setup() {
        assert!(!selected_by(&args(&["--bench", "pii-scan"]), MODEL));
        assert!(!selected_by(&args(&["--bench", "keystore_unlock"]), MODEL));
        // The value of an option is not the filter.
        assert!(!selected_by(
            &args(&["--sample-size", "10", "--bench", "audit-log"]),
            MODEL
        ));
    }

    #[test]
    fn a_matching_filter_selects_as_criterion_would() {
        assert!(selected_by(&args(&["--bench", "model_verify"]), MODEL));
        assert!(selected_by(&args(&["--bench", "openssl"]), MODEL));
        assert!(selected_by(
            &args(&["--bench", "^model_verify_multi"]),
            MODEL
        ));
        assert!(selected_by(
            &args(&["--bench", "multi_file/model-verify"]),
            MODEL
        ));
        assert!(!selected_by(&args(&["--bench", "^multi"]), MODEL));
        assert!(selected_by(
            &args(&[
                "--bench",
                "--exact",
                "model_verify_multi_file/model-verify/2048MiB"
            ]),
            MODEL
        ));
        assert!(!selected_by(
            &args(&["--bench", "--exact", "model_verify"]),
            MODEL
        ));
        // An invalid regex: criterion will say so; nothing is skipped here.
        assert!(selected_by(&args(&["--bench", "("]), MODEL));
    }
}
