//! The recorded trace: every change that reached the file system, in the
//! order the file system applied it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// An inode number as the recording file system numbers them. Numbers are
/// never reused within one trace; the root directory is [`ROOT`].
pub type Ino = u64;

/// The root directory of the mount.
pub const ROOT: Ino = 1;

/// What kind of node a create made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link with this target.
    Symlink(PathBuf),
    /// A FIFO (named pipe).
    Fifo,
}

/// One recorded operation. Only operations that succeeded are recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// A new node `ino` named `name` in directory `parent` (create, mknod,
    /// mkdir, symlink), with permission bits `mode`.
    Create {
        /// The directory that got the entry.
        parent: Ino,
        /// The entry's name.
        name: OsString,
        /// The new node.
        ino: Ino,
        /// What was created.
        kind: NodeKind,
        /// Permission bits (`0o7777` mask).
        mode: u32,
    },
    /// A hard link: `ino` gets one more name, `name` in `parent`.
    Link {
        /// The node linked.
        ino: Ino,
        /// The directory that got the entry.
        parent: Ino,
        /// The new name.
        name: OsString,
    },
    /// An entry removed (unlink or rmdir).
    Unlink {
        /// The directory that lost the entry.
        parent: Ino,
        /// The removed name.
        name: OsString,
    },
    /// A rename (`renameat2`; `exchange` swaps the two names).
    Rename {
        /// Source directory.
        parent: Ino,
        /// Source name.
        name: OsString,
        /// Destination directory.
        new_parent: Ino,
        /// Destination name.
        new_name: OsString,
        /// `RENAME_EXCHANGE`: both names exist and swap.
        exchange: bool,
    },
    /// Bytes written at an offset.
    Write {
        /// The file written.
        ino: Ino,
        /// Byte offset.
        offset: u64,
        /// The bytes, as the file system received them.
        data: Vec<u8>,
    },
    /// The file's size set (truncate, or `O_TRUNC`).
    SetLen {
        /// The file.
        ino: Ino,
        /// The new size.
        len: u64,
    },
    /// Permission bits changed.
    SetMode {
        /// The node.
        ino: Ino,
        /// The new bits (`0o7777` mask).
        mode: u32,
    },
    /// `fsync` or `fdatasync` of a file (or of a directory opened as a
    /// file; the kernel sends directories as [`Op::FsyncDir`]).
    Fsync {
        /// The file.
        ino: Ino,
        /// `fdatasync` rather than `fsync`.
        datasync: bool,
    },
    /// `fsync` of a directory: its entries become durable.
    FsyncDir {
        /// The directory.
        ino: Ino,
    },
    /// A marker the workload put in the trace with
    /// [`crate::Recorder::mark`], typically "operation acknowledged".
    Mark(String),
}

impl Op {
    /// Whether this is a marker rather than a file-system operation.
    pub fn is_mark(&self) -> bool {
        matches!(self, Op::Mark(_))
    }

    /// Whether this op forces something to stable storage.
    pub fn is_sync(&self) -> bool {
        matches!(self, Op::Fsync { .. } | Op::FsyncDir { .. })
    }
}

/// A recorded trace of operations, in the order the file system applied
/// them.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub(crate) ops: Vec<Op>,
}

impl Trace {
    /// A trace made of these operations (for tests of the crash model;
    /// traces of real workloads come from [`crate::Recorder::finish`]).
    pub fn from_ops(ops: Vec<Op>) -> Self {
        Trace { ops }
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Number of operations (cut points are `0..=len`).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The index just after the first marker with this label: cuts before it
    /// are usually set-up, not the operation under test.
    pub fn position_after_mark(&self, label: &str) -> Option<usize> {
        self.ops
            .iter()
            .position(|op| matches!(op, Op::Mark(l) if l == label))
            .map(|i| i + 1)
    }

    /// Labels of the markers before cut point `cut`, in order.
    pub fn marks_before(&self, cut: usize) -> Vec<&str> {
        self.ops[..cut.min(self.ops.len())]
            .iter()
            .filter_map(|op| match op {
                Op::Mark(l) => Some(l.as_str()),
                _ => None,
            })
            .collect()
    }

    /// How many operations of each kind were recorded, for reports.
    pub fn counts(&self) -> OpCounts {
        let mut c = OpCounts::default();
        for op in &self.ops {
            match op {
                Op::Create { .. } => c.creates += 1,
                Op::Link { .. } => c.links += 1,
                Op::Unlink { .. } => c.unlinks += 1,
                Op::Rename { .. } => c.renames += 1,
                Op::Write { .. } => c.writes += 1,
                Op::SetLen { .. } => c.truncates += 1,
                Op::SetMode { .. } => c.chmods += 1,
                Op::Fsync { .. } => c.fsyncs += 1,
                Op::FsyncDir { .. } => c.dir_fsyncs += 1,
                Op::Mark(_) => c.marks += 1,
            }
        }
        c
    }
}

/// Operation counts of a trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpCounts {
    /// Creates (files, directories, symlinks, FIFOs).
    pub creates: usize,
    /// Hard links.
    pub links: usize,
    /// Unlinks and rmdirs.
    pub unlinks: usize,
    /// Renames.
    pub renames: usize,
    /// Writes.
    pub writes: usize,
    /// Size changes.
    pub truncates: usize,
    /// Mode changes.
    pub chmods: usize,
    /// File fsync/fdatasync calls.
    pub fsyncs: usize,
    /// Directory fsync calls.
    pub dir_fsyncs: usize,
    /// Markers.
    pub marks: usize,
}

/// The trace being recorded, shared by the file system thread and the
/// workload (for markers).
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedTrace(Arc<Mutex<Vec<Op>>>);

impl SharedTrace {
    pub(crate) fn push(&self, op: Op) {
        // A poisoned lock only means a panic elsewhere; the ops stay valid.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(op);
    }

    pub(crate) fn take(&self) -> Trace {
        let ops = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        Trace { ops }
    }
}
