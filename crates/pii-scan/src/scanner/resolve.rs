//! Resolving overlaps between candidates.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Scanner;
use super::search::Cand;
use crate::Finding;

/// Clusters up to this size resolve with a linear scan of the spans taken
/// so far; larger ones (back-to-back values) with an ordered map.
const SMALL_CLUSTER: usize = 16;

impl Scanner {
    /// Picks non-overlapping findings: higher score, then longer, then
    /// earlier, then the recognizer listed first.
    ///
    /// Candidates that share no byte with any other are taken as they are;
    /// only clusters of overlapping candidates are sorted by priority. In
    /// dense text most candidates stand alone, and sorting them all by
    /// score was a large part of a scan.
    pub(super) fn resolve(&self, cands: Vec<Cand>, fixed: &[(usize, usize)]) -> Vec<Finding> {
        let n = self.patterns.len();
        let chosen = select(cands, n, fixed);
        let mut findings = Vec::with_capacity(chosen.len());
        findings.extend(chosen.into_iter().filter_map(|c| {
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
        }));
        findings
    }
}

/// The candidates [`Scanner::resolve`] keeps, sorted by (start, end)
/// (`n`: the number of patterns; deny lists come after them).
fn select(mut cands: Vec<Cand>, n: usize, fixed: &[(usize, usize)]) -> Vec<Cand> {
    // Spans already reported (earlier chunks of a stream) win every
    // overlap: a candidate that overlaps one is never taken, so it
    // blocks nothing either.
    if !fixed.is_empty() {
        let fixed: BTreeMap<usize, usize> = fixed.iter().copied().collect();
        cands.retain(|c| {
            fixed
                .range(..c.end)
                .next_back()
                .is_none_or(|(_, &e)| e <= c.start)
        });
    }
    // Each window's candidates come sorted, and windows in text order:
    // this is usually sorted already.
    if !cands.is_sorted_by_key(|c| (c.start, c.end)) {
        cands.sort_by_key(|c| (c.start, c.end));
    }
    let mut chosen: Vec<Cand> = Vec::with_capacity(cands.len());
    let mut i = 0;
    while i < cands.len() {
        // The cluster: candidates linked by overlaps.
        let mut j = i + 1;
        let mut end = cands[i].end;
        while j < cands.len() && cands[j].start < end {
            end = end.max(cands[j].end);
            j += 1;
        }
        if j == i + 1 {
            chosen.push(cands[i]);
        } else {
            pick(&mut cands[i..j], n, &mut chosen);
        }
        i = j;
    }
    chosen
}

/// The order in which overlapping candidates are taken, best first, as one
/// integer key: higher score, then longer, then earlier; scores are never
/// negative, so their bits order like their values (inverted: higher
/// first); deny lists (`pat >= n`) come first, as when they were patterns
/// listed first.
fn priority(c: &Cand, n: usize) -> (u64, usize, usize, bool, usize) {
    (
        !c.score.to_bits(),
        usize::MAX - (c.end - c.start),
        c.start,
        c.pat < n,
        c.pat,
    )
}

/// Resolves one cluster of overlapping candidates (`n`: the number of
/// patterns; deny lists come after them): the best first, each taken
/// unless it overlaps one taken before. Appends the taken ones to `out`
/// sorted by (start, end).
fn pick(cluster: &mut [Cand], n: usize, out: &mut Vec<Cand>) {
    cluster.sort_unstable_by_key(|c| priority(c, n));
    let first = out.len();
    if cluster.len() <= SMALL_CLUSTER {
        for c in cluster.iter() {
            if !out[first..]
                .iter()
                .any(|t| t.start < c.end && c.start < t.end)
            {
                out.push(*c);
            }
        }
    } else {
        let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
        for c in cluster.iter() {
            let overlaps_prev = taken
                .range(..c.end)
                .next_back()
                .is_some_and(|(_, &e)| e > c.start);
            if !overlaps_prev {
                taken.insert(c.start, c.end);
                out.push(*c);
            }
        }
    }
    out[first..].sort_unstable_by_key(|c| (c.start, c.end));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The resolution as it was before clusters: every candidate sorted
    /// by priority, each taken unless it overlaps one taken before.
    fn reference(mut cands: Vec<Cand>, n: usize, fixed: &[(usize, usize)]) -> Vec<Cand> {
        cands.sort_unstable_by_key(|c| priority(c, n));
        let mut taken: BTreeMap<usize, usize> = fixed.iter().copied().collect();
        let mut chosen = Vec::new();
        for c in cands {
            if taken
                .range(..c.end)
                .next_back()
                .is_none_or(|(_, &e)| e <= c.start)
            {
                taken.insert(c.start, c.end);
                chosen.push(c);
            }
        }
        chosen.sort_by_key(|c| (c.start, c.end));
        chosen
    }

    fn key(c: &Cand) -> (usize, usize, u64, usize) {
        (c.start, c.end, c.score.to_bits(), c.pat)
    }

    /// Resolving cluster by cluster picks exactly what sorting every
    /// candidate by priority picked: random candidates, dense and sparse,
    /// short and long clusters (over `SMALL_CLUSTER`), with and without
    /// spans fixed by an earlier chunk.
    #[test]
    fn clusters_pick_what_global_priority_picked() {
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            usize::try_from(x % m).unwrap()
        };
        for round in 0..3000 {
            let spread = [40, 400, 4000][round % 3];
            let count = 1 + next(80);
            let cands: Vec<Cand> = (0..count)
                .map(|_| {
                    let start = next(spread);
                    let score = [0.5, 0.6, 0.75, 0.85, 1.0][next(5)];
                    Cand {
                        start,
                        end: start + 1 + next(30),
                        score,
                        base: score,
                        pat: next(12),
                    }
                })
                .collect();
            let fixed: Vec<(usize, usize)> = if round % 4 == 0 {
                let s = next(spread);
                vec![(s, s + 1 + next(20))]
            } else {
                Vec::new()
            };
            let got: Vec<_> = select(cands.clone(), 10, &fixed).iter().map(key).collect();
            let want: Vec<_> = reference(cands, 10, &fixed).iter().map(key).collect();
            assert_eq!(got, want, "round {round}");
        }
    }
}
