//! Candidate search: one locator pass over the text finds where some
//! recognizer may match; windows around those places are checked with
//! the window set (`window_set`), and only the recognizers that match
//! there run.

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

use super::{Scanner, ceil_boundary, floor_boundary};
use crate::Finding;
use crate::context::Near;
use crate::data::{
    CONTEXT_AFTER, CONTEXT_BEFORE, MAX_FINDING_LEN, MAX_MERGED_WINDOW, NEARS_KEPT, WINDOW,
};

/// A stretch of text around located candidates, searched by every
/// recognizer that matches in it.
struct Window {
    span: (usize, usize),
    /// The first locator match in it: (pattern, start, end).
    first: (usize, usize, usize),
    /// How many locator matches it holds.
    matches: usize,
    /// Where its last locator match ends.
    last_end: usize,
    /// The next locator match (if any) starts after the window's end: it
    /// was not cut off by [`MAX_MERGED_WINDOW`]. Set when it is closed.
    clean: bool,
}

/// Where a stream chunk stops reporting findings (`cut`) and where the next
/// chunk resumes its search (`resume`, at or before `cut`): the first
/// locator match of the candidate window that straddles the cut, so that
/// the next chunk builds that window (and every later one) exactly as a
/// whole-text scan does.
#[derive(Clone, Copy, Debug)]
pub(super) struct Seam {
    pub(super) cut: usize,
    pub(super) resume: usize,
}

#[derive(Clone, Copy)]
pub(super) struct Cand {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) score: f64,
    /// The score before context words.
    pub(super) base: f64,
    pub(super) pat: usize,
}

impl Scanner {
    /// Scans `text` for candidates starting at or after `from` (`from` is 0
    /// or where a whole-text scan's locator found the first match of a
    /// window); `fixed` are spans already reported (from an earlier chunk)
    /// that win every overlap.
    ///
    /// `seam`, for a stream chunk: the cut it would like (findings before it
    /// are reported) and the latest cut it may move to. The returned
    /// [`Seam`] says where it reports up to and where the next chunk
    /// resumes; without one, both are the end of `text`.
    pub(super) fn scan_range(
        &self,
        text: &str,
        from: usize,
        fixed: &[(usize, usize)],
        seam: Option<(usize, usize)>,
    ) -> (Vec<Finding>, Seam) {
        let mut seam = SeamSearch {
            seam: seam.map_or(
                Seam {
                    cut: text.len(),
                    resume: text.len(),
                },
                |(cut, _)| Seam { cut, resume: cut },
            ),
            max_cut: seam.map_or(text.len(), |(_, max)| max),
            done: seam.is_none(),
        };
        // (Room for a candidate every 64 bytes, up to 262,144, so that the
        // list seldom moves; capacity never written costs no memory pages.)
        let mut cands: Vec<Cand> = Vec::with_capacity(((text.len() - from) / 64).min(1 << 18));
        // The window being gathered, and its locator matches: the first
        // one, and how many.
        let mut window: Option<Window> = None;
        // The patterns that match in the window being scanned.
        let mut matched: Vec<(usize, usize)> = Vec::new();
        let mut nears: Vec<Near<'_>> = Vec::with_capacity(NEARS_KEPT);
        let mut located = Vec::new();
        self.locator.find_all(text, from, &mut located);
        for (pat, start, end) in located {
            let ws = if self.patterns[pat].lookback {
                local_part_start(text, start)
            } else {
                start
            };
            let we = ceil_boundary(text, end.saturating_add(WINDOW).min(text.len()));
            let fresh = Window {
                span: (ws, we),
                first: (pat, start, end),
                matches: 1,
                last_end: end,
                clean: false,
            };
            window = match window {
                Some(w) if ws <= w.span.1 && w.span.1 - w.span.0 < MAX_MERGED_WINDOW => {
                    Some(Window {
                        span: (w.span.0.min(ws), w.span.1.max(we)),
                        matches: w.matches + 1,
                        last_end: end,
                        ..w
                    })
                }
                Some(w) => {
                    let w = Window {
                        clean: ws > w.span.1,
                        ..w
                    };
                    seam.note(text, from, &w);
                    self.scan_window(text, &w, &mut matched, &mut nears, &mut cands);
                    Some(fresh)
                }
                None => Some(fresh),
            };
        }
        if let Some(w) = window {
            let w = Window { clean: true, ..w };
            seam.note(text, from, &w);
            self.scan_window(text, &w, &mut matched, &mut nears, &mut cands);
        }

        if let Some(deny) = &self.deny {
            let b = text.as_bytes();
            let word = |i: Option<usize>| {
                i.and_then(|i| b.get(i))
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            };
            for m in deny.ac.find_overlapping_iter(&text[from..]) {
                let (s, e) = (from + m.start(), from + m.end());
                let k = m.pattern().as_usize();
                let (need_start, need_end) = deny.bounds[k];
                if !(text.is_char_boundary(s) && text.is_char_boundary(e))
                    || (need_start && word(s.checked_sub(1)))
                    || (need_end && word(Some(e)))
                    || (!self.allow.is_empty() && self.allow.contains(&text[s..e]))
                {
                    continue;
                }
                cands.push(Cand {
                    start: s,
                    end: e,
                    score: 1.0,
                    base: 1.0,
                    pat: self.patterns.len() + deny.entity_of[k],
                });
            }
        }
        (self.resolve(cands, fixed), seam.seam)
    }

    fn scan_window<'t>(
        &self,
        text: &'t str,
        window: &Window,
        matched: &mut Vec<(usize, usize)>,
        nears: &mut Vec<Near<'t>>,
        out: &mut Vec<Cand>,
    ) {
        let (ws, we) = window.span;
        let first = out.len();
        // In a clean window no locator match starts after its last one:
        // the locator would have found it (and the locator's regexes are
        // the set's). So no set regex's match starts after the last
        // locator match's end either, and the set's search may stop once
        // it is past that end with no match under way.
        let quiet_from = window.clean.then_some(window.last_end);
        self.set.which(text, window.span, quiet_from, matched);
        nears.clear();
        // The context lists with a word near the window, computed when a
        // pattern that needs a supporting word is among the matches.
        let mut near_window: Option<u128> = None;
        // The matched patterns in order, each with the last position where
        // a match of its set regex in the window ends.
        for &(pat, last_end) in matched.iter() {
            let Some(p) = self.patterns.get(pat) else {
                continue;
            };
            // For a pattern whose set regex is its own regex, none of its
            // matches in the window ends later, so its search stops there.
            // (Patterns located by a cheaper stand-in are searched to the
            // window's end.)
            let search_end = if p.own_locate { last_end } else { we };
            // A pattern that only a supporting word can lift to the minimum
            // score runs only where one of its supporting words is near the
            // window. That test tokenizes the window's surroundings, which
            // costs more than searching: it is made when the first match
            // of the pattern passes its check (if none does, the pattern
            // reports nothing either way).
            let mut needs_support = None;
            if p.max_score < self.min_score {
                let Some(bit) = p.support.map(|id| 1u128 << id) else {
                    continue;
                };
                needs_support = Some(bit);
            }
            // A window made of one locator match of this pattern (found
            // with the pattern itself) holds that match and no other of
            // the pattern: any further one would have been a locator
            // match too. No need to search again.
            let single = (window.matches == 1 && window.first.0 == pat && p.own_locate)
                .then_some(window.first);
            let regex = if single.is_none() {
                p.regex.get()
            } else {
                None
            };
            let mut searched = window_matches(regex, text, (ws, search_end));
            // In a clean window of one locator match, a pattern that the
            // locator searches for itself (or an e-mail address, whose `@`
            // the locator finds) has no match starting after that locator
            // match: it would have been (or held) a locator match in the
            // window. So once one of its matches reaches the locator
            // match's end, no other follows, and the rest of the window
            // need not be searched again. (Patterns located by a cheaper
            // stand-in, such as the phone locator's six digits, are
            // searched to the end: a match of theirs need not hold a
            // locator match.)
            let stop_at_end = (window.matches == 1 && window.clean && (p.own_locate || p.lookback))
                .then_some(window.first.2);
            let mut done = false;
            let searched = std::iter::from_fn(|| {
                if done {
                    return None;
                }
                let m = searched.next()?;
                done = stop_at_end.is_some_and(|end| m.1 >= end);
                Some(m)
            });
            let spans = single.map(|(_, s, e)| (s, e)).into_iter().chain(searched);
            for (mut s, mut e) in spans {
                if e == we && we < text.len() {
                    // The window cut the match short: find its full extent.
                    if let Some(full) = p.regex.get().and_then(|(r, _)| {
                        r.find(Input::new(text).range(s..).anchored(Anchored::Yes))
                    }) {
                        e = full.end();
                    }
                }
                if e <= s || e - s > MAX_FINDING_LEN {
                    continue;
                }
                let Some((ns, ne, score)) = p.check.run(text, s, e, p.score) else {
                    continue;
                };
                (s, e) = (ns, ne);
                if !(text.is_char_boundary(s) && text.is_char_boundary(e)) || s >= e {
                    continue;
                }
                if !self.allow.is_empty() && self.allow.contains(&text[s..e]) {
                    continue;
                }
                if let Some(bit) = needs_support.take() {
                    let bits = *near_window.get_or_insert_with(|| {
                        self.context.lists_near(
                            text,
                            ws,
                            we,
                            CONTEXT_BEFORE,
                            CONTEXT_AFTER + WINDOW,
                        )
                    });
                    if bits & bit == 0 {
                        // No supporting word near the window: the pattern
                        // reports nothing here.
                        break;
                    }
                }
                let base = score;
                // A pattern without ambiguity words whose score no
                // supporting word can raise needs no context.
                let score = if p.ambiguity.is_none() && (p.support.is_none() || score >= 1.0) {
                    score
                } else {
                    let near = match nears.iter().position(|n| n.span == (s, e)) {
                        Some(i) => &nears[i],
                        None => {
                            if nears.len() == NEARS_KEPT {
                                nears.remove(0);
                            }
                            nears.push(Near::new(text, s, e, &self.context));
                            &nears[nears.len() - 1]
                        }
                    };
                    self.context
                        .score(near, score, p.support, p.ambiguity, p.validated)
                };
                if score >= self.min_score {
                    out.push(Cand {
                        start: s,
                        end: e,
                        score,
                        base,
                        pat,
                    });
                }
            }
        }
        // In text order, as `resolve` takes them (windows come in order).
        out[first..].sort_unstable_by_key(|c| (c.start, c.end));
    }
}

/// The matches (start, end) of a recognizer's regex in `text[ws..end]`,
/// as `find_iter` gives them (none without a regex). `regex` comes with
/// whether none of its matches is empty. Most matches in a window begin
/// where it begins (at its first locator match): an anchored search there
/// finds such a match without the reverse search for its start, and it is
/// the unanchored search's first match when there is one (the leftmost
/// start, and there the preferred match). For a regex without empty
/// matches, the search then goes on after it as `find_iter` would; after
/// a match that reaches `end`, no other follows.
fn window_matches<'r, 't>(
    regex: Option<(&'r Regex, bool)>,
    text: &'t str,
    (ws, end): (usize, usize),
) -> impl Iterator<Item = (usize, usize)> + use<'r, 't> {
    let first = regex.and_then(|(r, nonempty)| {
        nonempty
            .then(|| r.find(Input::new(text).span(ws..end).anchored(Anchored::Yes)))
            .flatten()
    });
    let rest_from = first.as_ref().map_or(ws, regex_automata::Match::end);
    let rest = regex
        .filter(|_| first.is_none() || rest_from < end)
        .map(|(r, _)| r.find_iter(Input::new(text).span(rest_from..end)));
    first
        .into_iter()
        .chain(rest.into_iter().flatten())
        .map(|m| (m.start(), m.end()))
}

/// Finds a stream chunk's [`Seam`] while its windows are closed (in text
/// order).
struct SeamSearch {
    seam: Seam,
    max_cut: usize,
    done: bool,
}

impl SeamSearch {
    fn note(&mut self, text: &str, from: usize, w: &Window) {
        if self.done || w.span.1 <= self.seam.cut {
            return;
        }
        let start = w.first.1;
        if start == from {
            // The chunk's first window straddles the cut: resuming there
            // would not move the stream on, so the cut moves past it.
            let cut = floor_boundary(text, w.span.1.min(self.max_cut)).max(self.seam.cut);
            self.seam = Seam { cut, resume: cut };
        } else {
            // Every window before this one ends by the cut: the next chunk
            // starts this one afresh, as the whole-text scan did. (One that
            // starts after the cut: the next chunk's locator finds its first
            // match first from the cut too.)
            self.seam.resume = start.min(self.seam.cut);
            self.done = true;
        }
    }
}

/// Where the local part of an e-mail address whose `@` is at `at` starts:
/// the scan goes back over local-part characters (at most
/// [`MAX_FINDING_LEN`] bytes), so an over-long local part is still found
/// whole (and then rejected or reported by the recognizer as a whole).
fn local_part_start(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    let stop = at.saturating_sub(MAX_FINDING_LEN);
    let mut i = at;
    while i > stop {
        let c = b[i - 1];
        if c.is_ascii_alphanumeric() || c >= 0x80 || b"!#$%&'*+/=?^_`{|}~.-".contains(&c) {
            i -= 1;
        } else {
            break;
        }
    }
    floor_boundary(text, i)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scanner::window_set::tests::Random;

    /// A recognizer's matches in a window, anchored search first, are what
    /// `find_iter` over the window gives: every built-in pattern, random
    /// windows of random texts (PII values, words, separators), starting
    /// at a value and anywhere.
    #[test]
    fn window_matches_are_find_iters() {
        let scanner = Scanner::new();
        let mut random = Random(0x6A09_E667_F3BC_C908);
        let (mut windows, mut found, mut at_start, mut differ) = (0, 0, 0, Vec::new());
        let mut located = Vec::new();
        for _ in 0..300 {
            let text = random.text(12);
            // Half the windows begin at a locator match, as the scanner's do.
            scanner.locator.find_all(&text, 0, &mut located);
            let ws = match located.first() {
                Some(&(_, start, _)) if random.below(2) == 0 => start,
                _ => floor_boundary(&text, random.below(text.len() / 2 + 1)),
            };
            let end = ceil_boundary(&text, ws + random.below(text.len() - ws + 1));
            for p in &scanner.patterns {
                let (r, nonempty) = p.regex.get().unwrap();
                let got: Vec<(usize, usize)> =
                    window_matches(Some((r, nonempty)), &text, (ws, end)).collect();
                let want: Vec<(usize, usize)> = r
                    .find_iter(Input::new(&text).span(ws..end))
                    .map(|m| (m.start(), m.end()))
                    .collect();
                windows += 1;
                found += want.len();
                at_start += usize::from(want.first().is_some_and(|m| m.0 == ws));
                if got != want {
                    differ.push((p.name.clone(), text.clone(), ws, end, got, want));
                }
            }
        }
        assert!(differ.is_empty(), "{:?}", &differ[..differ.len().min(3)]);
        assert!(
            windows > 10_000 && found > 300 && at_start > 100,
            "{windows} {found} {at_start}"
        );
    }
}
