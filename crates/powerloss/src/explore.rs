//! Walking many cut points of one trace: each crash state is written to a
//! scratch directory and handed to a checker.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::Path;

use crate::crash::{Replayer, Variant};
use crate::trace::{Op, Trace};

/// Which cuts and variants [`explore`] checks.
#[derive(Debug, Clone)]
pub struct Explore {
    start: usize,
    max_cuts: usize,
    random_variants: usize,
    seed: u64,
    keep_failures: Option<std::path::PathBuf>,
}

impl Default for Explore {
    /// Cuts from the start of the trace, at most 400 of them, one pair of
    /// random variants (one torn, one scrambled) per cut besides
    /// durable-only and everything, seed 0.
    fn default() -> Self {
        Explore {
            start: 0,
            max_cuts: 400,
            random_variants: 1,
            seed: 0,
            keep_failures: None,
        }
    }
}

impl Explore {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first cut point (for example [`Trace::position_after_mark`] of
    /// a "set-up done" marker).
    #[must_use]
    pub fn start(mut self, cut: usize) -> Self {
        self.start = cut;
        self
    }

    /// At most this many cut points; when the trace has more, cuts next to
    /// syncs, renames and markers come first, the rest are spread evenly.
    #[must_use]
    pub fn max_cuts(mut self, n: usize) -> Self {
        self.max_cuts = n.max(1);
        self
    }

    /// Pairs of random variants ([`Variant::Torn`] and
    /// [`Variant::Scrambled`]) per cut, besides [`Variant::DurableOnly`] and
    /// [`Variant::Everything`].
    #[must_use]
    pub fn random_variants(mut self, n: usize) -> Self {
        self.random_variants = n;
        self
    }

    /// Seed of the random variants (runs are reproducible).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Keeps a copy of each crash state whose check failed under `dir` (as
    /// `cut-<cut>-<variant>`, written afresh, not as the checker left it),
    /// for a closer look; by default nothing is kept.
    #[must_use]
    pub fn keep_failures(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.keep_failures = Some(dir.into());
        self
    }

    fn cuts(&self, trace: &Trace) -> Vec<usize> {
        let end = trace.len();
        let start = self.start.min(end);
        let all: Vec<usize> = (start..=end).collect();
        if all.len() <= self.max_cuts {
            return all;
        }
        // Cuts just before and just after each op that orders things.
        let mut chosen: Vec<usize> = Vec::new();
        for (i, op) in trace.ops().iter().enumerate().skip(start) {
            if op.is_sync() || op.is_mark() || matches!(op, Op::Rename { .. }) {
                chosen.push(i);
                chosen.push(i + 1);
            }
        }
        chosen.sort_unstable();
        chosen.dedup();
        if chosen.len() > self.max_cuts {
            let len = chosen.len();
            chosen = (0..self.max_cuts)
                .map(|k| chosen[k * len / self.max_cuts])
                .collect();
        } else {
            let room = self.max_cuts - chosen.len();
            chosen.extend((0..room).map(|k| all[k * all.len() / room]));
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }
}

/// One crash state handed to the checker.
#[derive(Debug)]
pub struct CrashCase<'a> {
    /// The cut point: the first `cut` ops of the trace were issued.
    pub cut: usize,
    /// How the undurable part was decided.
    pub variant: Variant,
    /// The directory holding the state (it stands for the mount's root).
    pub root: &'a Path,
    /// Labels of the markers issued before the cut (acknowledged
    /// operations), in order.
    pub marks: Vec<&'a str>,
}

/// A check that failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The cut point.
    pub cut: usize,
    /// The variant.
    pub variant: Variant,
    /// The op just before the cut, for context.
    pub last_op: String,
    /// What the checker said.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cut {} ({}), after {}: {}",
            self.cut, self.variant, self.last_op, self.message
        )
    }
}

/// What [`explore`] did.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Report {
    /// Cut points visited.
    pub cuts: usize,
    /// Crash states considered (cuts times variants).
    pub states: usize,
    /// States actually checked (duplicates with the same acknowledged
    /// operations are checked once).
    pub checked: usize,
    /// States where some sector of a file was torn or a write lost
    /// (differs from the everything-survives state at the same cut).
    pub lossy: usize,
    /// Failed checks.
    pub failures: Vec<Failure>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cuts, {} crash states ({} distinct checked, {} with lost or torn data), {} failures",
            self.cuts,
            self.states,
            self.checked,
            self.lossy,
            self.failures.len()
        )?;
        for fail in self.failures.iter().take(5) {
            write!(f, "\n  {fail}")?;
        }
        if self.failures.len() > 5 {
            write!(f, "\n  ... and {} more", self.failures.len() - 5)?;
        }
        Ok(())
    }
}

/// Materialises crash states of `trace` at the cut points and variants
/// that `options` selects, and runs `check` on each. The state for a case
/// is removed after its check.
///
/// # Errors
/// I/O errors writing crash states to scratch directories (a failed check
/// is not an error: it is in [`Report::failures`]).
pub fn explore<F>(trace: &Trace, options: &Explore, mut check: F) -> io::Result<Report>
where
    F: FnMut(&CrashCase<'_>) -> Result<(), String>,
{
    let scratch = tempfile::Builder::new()
        .prefix("powerloss-states-")
        .tempdir_in(scratch_base())?;
    let mut replay = Replayer::new(trace);
    let mut report = Report::default();
    let mut seen: HashSet<(u64, usize)> = HashSet::new();
    let mut case_no = 0u64;
    for cut in options.cuts(trace) {
        replay.advance_to(cut);
        report.cuts += 1;
        let marks = trace.marks_before(replay.cut());
        let mut variants = vec![Variant::DurableOnly, Variant::Everything];
        if !replay.all_durable() {
            for k in 0..options.random_variants {
                let seed = options
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add((cut as u64) << 8)
                    .wrapping_add(k as u64);
                variants.push(Variant::Torn { seed });
                variants.push(Variant::Scrambled { seed });
            }
        }
        let everything = replay.state(Variant::Everything).digest();
        for variant in variants {
            report.states += 1;
            let state = replay.state(variant);
            let digest = state.digest();
            if digest != everything {
                report.lossy += 1;
            }
            if !seen.insert((digest, marks.len())) {
                continue;
            }
            report.checked += 1;
            case_no += 1;
            let root = scratch.path().join(format!("s{case_no}"));
            std::fs::create_dir(&root)?;
            state.materialize(&root)?;
            let case = CrashCase {
                cut,
                variant,
                root: &root,
                marks: marks.clone(),
            };
            if let Err(message) = check(&case) {
                let last_op = cut
                    .checked_sub(1)
                    .and_then(|i| trace.ops().get(i))
                    .map_or_else(|| "the start".to_owned(), describe);
                report.failures.push(Failure {
                    cut,
                    variant,
                    last_op,
                    message,
                });
                if let Some(keep) = &options.keep_failures {
                    // A fresh copy: the checker may have changed its own.
                    let name = format!("cut-{cut}-{variant}").replace(['(', ')', ' '], "_");
                    let kept = keep.join(name);
                    std::fs::create_dir_all(&kept)?;
                    state.materialize(&kept)?;
                }
            }
            remove_tree(&root)?;
        }
    }
    Ok(report)
}

/// Where crash states are written: `/dev/shm` where it is a writable
/// directory (memory: the checkers' own fsyncs cost nothing there), else
/// the temporary directory. `POWERLOSS_SCRATCH` overrides both.
fn scratch_base() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("POWERLOSS_SCRATCH") {
        return dir.into();
    }
    let shm = Path::new("/dev/shm");
    let writable = std::fs::metadata(shm).is_ok_and(|m| m.is_dir())
        && tempfile::Builder::new()
            .prefix("powerloss-probe-")
            .tempdir_in(shm)
            .is_ok();
    if writable {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Removes a materialised state, even one whose checker left read-only
/// directories behind.
fn remove_tree(root: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::remove_dir_all(root).is_ok() {
        return Ok(());
    }
    for entry in walk(root)? {
        let _ = std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o700));
    }
    std::fs::remove_dir_all(root)
}

fn walk(root: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        i += 1;
        if std::fs::symlink_metadata(&p)?.is_dir() {
            for e in std::fs::read_dir(&p)? {
                out.push(e?.path());
            }
        }
    }
    Ok(out)
}

fn describe(op: &Op) -> String {
    match op {
        Op::Create {
            parent,
            name,
            ino,
            kind,
            ..
        } => format!("create {kind:?} {name:?} in dir {parent} (node {ino})"),
        Op::Link { ino, parent, name } => format!("link node {ino} as {name:?} in dir {parent}"),
        Op::Unlink { parent, name } => format!("unlink {name:?} in dir {parent}"),
        Op::Rename {
            parent,
            name,
            new_parent,
            new_name,
            ..
        } => format!("rename {name:?} (dir {parent}) to {new_name:?} (dir {new_parent})"),
        Op::Write { ino, offset, data } => {
            format!("write {} bytes at {offset} to node {ino}", data.len())
        }
        Op::SetLen { ino, len } => format!("set length of node {ino} to {len}"),
        Op::SetMode { ino, mode } => format!("chmod node {ino} to {mode:o}"),
        Op::Fsync { ino, datasync } => {
            format!(
                "{} node {ino}",
                if *datasync { "fdatasync" } else { "fsync" }
            )
        }
        Op::FsyncDir { ino } => format!("fsync dir {ino}"),
        Op::Mark(l) => format!("mark {l:?}"),
    }
}
