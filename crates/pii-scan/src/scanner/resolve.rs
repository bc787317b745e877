//! Resolving overlaps between candidates.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Scanner;
use super::search::Cand;
use crate::Finding;

impl Scanner {
    /// Picks non-overlapping findings: higher score, then longer, then
    /// earlier, then the recognizer listed first.
    pub(super) fn resolve(&self, mut cands: Vec<Cand>, fixed: &[(usize, usize)]) -> Vec<Finding> {
        let n = self.patterns.len();
        // One integer key per candidate: scores are never negative, so
        // their bits order like their values (inverted: higher first);
        // deny lists come first, as when they were patterns listed first.
        cands.sort_unstable_by_key(|c| {
            (
                !c.score.to_bits(),
                usize::MAX - (c.end - c.start),
                c.start,
                c.pat < n,
                c.pat,
            )
        });
        let mut taken: BTreeMap<usize, usize> = fixed.iter().copied().collect();
        let mut chosen: Vec<Cand> = Vec::with_capacity(cands.len().min(64));
        for c in cands {
            let overlaps_prev = taken
                .range(..c.end)
                .next_back()
                .is_some_and(|(_, &e)| e > c.start);
            if overlaps_prev {
                continue;
            }
            taken.insert(c.start, c.end);
            chosen.push(c);
        }
        chosen.sort_by_key(|c| (c.start, c.end));
        chosen
            .into_iter()
            .filter_map(|c| {
                let entity_type = match (self.patterns.get(c.pat), &self.deny) {
                    (Some(p), _) => p.entity.clone(),
                    (None, Some(d)) => d.entities.get(c.pat - n)?.clone(),
                    (None, None) => return None,
                };
                let recognizer = match self.patterns.get(c.pat) {
                    Some(p) => Arc::clone(&p.name),
                    None => Arc::from(format!(
                        "deny-list-{}",
                        entity_type.as_str().to_ascii_lowercase()
                    )),
                };
                Some(Finding {
                    entity_type,
                    start: c.start,
                    end: c.end,
                    score: (c.score * 100.0).round() / 100.0,
                    recognizer,
                    base_score: c.base,
                })
            })
            .collect()
    }
}
