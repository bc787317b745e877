//! Retention (issue 11 item 4): the unit tests in `src/retention.rs` drive the writer with a shifted clock; these drive the public API.
