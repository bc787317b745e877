//! Shared helpers: starting the recorder or skipping loudly, checking a
//! report.

use std::io::Write;

use powerloss::{Recorder, Report};

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

/// Prints the report (past the capture) and fails on any failure or on
/// too few cut points.
pub(crate) fn assert_clean(test: &str, report: &Report) {
    let _ = writeln!(std::io::stderr(), "powerloss: {test}: {report}");
    assert!(report.failures.is_empty(), "{test}: {report}");
    assert!(
        report.cuts >= MIN_CUTS,
        "{test}: only {} cut points (need {MIN_CUTS})",
        report.cuts
    );
}
