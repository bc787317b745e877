//! Validation: what a compiled pattern does with a regex match (the
//! built-in recognizer's check, the phone number plans, a custom
//! recognizer's named validator, or nothing).

use std::sync::Arc;

use crate::custom::Validator;
use crate::recognizers::CheckFn;

/// How a compiled pattern checks its matches.
pub(super) enum Check {
    Builtin(CheckFn),
    /// Phone numbers, validated for these regions.
    Phone(Arc<crate::phone::Regions>),
    Validator(Validator),
    Plain,
}

impl Check {
    /// Checks the match `text[s..e]` of a pattern whose score is `base`:
    /// `None` rejects it, otherwise the (possibly trimmed or extended)
    /// span and the score before context words.
    pub(super) fn run(
        &self,
        text: &str,
        s: usize,
        e: usize,
        base: f64,
    ) -> Option<(usize, usize, f64)> {
        match self {
            Check::Builtin(f) => f(text, s, e, base),
            Check::Phone(regions) => crate::phone::check(text, s, e, regions),
            Check::Validator(val) => val.validate(&text[s..e]).then_some((s, e, 1.0)),
            Check::Plain => Some((s, e, base)),
        }
    }
}
