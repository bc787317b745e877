//! Shared helpers: starting the recorder or skipping loudly, checking a
//! report.

use std::io::Write;

use powerloss::{Explore, Recorder, Report};

/// Fewest cut points each power-loss test must check (DESIGN.md, issue 10).
pub(crate) const MIN_CUTS: usize = 200;

/// A mounted recorder, or `None` after printing why this test is skipped.
/// With `POWERLOSS_REQUIRE` set, an unavailable FUSE fails the test.
pub(crate) fn recorder(test: &str) -> Option<Recorder> {
    match Recorder::start() {
        Ok(r) => Some(r),
        Err(e) => {
            assert!(
                std::env::var_os("POWERLOSS_REQUIRE").is_none(),
                "{test}: POWERLOSS_REQUIRE is set but FUSE is unavailable: {e}"
            );
            // Straight to the process's stderr: the test harness captures
            // print macros, and a skip must never be silent.
            let _ = writeln!(std::io::stderr(), "powerloss: {test}: skipped: {e}");
            None
        }
    }
}

/// Prints the report (past the capture; every failure with
/// `POWERLOSS_VERBOSE`) and fails on any failure or on too few cut points.
pub(crate) fn assert_clean(test: &str, report: &Report) {
    let _ = writeln!(std::io::stderr(), "powerloss: {test}: {report}");
    if std::env::var_os("POWERLOSS_VERBOSE").is_some() {
        for f in &report.failures {
            let _ = writeln!(std::io::stderr(), "powerloss: {test}: failure: {f}");
        }
    }
    assert!(report.failures.is_empty(), "{test}: {report}");
    assert!(
        report.cuts >= MIN_CUTS,
        "{test}: only {} cut points (need {MIN_CUTS})",
        report.cuts
    );
}

/// The exploration every power-loss test uses: the defaults, deepened by
/// `POWERLOSS_RANDOM_VARIANTS=n` (pairs of random variants per cut) and
/// `POWERLOSS_MAX_CUTS=n` for longer local runs; failed states kept under
/// `POWERLOSS_KEEP_FAILURES=dir/<test>`.
pub(crate) fn explore_options(test: &str) -> Explore {
    let mut e = Explore::new();
    let num = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    if let Some(n) = num("POWERLOSS_RANDOM_VARIANTS") {
        e = e.random_variants(n);
    }
    if let Some(n) = num("POWERLOSS_MAX_CUTS") {
        e = e.max_cuts(n);
    }
    if let Some(dir) = std::env::var_os("POWERLOSS_KEEP_FAILURES") {
        e = e.keep_failures(std::path::Path::new(&dir).join(test));
    }
    e
}
