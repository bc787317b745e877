//! The one error type of this crate, and the tamper findings it carries.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where in the log a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Position {
    /// Segment number (the `N` of `segment-N.eal`); 0 for the sealed head
    /// file.
    pub segment: u32,
    /// Byte offset inside that file where the damaged or unexpected part
    /// starts (the start of a record's frame, or of the segment header).
    pub offset: u64,
    /// The sequence number expected at this place, when there is one.
    pub seq: Option<u64>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segment == 0 {
            write!(f, "sealed head, byte {}", self.offset)?;
        } else {
            write!(f, "segment {}, byte {}", self.segment, self.offset)?;
        }
        if let Some(seq) = self.seq {
            write!(f, " (record {seq})")?;
        }
        Ok(())
    }
}

/// What kind of tampering (or damage that a crash cannot explain) was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TamperKind {
    /// Bytes of a record, a segment header or the sealed head were changed:
    /// its MAC does not verify, or its structure is invalid where a crash
    /// cannot have left it so.
    ModifiedBytes,
    /// Records are missing: the record found here has a later sequence
    /// number than expected.
    DeletedRecords {
        /// The sequence number expected here.
        expected: u64,
        /// The sequence number found here.
        found: u64,
    },
    /// Records are out of order: the expected record appears later.
    ReorderedRecords {
        /// The sequence number expected here.
        expected: u64,
        /// The sequence number found here.
        found: u64,
    },
    /// A copy of an earlier record was inserted.
    DuplicatedRecord {
        /// The sequence number of the duplicated record.
        seq: u64,
    },
    /// A record or segment belongs to another log.
    SplicedFromAnotherLog,
    /// The log ends before a point it is known to have reached (the sealed
    /// head, an anchor, or the close of a segment that has a successor).
    Truncated {
        /// The last sequence number the log is known to have reached.
        expected_last: u64,
        /// The last sequence number actually found, if any.
        found_last: Option<u64>,
    },
    /// The log's content differs from what a signed anchor recorded: the
    /// chain hash at the anchored sequence number is not the anchored one.
    AnchorMismatch {
        /// The anchored sequence number.
        seq: u64,
    },
    /// The signed head file is missing while segments exist.
    MissingHead,
    /// A seal or the head carries a signature that does not verify with
    /// the key certified for its epoch: forged, or signed by a key that
    /// the log never certified (for example a stolen later key).
    BadSignature {
        /// The epoch whose key should have signed it.
        epoch: u32,
    },
    /// Records were pruned before the retention period allowed (the
    /// pruned range's last seal plus the retention period is later than
    /// the tombstone that names it), or an anchored record was pruned
    /// early.
    PrunedEarly {
        /// The last sequence number of the offending range.
        last_seq: u64,
    },
    /// A tombstone is dated after the verifier's clock, before the record
    /// before it, or after the seal after it; or its list of ranges is not
    /// cumulative (it drops or changes a range named by an earlier one);
    /// or it carries another retention period or genesis than the log's.
    BadTombstone,
    /// A segment file is missing (a gap in segment numbers), the start of
    /// the log is missing without a tombstone that names the pruned range,
    /// or every segment is gone while the sealed head remains (`expected`
    /// is then the segment the head names).
    MissingSegment {
        /// The segment number expected.
        expected: u32,
    },
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TamperKind::ModifiedBytes => f.write_str("modified bytes"),
            TamperKind::DeletedRecords { expected, found } => {
                write!(
                    f,
                    "deleted records: expected record {expected}, found record {found}"
                )
            }
            TamperKind::ReorderedRecords { expected, found } => {
                write!(
                    f,
                    "reordered records: expected record {expected}, found record {found}"
                )
            }
            TamperKind::DuplicatedRecord { seq } => write!(f, "duplicated record {seq}"),
            TamperKind::SplicedFromAnotherLog => f.write_str("data spliced in from another log"),
            TamperKind::Truncated {
                expected_last,
                found_last: Some(found),
            } => write!(
                f,
                "truncated: the log reached record {expected_last}, it now ends at record {found}"
            ),
            TamperKind::Truncated {
                expected_last,
                found_last: None,
            } => {
                write!(
                    f,
                    "truncated: the log reached record {expected_last}, no record is left"
                )
            }
            TamperKind::AnchorMismatch { seq } => {
                write!(
                    f,
                    "the chain at record {seq} differs from the anchored checkpoint"
                )
            }
            TamperKind::MissingHead => f.write_str("the sealed head file is missing"),
            TamperKind::MissingSegment { expected } => write!(f, "segment {expected} is missing"),
            TamperKind::BadSignature { epoch } => {
                write!(f, "a signature of epoch {epoch} does not verify")
            }
            TamperKind::PrunedEarly { last_seq } => write!(
                f,
                "records through {last_seq} were pruned before the retention period allowed"
            ),
            TamperKind::BadTombstone => {
                f.write_str("a tombstone is out of order, from the future, or not cumulative")
            }
        }
    }
}

impl TamperKind {
    /// A one-byte code for the kind, as quarantine records store it
    /// (FORMAT.md lists them; [`crate::QuarantineEvent::kind_code`]).
    pub fn code(&self) -> u8 {
        match self {
            TamperKind::ModifiedBytes => 1,
            TamperKind::DeletedRecords { .. } => 2,
            TamperKind::ReorderedRecords { .. } => 3,
            TamperKind::DuplicatedRecord { .. } => 4,
            TamperKind::SplicedFromAnotherLog => 5,
            TamperKind::Truncated { .. } => 6,
            TamperKind::AnchorMismatch { .. } => 7,
            TamperKind::MissingHead => 8,
            TamperKind::MissingSegment { .. } => 9,
            TamperKind::BadSignature { .. } => 10,
            TamperKind::PrunedEarly { .. } => 11,
            TamperKind::BadTombstone => 12,
        }
    }
}

/// The first problem verification found: its kind and exact position.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tamper {
    /// What was found.
    pub kind: TamperKind,
    /// Where.
    pub position: Position,
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.kind, self.position)
    }
}

/// An error from an audit-log operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The log failed verification: tampering, or damage a crash cannot
    /// explain. Carries the first problem's kind and position.
    Tampered(Tamper),
    /// A record (with the read key) or the writer state (with the state
    /// key) could not be decrypted: wrong key, or bytes changed by someone
    /// who could rewrite the chain. Deliberately says nothing more.
    DecryptionFailed,
    /// The operating system's random generator failed.
    Random(String),
    /// `create` found a log (or other files) already in the directory.
    AlreadyExists {
        /// The directory.
        path: PathBuf,
    },
    /// The log is not the one that was pinned (`Options::expect_log_id`)
    /// or that the verifier's key belongs to.
    WrongLog {
        /// Hex of the log id expected.
        expected: String,
        /// Hex of the log id found.
        found: String,
    },
    /// A file uses a format version this build does not know.
    UnsupportedVersion {
        /// Which file: `"segment"`, `"head"`, `"state"`, `"seals"`.
        what: &'static str,
        /// The version found.
        version: u16,
    },
    /// Another process holds the log's writer lock.
    Locked {
        /// The holder's process id, when known.
        pid: Option<u32>,
    },
    /// The directory holds no audit log.
    NotALog {
        /// The directory.
        path: PathBuf,
    },
    /// An event or option given by the caller is invalid; the message says
    /// which and why.
    InvalidInput(String),
    /// A checkpoint text is malformed, signed by another key, or for
    /// another log; the message says which.
    BadAnchor(String),
    /// The anchored record lies in a pruned range that kept no chain head
    /// for it, so the anchor can no longer be checked.
    AnchorPruned {
        /// The anchored sequence number.
        seq: u64,
    },
    /// An earlier write or sync failed; the writer refuses further
    /// appends. Reopen the log to recover.
    Poisoned,
    /// A file-system operation failed.
    Fs(secure_fs::Error),
    /// An I/O error on an open log file.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Tampered(t) => write!(f, "audit log failed verification: {t}"),
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::Random(msg) => write!(f, "the system random generator failed: {msg}"),
            Error::AlreadyExists { path } => {
                write!(
                    f,
                    "{}: a log (or other files) already exists here",
                    path.display()
                )
            }
            Error::WrongLog { expected, found } => {
                write!(f, "wrong log: expected log id {expected}, found {found}")
            }
            Error::UnsupportedVersion { what, version } => {
                write!(f, "unsupported {what} format version {version}")
            }
            Error::Locked { pid: Some(pid) } => {
                write!(f, "audit log is locked by another writer (process {pid})")
            }
            Error::Locked { pid: None } => f.write_str("audit log is locked by another writer"),
            Error::NotALog { path } => write!(f, "{}: no audit log here", path.display()),
            Error::InvalidInput(msg) => write!(f, "invalid input: {msg}"),
            Error::BadAnchor(msg) => write!(f, "bad anchor: {msg}"),
            Error::AnchorPruned { seq } => write!(
                f,
                "the anchored record {seq} was pruned and no chain head was kept for it"
            ),
            Error::Poisoned => {
                f.write_str("an earlier write failed; reopen the audit log to recover")
            }
            Error::Fs(e) => write!(f, "{e}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Fs(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<secure_fs::Error> for Error {
    fn from(e: secure_fs::Error) -> Self {
        match e.kind() {
            secure_fs::ErrorKind::Locked { pid } => Error::Locked { pid: *pid },
            _ => Error::Fs(e),
        }
    }
}

impl Error {
    pub(crate) fn tamper(kind: TamperKind, segment: u32, offset: u64, seq: Option<u64>) -> Self {
        Error::Tampered(Tamper {
            kind,
            position: Position {
                segment,
                offset,
                seq,
            },
        })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The tamper finding, if this error is one.
    pub fn tamper_report(&self) -> Option<&Tamper> {
        match self {
            Error::Tampered(t) => Some(t),
            _ => None,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
