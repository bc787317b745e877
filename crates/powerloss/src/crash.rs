//! The crash model: from a trace and a cut point, the disk states a power
//! cut at that point could leave (see the README for the model in words).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::trace::{Ino, NodeKind, Op, ROOT, Trace};

/// The sector size: the unit a disk writes atomically. Unsynced writes are
/// torn at this granularity (never inside a sector).
pub const SECTOR: u64 = 512;

/// How the parts that were not made durable are decided at a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// Everything not made durable is lost: each file holds what its last
    /// fsync covered, each directory the entries its last fsync covered.
    DurableOnly,
    /// Nothing is lost (what a process crash, SIGKILL, leaves).
    Everything,
    /// In each file, the pending writes survive in order up to a random
    /// point, and the next one is torn: each of its sectors survives or
    /// not. Each directory keeps a random prefix of its pending changes.
    Torn {
        /// Seed of the random choices.
        seed: u64,
    },
    /// Each pending sector independently holds any of its versions since
    /// the last fsync (lost, reordered and torn writes); the size is any of
    /// the file's pending sizes; each directory keeps a random prefix of its
    /// pending changes.
    Scrambled {
        /// Seed of the random choices.
        seed: u64,
    },
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Variant::DurableOnly => f.write_str("durable-only"),
            Variant::Everything => f.write_str("everything"),
            Variant::Torn { seed } => write!(f, "torn(seed {seed})"),
            Variant::Scrambled { seed } => write!(f, "scrambled(seed {seed})"),
        }
    }
}

/// SplitMix64 finaliser: a fixed, reproducible hash of the inputs (crash
/// choices must be the same on every run, so no OS randomness here).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(b.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_add(0x94d0_49bb_1331_11eb);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform pick in `0..=n`.
fn pick(h: u64, n: usize) -> usize {
    let n1 = u64::try_from(n).unwrap_or(u64::MAX - 1).saturating_add(1);
    usize::try_from(h % n1).unwrap_or(n)
}

const SALT_SIZE: u64 = 1;
const SALT_SECTOR: u64 = 2;
const SALT_DIR: u64 = 3;
const SALT_TORN_POINT: u64 = 4;
const SALT_TORN_SECTOR: u64 = 5;

/// Per-file state of the replay at a cut.
#[derive(Debug, Clone, Default)]
struct FileData {
    /// Content as of the last fsync.
    synced: Vec<u8>,
    /// Content now (all ops applied).
    current: Vec<u8>,
    /// Indices of the data ops (writes, size changes) since the last fsync.
    pending: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
struct DirLog {
    /// Indices of the entry ops on this directory, in order.
    ops: Vec<usize>,
    /// How many of them the last directory fsync covered.
    durable: usize,
}

#[derive(Debug, Clone)]
struct NodeInfo {
    kind: NodeKind,
    mode: u32,
}

/// Replays a trace forward, cut by cut, keeping what every crash state at
/// the current cut is built from.
#[derive(Debug)]
pub(crate) struct Replayer<'t> {
    trace: &'t Trace,
    at: usize,
    files: HashMap<Ino, FileData>,
    dirs: HashMap<Ino, DirLog>,
    nodes: HashMap<Ino, NodeInfo>,
}

fn apply_data(buf: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Write { offset, data, .. } => {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            let end = start.saturating_add(data.len());
            if buf.len() < end {
                buf.resize(end, 0);
            }
            buf[start..end].copy_from_slice(data);
        }
        Op::SetLen { len, .. } => buf.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
        _ => {}
    }
}

/// The sectors an op changes, given the size before it.
fn touched(op: &Op, old_len: u64) -> std::ops::Range<u64> {
    match op {
        Op::Write { offset, data, .. } if !data.is_empty() => {
            offset / SECTOR..(offset + data.len() as u64).div_ceil(SECTOR)
        }
        Op::SetLen { len, .. } => {
            let (lo, hi) = if *len < old_len {
                (*len, old_len)
            } else {
                (old_len, *len)
            };
            lo / SECTOR..hi.div_ceil(SECTOR)
        }
        _ => 0..0,
    }
}

fn sector_of(buf: &[u8], s: u64) -> std::ops::Range<usize> {
    let start = usize::try_from(s * SECTOR)
        .unwrap_or(usize::MAX)
        .min(buf.len());
    let end = usize::try_from((s + 1) * SECTOR)
        .unwrap_or(usize::MAX)
        .min(buf.len());
    start..end
}

impl<'t> Replayer<'t> {
    pub(crate) fn new(trace: &'t Trace) -> Self {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            NodeInfo {
                kind: NodeKind::Dir,
                mode: 0o700,
            },
        );
        Replayer {
            trace,
            at: 0,
            files: HashMap::new(),
            dirs: HashMap::from([(ROOT, DirLog::default())]),
            nodes,
        }
    }

    /// Applies ops up to (not including) `cut`. Cuts must not go backwards.
    pub(crate) fn advance_to(&mut self, cut: usize) {
        let ops = self.trace.ops();
        while self.at < cut.min(ops.len()) {
            let i = self.at;
            self.at += 1;
            match &ops[i] {
                Op::Create {
                    parent,
                    ino,
                    kind,
                    mode,
                    ..
                } => {
                    self.dirs.entry(*parent).or_default().ops.push(i);
                    self.nodes.insert(
                        *ino,
                        NodeInfo {
                            kind: kind.clone(),
                            mode: *mode,
                        },
                    );
                    match kind {
                        NodeKind::File => {
                            self.files.insert(*ino, FileData::default());
                        }
                        NodeKind::Dir => {
                            self.dirs.insert(*ino, DirLog::default());
                        }
                        _ => {}
                    }
                }
                Op::Link { parent, .. } | Op::Unlink { parent, .. } => {
                    self.dirs.entry(*parent).or_default().ops.push(i);
                }
                Op::Rename {
                    parent, new_parent, ..
                } => {
                    self.dirs.entry(*parent).or_default().ops.push(i);
                    if new_parent != parent {
                        self.dirs.entry(*new_parent).or_default().ops.push(i);
                    }
                }
                op @ (Op::Write { ino, .. } | Op::SetLen { ino, .. }) => {
                    let f = self.files.entry(*ino).or_default();
                    apply_data(&mut f.current, op);
                    f.pending.push(i);
                }
                Op::SetMode { ino, mode } => {
                    if let Some(n) = self.nodes.get_mut(ino) {
                        n.mode = *mode;
                    }
                }
                Op::Fsync { ino, .. } => {
                    if let Some(f) = self.files.get_mut(ino) {
                        f.synced.clone_from(&f.current);
                        f.pending.clear();
                    }
                    // fsync of a directory opened as a file
                    if let Some(d) = self.dirs.get_mut(ino) {
                        d.durable = d.ops.len();
                    }
                }
                Op::FsyncDir { ino } => {
                    if let Some(d) = self.dirs.get_mut(ino) {
                        d.durable = d.ops.len();
                    }
                }
                Op::Mark(_) => {}
            }
        }
    }

    /// The cut the replay is at.
    pub(crate) fn cut(&self) -> usize {
        self.at
    }

    /// Whether the state at this cut has nothing pending (every variant
    /// gives the same state).
    pub(crate) fn all_durable(&self) -> bool {
        self.files.values().all(|f| f.pending.is_empty())
            && self.dirs.values().all(|d| d.durable == d.ops.len())
    }

    /// The crash state at the current cut under `variant`.
    pub(crate) fn state(&self, variant: Variant) -> CrashState {
        let kept = self.kept_entry_ops(variant);
        let ops = self.trace.ops();
        // Replay the kept entry ops in trace order.
        let mut tree: HashMap<Ino, BTreeMap<OsString, Ino>> = HashMap::new();
        tree.insert(ROOT, BTreeMap::new());
        let mut idx: Vec<usize> = kept.into_iter().collect();
        idx.sort_unstable();
        for i in idx {
            match &ops[i] {
                Op::Create {
                    parent,
                    name,
                    ino,
                    kind,
                    ..
                } => {
                    if *kind == NodeKind::Dir {
                        tree.entry(*ino).or_default();
                    }
                    tree.entry(*parent).or_default().insert(name.clone(), *ino);
                }
                Op::Link { ino, parent, name } => {
                    tree.entry(*parent).or_default().insert(name.clone(), *ino);
                }
                Op::Unlink { parent, name } => {
                    if let Some(d) = tree.get_mut(parent) {
                        d.remove(name);
                    }
                }
                Op::Rename {
                    parent,
                    name,
                    new_parent,
                    new_name,
                    exchange,
                } => {
                    let Some(src) = tree.get(parent).and_then(|d| d.get(name)).copied() else {
                        continue;
                    };
                    if *exchange {
                        let Some(dst) = tree.get(new_parent).and_then(|d| d.get(new_name)).copied()
                        else {
                            continue;
                        };
                        tree.entry(*parent).or_default().insert(name.clone(), dst);
                        tree.entry(*new_parent)
                            .or_default()
                            .insert(new_name.clone(), src);
                    } else {
                        if let Some(d) = tree.get_mut(parent) {
                            d.remove(name);
                        }
                        tree.entry(*new_parent)
                            .or_default()
                            .insert(new_name.clone(), src);
                    }
                }
                _ => {}
            }
        }
        // Build the nodes reachable from the root.
        let mut nodes = BTreeMap::new();
        let mut stack = vec![ROOT];
        let mut seen = HashSet::new();
        while let Some(ino) = stack.pop() {
            if !seen.insert(ino) {
                continue;
            }
            let Some(info) = self.nodes.get(&ino) else {
                continue;
            };
            let node = match &info.kind {
                NodeKind::Dir => {
                    let entries = tree.remove(&ino).unwrap_or_default();
                    stack.extend(entries.values().copied());
                    CrashNode::Dir {
                        mode: info.mode,
                        entries,
                    }
                }
                NodeKind::File => CrashNode::File {
                    mode: info.mode,
                    data: self.file_content(ino, variant),
                },
                NodeKind::Symlink(target) => CrashNode::Symlink(target.clone()),
                NodeKind::Fifo => CrashNode::Fifo { mode: info.mode },
            };
            nodes.insert(ino, node);
        }
        CrashState { nodes }
    }

    /// Which entry ops survive: per directory a prefix at least as long as
    /// the durable one; a rename survives in both directories or neither.
    fn kept_entry_ops(&self, variant: Variant) -> HashSet<usize> {
        let mut len: HashMap<Ino, usize> = HashMap::new();
        for (dir, log) in &self.dirs {
            let n = log.ops.len();
            let keep = match variant {
                Variant::DurableOnly => log.durable,
                Variant::Everything => n,
                Variant::Torn { seed } | Variant::Scrambled { seed } => {
                    log.durable + pick(mix(seed, SALT_DIR, *dir), n - log.durable)
                }
            };
            len.insert(*dir, keep);
        }
        let ops = self.trace.ops();
        // Close over cross-directory renames until nothing changes.
        loop {
            let mut changed = false;
            for (dir, log) in &self.dirs {
                let keep = len[dir];
                for &i in &log.ops[..keep] {
                    if let Op::Rename {
                        parent, new_parent, ..
                    } = &ops[i]
                    {
                        let other = if parent == dir { new_parent } else { parent };
                        if other == dir {
                            continue;
                        }
                        if let Some(olog) = self.dirs.get(other)
                            && let Some(pos) = olog.ops.iter().position(|&j| j == i)
                            && len[other] <= pos
                        {
                            len.insert(*other, pos + 1);
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut kept = HashSet::new();
        for (dir, log) in &self.dirs {
            kept.extend(log.ops[..len[dir]].iter().copied());
        }
        kept
    }

    /// A file's content under `variant`: each sector holds the version after
    /// some number of its pending ops, the size is one of the pending sizes.
    fn file_content(&self, ino: Ino, variant: Variant) -> Vec<u8> {
        let Some(f) = self.files.get(&ino) else {
            return Vec::new();
        };
        let n = f.pending.len();
        if n == 0 || variant == Variant::DurableOnly {
            return f.synced.clone();
        }
        if variant == Variant::Everything {
            return f.current.clone();
        }
        let ops = self.trace.ops();
        // The version each sector ends at, and the version whose size wins.
        let torn_at = match variant {
            Variant::Torn { seed } => pick(mix(seed, SALT_TORN_POINT, ino), n - 1),
            _ => 0,
        };
        let size_version = match variant {
            Variant::Torn { seed } => torn_at + pick(mix(seed, SALT_SIZE, ino), 1),
            Variant::Scrambled { seed } => pick(mix(seed, SALT_SIZE, ino), n),
            _ => n,
        };
        let torn_op_sectors = match variant {
            Variant::Torn { .. } => {
                let mut v = f.synced.clone();
                for &i in &f.pending[..torn_at] {
                    apply_data(&mut v, &ops[i]);
                }
                touched(&ops[f.pending[torn_at]], v.len() as u64)
            }
            _ => 0..0,
        };
        let choice = |s: u64| -> usize {
            match variant {
                Variant::Torn { seed } => {
                    if torn_op_sectors.contains(&s)
                        && mix(seed, SALT_TORN_SECTOR, ino ^ (s << 20)) & 1 == 1
                    {
                        torn_at + 1
                    } else {
                        torn_at
                    }
                }
                Variant::Scrambled { seed } => pick(mix(seed, SALT_SECTOR, ino ^ (s << 20)), n),
                _ => n,
            }
        };
        let mut cur = f.synced.clone();
        let mut sizes = vec![cur.len()];
        let max_len = f
            .pending
            .iter()
            .fold((cur.len(), cur.clone()), |(m, mut v), &i| {
                apply_data(&mut v, &ops[i]);
                (m.max(v.len()), v)
            })
            .0;
        let mut result = cur.clone();
        result.resize(max_len, 0);
        for (k, &i) in f.pending.iter().enumerate() {
            let version = k + 1;
            let old_len = cur.len() as u64;
            apply_data(&mut cur, &ops[i]);
            sizes.push(cur.len());
            for s in touched(&ops[i], old_len) {
                if version <= choice(s) {
                    let dst = sector_of(&result, s);
                    let src = sector_of(&cur, s);
                    let n_src = src.len();
                    result[dst.start..dst.start + n_src].copy_from_slice(&cur[src]);
                    result[dst.start + n_src..dst.end].fill(0);
                }
            }
        }
        result.truncate(sizes[size_version.min(n)]);
        result
    }
}

/// One node of a crash state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrashNode {
    /// A directory and its entries.
    Dir {
        /// Permission bits.
        mode: u32,
        /// Name to node.
        entries: BTreeMap<OsString, Ino>,
    },
    /// A regular file and its bytes.
    File {
        /// Permission bits.
        mode: u32,
        /// Content.
        data: Vec<u8>,
    },
    /// A symbolic link.
    Symlink(PathBuf),
    /// A FIFO.
    Fifo {
        /// Permission bits.
        mode: u32,
    },
}

/// What the disk holds after a simulated power cut: the nodes reachable
/// from the root (hard links share a node).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CrashState {
    nodes: BTreeMap<Ino, CrashNode>,
}

impl CrashState {
    /// The node `ino`, if it is reachable.
    pub fn node(&self, ino: Ino) -> Option<&CrashNode> {
        self.nodes.get(&ino)
    }

    /// A digest of the whole state (equal states, equal digests).
    pub fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }

    /// Writes the state under `dest` (an existing, empty directory that
    /// stands for the mount's root): directories, files with their bytes
    /// and permission bits, symlinks, hard links.
    ///
    /// # Errors
    /// Any I/O error creating the tree.
    pub fn materialize(&self, dest: &Path) -> io::Result<()> {
        let mut made: HashMap<Ino, PathBuf> = HashMap::new();
        let mut dirs_to_chmod = Vec::new();
        let mut stack = vec![(ROOT, dest.to_path_buf())];
        while let Some((ino, path)) = stack.pop() {
            if let Some(first) = made.get(&ino) {
                if matches!(self.nodes.get(&ino), Some(CrashNode::File { .. })) {
                    std::fs::hard_link(first, &path)?;
                }
                continue;
            }
            match self.nodes.get(&ino) {
                Some(CrashNode::Dir { mode, entries }) => {
                    if ino != ROOT {
                        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
                    }
                    dirs_to_chmod.push((path.clone(), *mode));
                    for (name, child) in entries.iter().rev() {
                        stack.push((*child, path.join(name)));
                    }
                }
                Some(CrashNode::File { mode, data }) => {
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&path)?;
                    io::Write::write_all(&mut f, data)?;
                    f.set_permissions(std::fs::Permissions::from_mode(*mode))?;
                }
                Some(CrashNode::Symlink(target)) => std::os::unix::fs::symlink(target, &path)?,
                Some(CrashNode::Fifo { mode }) => {
                    rustix::fs::mknodat(
                        rustix::fs::CWD,
                        &path,
                        rustix::fs::FileType::Fifo,
                        rustix::fs::Mode::from_raw_mode(*mode),
                        0,
                    )?;
                }
                None => continue,
            }
            made.insert(ino, path);
        }
        // Directory modes last, so that a read-only directory can be filled.
        for (path, mode) in dirs_to_chmod.into_iter().rev() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }

    /// The content of the regular file at `path` (relative to the root,
    /// `/`-separated components), if there is one.
    pub fn file(&self, path: impl AsRef<Path>) -> Option<&[u8]> {
        let mut ino = ROOT;
        for comp in path.as_ref().components() {
            let std::path::Component::Normal(name) = comp else {
                continue;
            };
            match self.nodes.get(&ino) {
                Some(CrashNode::Dir { entries, .. }) => ino = *entries.get(name)?,
                _ => return None,
            }
        }
        match self.nodes.get(&ino) {
            Some(CrashNode::File { data, .. }) => Some(data),
            _ => None,
        }
    }
}

/// The crash state at one cut point under one variant (a one-off; use
/// [`crate::explore`] to walk many cuts efficiently).
pub fn crash_state(trace: &Trace, cut: usize, variant: Variant) -> CrashState {
    let mut r = Replayer::new(trace);
    r.advance_to(cut);
    r.state(variant)
}
