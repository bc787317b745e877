//! `JOURNAL_TIMINGS=1`: the time of each phase of a command, on stderr
//! (for measuring the journal apart from its KDF).

use std::sync::Mutex;
use std::time::Instant;

static MARKS: Mutex<Vec<(&'static str, Instant)>> = Mutex::new(Vec::new());

/// Whether timings are on.
pub fn enabled() -> bool {
    std::env::var_os("JOURNAL_TIMINGS").is_some_and(|v| v == "1")
}

/// Records the end of a phase.
pub fn mark(phase: &'static str) {
    if enabled() {
        MARKS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((phase, Instant::now()));
    }
}

/// Prints the phases (milliseconds each) as one line of JSON on stderr.
pub fn report(start: Instant) {
    if !enabled() {
        return;
    }
    let marks = MARKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut prev = start;
    let mut parts = Vec::new();
    for (name, t) in marks.iter() {
        parts.push(format!(
            "\"{name}\": {:.3}",
            t.duration_since(prev).as_secs_f64() * 1e3
        ));
        prev = *t;
    }
    parts.push(format!(
        "\"total\": {:.3}",
        prev.duration_since(start).as_secs_f64() * 1e3
    ));
    eprintln!("timings_ms {{{}}}", parts.join(", "));
}
