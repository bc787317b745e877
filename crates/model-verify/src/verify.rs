//! Verification of a model directory against a manifest, and the verified
//! handles loaders read from.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use crate::content::{self, Bytes, Content};
use crate::digest::Sha256Digest;
use crate::engine::{self, NoProgress, Progress, Target};
use crate::error::Error;
use crate::fsutil::ModelDir;
use crate::manifest::{
    Authenticity, EntryDigest, HashMethod, MANIFEST_FILE_NAME, Manifest, ManifestEntry,
};
use crate::policy;
use crate::safetensors::{DEFAULT_MAX_HEADER_LEN, Header, SafeTensors, TensorView};

/// Files that may lie in a model directory without being listed, unless the
/// caller replaces the list with [`Verifier::ignore_only`]: the manifest
/// itself and repository housekeeping.
pub const DEFAULT_IGNORE: &[&str] = &[
    MANIFEST_FILE_NAME,
    "README.md",
    ".gitattributes",
    ".gitignore",
];

/// Default bound on one file whose size the manifest does not record
/// (CHECKSUMS files, OMS `files` bundles): 32 GiB, above any single file of
/// a sharded Hugging Face checkpoint. See [`Verifier::max_unsized_file`].
pub const DEFAULT_MAX_UNSIZED_FILE: u64 = 32 << 30;

/// Checks a model directory against a [`Manifest`], then either reports
/// ([`Verifier::verify`]) or hands out the verified bytes
/// ([`Verifier::load`]).
///
/// Every check fails closed with an [`Error`] naming the file:
/// a listed file missing, a size or digest mismatch, an unlisted file, a
/// symlink, an unsafe path, code or a pickle, a configuration asking for
/// remote code, an invalid safetensors header, a manifest for another model
/// or revision.
pub struct Verifier<'m> {
    manifest: &'m Manifest,
    expect_name: Option<String>,
    expect_revision: Option<String>,
    ignore: Vec<String>,
    max_header_len: u64,
    max_unsized_file: u64,
    threads: usize,
    require_signature: bool,
    progress: &'m dyn Progress,
}

impl std::fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("manifest", &self.manifest.name())
            .field("expect_name", &self.expect_name)
            .field("expect_revision", &self.expect_revision)
            .field("ignore", &self.ignore)
            .field("max_header_len", &self.max_header_len)
            .field("max_unsized_file", &self.max_unsized_file)
            .field("threads", &self.threads)
            .field("require_signature", &self.require_signature)
            .finish_non_exhaustive()
    }
}

impl<'m> Verifier<'m> {
    /// A verifier for `manifest` with the default ignore list
    /// ([`DEFAULT_IGNORE`] plus the manifest's own `ignore_paths`), the
    /// default safetensors header bound (100 MB) and one thread per core.
    #[must_use]
    pub fn new(manifest: &'m Manifest) -> Self {
        Self {
            manifest,
            expect_name: None,
            expect_revision: None,
            ignore: DEFAULT_IGNORE.iter().map(|s| (*s).to_owned()).collect(),
            max_header_len: DEFAULT_MAX_HEADER_LEN,
            max_unsized_file: DEFAULT_MAX_UNSIZED_FILE,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            require_signature: false,
            progress: &NoProgress,
        }
    }

    /// Refuses the manifest unless its origin is vouched for: a signature
    /// checked under the caller's key ([`Manifest::parse_signed`],
    /// [`Authenticity::Signed`]) or a manifest compiled into the
    /// application ([`Manifest::pinned`], [`Authenticity::Pinned`]). An
    /// unsigned manifest, or a bundle read with [`Manifest::parse`] (whose
    /// signature is not checked), is refused with
    /// [`Error::SignatureRequired`] before anything is read.
    ///
    /// Without this (the default) an unauthenticated manifest verifies,
    /// and [`Report::authenticity`] says so: such a manifest proves
    /// integrity against accidents only. The CLI's `--require-signature`
    /// sets it.
    #[must_use]
    pub fn require_signature(mut self) -> Self {
        self.require_signature = true;
        self
    }

    /// Refuses a manifest whose model name is not `name`.
    #[must_use]
    pub fn expect_name(mut self, name: impl Into<String>) -> Self {
        self.expect_name = Some(name.into());
        self
    }

    /// Refuses a manifest whose revision is not `revision` (or that records
    /// none).
    #[must_use]
    pub fn expect_revision(mut self, revision: impl Into<String>) -> Self {
        self.expect_revision = Some(revision.into());
        self
    }

    /// Adds a path (a file, or a directory: every file below it) whose
    /// regular files may be present without being listed. Ignore rules
    /// match regular files only: every directory is still walked, and an
    /// ignored file is still refused if its name or its first bytes say
    /// code, a pickle or an archive (it is read that far, not hashed); a
    /// symlink, FIFO or device is refused whatever its name. A path that is
    /// listed in the manifest is verified regardless.
    ///
    /// The path is relative to the model directory and `/`-separated; a
    /// trailing `/` is removed. A path that manifests may not hold
    /// (absolute, `..`, `.` or empty components, backslashes, control
    /// characters) makes [`Verifier::verify`] and [`Verifier::load`] fail
    /// with [`Error::UnsafePath`].
    #[must_use]
    pub fn ignore(mut self, path: impl Into<String>) -> Self {
        self.ignore.push(normalize_ignore(path.into()));
        self
    }

    /// Replaces the ignore list (the manifest's `ignore_paths` still apply).
    /// Each path is treated as by [`Verifier::ignore`].
    #[must_use]
    pub fn ignore_only<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ignore = paths
            .into_iter()
            .map(|p| normalize_ignore(p.into()))
            .collect();
        self
    }

    /// Bound on a safetensors JSON header (default 100 MB).
    #[must_use]
    pub fn max_safetensors_header(mut self, bytes: u64) -> Self {
        self.max_header_len = bytes;
        self
    }

    /// Bound on one file whose size the manifest does not record (CHECKSUMS
    /// files and OMS `files` bundles carry no sizes); default
    /// [`DEFAULT_MAX_UNSIZED_FILE`] (32 GiB). A larger file is refused with
    /// [`Error::TooLarge`] before it is read. Files the manifest gives a
    /// size for are bounded by that size instead.
    ///
    /// Whatever the bound, [`Verifier::load`] never reads such a file into
    /// memory before its digest has matched: it is hashed streaming first,
    /// then read and hashed again.
    #[must_use]
    pub fn max_unsized_file(mut self, bytes: u64) -> Self {
        self.max_unsized_file = bytes;
        self
    }

    /// Number of hashing threads (default: one per core).
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// A progress hook, for example a progress bar.
    #[must_use]
    pub fn on_progress(mut self, progress: &'m dyn Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Verifies `dir` and reports what was verified. Nothing is kept open.
    ///
    /// This answers "is this directory what the manifest says, right now".
    /// To *use* the model, call [`Verifier::load`] instead: a report does
    /// not stop the files being replaced afterwards.
    ///
    /// # Errors
    /// The refusal named by the first failed check (see [`Error`]), or an
    /// I/O error.
    pub fn verify(&self, dir: impl AsRef<Path>) -> Result<Report, Error> {
        let v = self.run(dir.as_ref(), false)?;
        Ok(v.report)
    }

    /// Verifies `dir` and returns the verified contents: each file is opened
    /// once, read into memory while it is hashed, and checked; loaders read
    /// tensors from these bytes, never from the path again, so replacing or
    /// rewriting a file after (or during) verification cannot change what is
    /// loaded.
    ///
    /// Memory use is the size of the model; [`Verifier::load_each`] hands
    /// the files over one at a time instead.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn load(&self, dir: impl AsRef<Path>) -> Result<VerifiedModel, Error> {
        let v = self.run(dir.as_ref(), true)?;
        Ok(VerifiedModel {
            report: v.report,
            files: v.files,
        })
    }

    /// Verifies `dir` completely, then hands the loader one file at a time
    /// ([`VerifiedFiles`]), so that peak memory is one file (one shard of a
    /// sharded checkpoint) plus what the loader keeps, not the whole model.
    ///
    /// Nothing is handed over before the whole model has verified: this
    /// first runs every check of [`Verifier::verify`] through the open
    /// handles (hashing streaming, keeping nothing). Each call of
    /// [`Iterator::next`] then reads one file into memory while hashing it
    /// again, checks that the bytes hash as verified and pass the content
    /// checks again, and returns them; a file changed in between is
    /// [`Error::FileChanged`], after which the loader must discard what it
    /// loaded. The price is reading every file twice.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn load_each(&self, dir: impl AsRef<Path>) -> Result<VerifiedFiles, Error> {
        let dir = dir.as_ref();
        let prepared = self.prepare(dir)?;
        let checked = self.check_all(dir, prepared, false)?;
        let Checked {
            report,
            opened,
            digests,
            contents,
            ..
        } = checked;
        let queue = opened
            .into_iter()
            .zip(digests)
            .zip(contents)
            .map(|(((entry, file, size), digests), content)| Pending {
                path: entry.path().to_owned(),
                whole: matches!(entry.digest, EntryDigest::Whole(_)),
                file,
                size,
                digests,
                content,
            })
            .collect::<Vec<_>>()
            .into_iter();
        Ok(VerifiedFiles {
            report,
            queue,
            method: self.manifest.method(),
            threads: self.threads,
            max_header_len: self.max_header_len,
        })
    }

    fn is_ignored(&self, rel: &str) -> bool {
        self.ignore
            .iter()
            .chain(self.manifest.ignore_paths())
            .any(|ig| ignore_matches(ig, rel))
    }

    /// The checks that need no file contents, the walk, and one open handle
    /// per listed file.
    fn prepare(&self, dir: &Path) -> Result<Vec<(&'m ManifestEntry, File, u64)>, Error> {
        let m = self.manifest;
        if self.require_signature && !m.authenticity().is_trusted() {
            return Err(Error::SignatureRequired);
        }
        if let Some(expected) = &self.expect_name
            && m.name() != Some(expected.as_str())
        {
            return Err(Error::WrongModel {
                expected: expected.clone(),
                found: m.name().unwrap_or("").to_owned(),
            });
        }
        if let Some(expected) = &self.expect_revision
            && m.revision() != Some(expected.as_str())
        {
            return Err(Error::WrongRevision {
                expected: expected.clone(),
                found: m.revision().map(str::to_owned),
            });
        }
        if m.entries().is_empty() {
            return Err(Error::manifest("the manifest lists no files"));
        }
        for ig in &self.ignore {
            policy::check_relative_path(ig)?;
        }
        for e in m.entries() {
            policy::check_relative_path(e.path())?;
            policy::refuse_code_by_name(e.path())?;
        }
        let listed: BTreeSet<&str> = m.entries().iter().map(ManifestEntry::path).collect();

        let root = ModelDir::open(dir)?;
        policy::admit(
            &root,
            Some(&listed),
            &|rel| self.is_ignored(rel),
            self.max_header_len,
        )?;

        // Open each file once; everything below reads through these handles.
        let mut opened = Vec::with_capacity(m.entries().len());
        for e in m.entries() {
            let file = root.open_file(e.path())?;
            let size = file
                .metadata()
                .map_err(|err| Error::io(dir.join(e.path()), err))?
                .len();
            if let Some(expected) = e.size()
                && expected != size
            {
                return Err(Error::SizeMismatch {
                    path: e.path().to_owned(),
                    expected,
                    actual: size,
                });
            }
            if e.size().is_none() && size > self.max_unsized_file {
                return Err(Error::TooLarge {
                    path: e.path().to_owned(),
                    size,
                    limit: self.max_unsized_file,
                });
            }
            opened.push((e, file, size));
        }
        Ok(opened)
    }

    fn run(&self, dir: &Path, retain: bool) -> Result<Run, Error> {
        let opened = self.prepare(dir)?;
        let c = self.check_all(dir, opened, retain)?;
        let files = if retain {
            c.opened
                .into_iter()
                .zip(c.digests)
                .zip(c.buffers)
                .zip(c.contents)
                .map(|((((e, _, _), d), bytes), content)| VerifiedFile {
                    path: e.path().to_owned(),
                    sha256: match e.digest {
                        EntryDigest::Whole(_) => d.first().copied(),
                        EntryDigest::Shards(_) => None,
                    },
                    bytes,
                    header: content.header,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Run {
            report: c.report,
            files,
        })
    }

    /// Hashes, compares and runs the content checks; with `retain`, the
    /// files' bytes are kept (read while hashed).
    fn check_all(
        &self,
        dir: &Path,
        opened: Vec<(&'m ManifestEntry, File, u64)>,
        retain: bool,
    ) -> Result<Checked<'m>, Error> {
        let m = self.manifest;
        // With `load`, files of known size are read into memory while they
        // are hashed. A file the manifest gives no size for is hashed
        // streaming first (its size on disk is the attacker's to choose) and
        // read into memory only once its digest has matched, below.
        let in_memory_now = |e: &ManifestEntry| retain && e.size().is_some();
        let mut buffers: Vec<Vec<u8>> = Vec::with_capacity(opened.len());
        for (e, _, size) in &opened {
            buffers.push(if in_memory_now(e) {
                zeroed_buffer(dir, e.path(), *size)?
            } else {
                Vec::new()
            });
        }
        let deferred_total: u64 = opened
            .iter()
            .filter(|(e, _, _)| retain && e.size().is_none())
            .map(|(_, _, size)| size)
            .sum();
        let first_total: u64 = opened.iter().map(|(_, _, size)| size).sum();
        let grand_total = first_total.saturating_add(deferred_total);
        let targets: Vec<Target<'_>> = opened
            .iter()
            .zip(buffers.iter_mut())
            .map(|((e, f, size), buf)| Target {
                path: e.path(),
                file: f,
                size: *size,
                dest: in_memory_now(e).then_some(buf.as_mut_slice()),
            })
            .collect();
        let digests = engine::hash_all(
            targets,
            m.method(),
            self.threads,
            &Offset {
                inner: self.progress,
                base: 0,
                total: grand_total,
            },
        )?;

        for ((e, _, _), got) in opened.iter().zip(&digests) {
            compare(e, got, m.method())?;
        }

        // Now read the size-less files whose streamed digest matched, and
        // check that the bytes read hash the same.
        if deferred_total > 0 {
            let mut targets = Vec::new();
            let mut which = Vec::new();
            for (i, ((e, f, size), buf)) in opened.iter().zip(buffers.iter_mut()).enumerate() {
                if e.size().is_none() {
                    *buf = zeroed_buffer(dir, e.path(), *size)?;
                    targets.push(Target {
                        path: e.path(),
                        file: f,
                        size: *size,
                        dest: Some(buf.as_mut_slice()),
                    });
                    which.push(i);
                }
            }
            let again = engine::hash_all(
                targets,
                m.method(),
                self.threads,
                &Offset {
                    inner: self.progress,
                    base: first_total,
                    total: grand_total,
                },
            )?;
            for (i, got) in which.into_iter().zip(again) {
                if got != digests[i] {
                    return Err(Error::FileChanged {
                        path: opened[i].0.path().to_owned(),
                    });
                }
            }
        }

        // Content rules, on the verified bytes (or, for a report, read
        // through the same handles).
        let mut contents: Vec<Content> = Vec::with_capacity(opened.len());
        for (i, (e, file, size)) in opened.iter().enumerate() {
            let bytes = match buffers.get(i).filter(|_| retain) {
                Some(b) => Bytes::Mem(b),
                None => Bytes::File(file, *size),
            };
            contents.push(content::check(
                e.path(),
                &bytes,
                self.max_header_len,
                u64::MAX,
            )?);
        }
        let pairs: Vec<(&str, &Content)> = opened
            .iter()
            .map(|(e, _, _)| e.path())
            .zip(&contents)
            .collect();
        content::check_model(&pairs)?;

        let report = Report {
            name: m.name().map(str::to_owned),
            revision: m.revision().map(str::to_owned),
            method: m.method(),
            authenticity: m.authenticity(),
            files: opened
                .iter()
                .zip(&digests)
                .map(|((e, _, size), d)| ReportEntry {
                    path: e.path().to_owned(),
                    size: *size,
                    sha256: match e.digest {
                        EntryDigest::Whole(_) => d.first().copied(),
                        EntryDigest::Shards(_) => None,
                    },
                })
                .collect(),
        };
        Ok(Checked {
            report,
            opened,
            digests,
            buffers,
            contents,
        })
    }
}

/// Whether ignore rule `ig` (a file, or a directory: every file below it)
/// covers the regular file `rel`.
fn ignore_matches(ig: &str, rel: &str) -> bool {
    rel == ig || rel.strip_prefix(ig).is_some_and(|r| r.starts_with('/'))
}

/// Compares a file's digests with the manifest's.
fn compare(e: &ManifestEntry, got: &[Sha256Digest], method: HashMethod) -> Result<(), Error> {
    match (&e.digest, method) {
        (EntryDigest::Whole(want), _) => {
            if got.len() != 1 || got[0] != *want {
                return Err(Error::DigestMismatch {
                    path: e.path().to_owned(),
                    shard: None,
                });
            }
        }
        (EntryDigest::Shards(want), HashMethod::Shards { shard_size }) => {
            for (i, w) in want.iter().enumerate() {
                if got.get(i) != Some(w) {
                    let start = shard_size.saturating_mul(i as u64);
                    let end = start.saturating_add(shard_size).min(e.size().unwrap_or(0));
                    return Err(Error::DigestMismatch {
                        path: e.path().to_owned(),
                        shard: Some((start, end)),
                    });
                }
            }
            if got.len() != want.len() {
                return Err(Error::DigestMismatch {
                    path: e.path().to_owned(),
                    shard: None,
                });
            }
        }
        (EntryDigest::Shards(_), HashMethod::Files) => {
            return Err(Error::manifest("sharded entry in a files manifest"));
        }
    }
    Ok(())
}

/// Everything [`Verifier::check_all`] established.
struct Checked<'m> {
    report: Report,
    opened: Vec<(&'m ManifestEntry, File, u64)>,
    digests: Vec<Vec<Sha256Digest>>,
    buffers: Vec<Vec<u8>>,
    contents: Vec<Content>,
}

/// A verified file waiting to be read again and handed over.
struct Pending {
    path: String,
    whole: bool,
    file: File,
    size: u64,
    digests: Vec<Sha256Digest>,
    content: Content,
}

/// The files of a fully verified model, handed over one at a time
/// ([`Verifier::load_each`]): each [`Iterator::next`] reads one file into
/// memory while hashing it again and returns it once its bytes hash as
/// verified; drop each file once loaded, and peak memory stays one file.
///
/// An `Err` item (the file changed since it was verified, or an I/O error)
/// ends the iteration: the loader must discard what it loaded.
#[derive(Debug)]
pub struct VerifiedFiles {
    report: Report,
    queue: std::vec::IntoIter<Pending>,
    method: HashMethod,
    threads: usize,
    max_header_len: u64,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl VerifiedFiles {
    /// What was verified (every file, before any was handed over).
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }

    fn read_one(&self, p: Pending) -> Result<VerifiedFile, Error> {
        let mut buf = zeroed_buffer(Path::new(""), &p.path, p.size)?;
        let got = engine::hash_all(
            vec![Target {
                path: &p.path,
                file: &p.file,
                size: p.size,
                dest: Some(buf.as_mut_slice()),
            }],
            self.method,
            self.threads,
            &NoProgress,
        )?;
        let changed = || Error::FileChanged {
            path: p.path.clone(),
        };
        if got.first() != Some(&p.digests) {
            return Err(changed());
        }
        let again = content::check(&p.path, &Bytes::Mem(&buf), self.max_header_len, u64::MAX)?;
        if again != p.content {
            return Err(changed());
        }
        Ok(VerifiedFile {
            sha256: if p.whole {
                p.digests.first().copied()
            } else {
                None
            },
            path: p.path,
            bytes: buf,
            header: again.header,
        })
    }
}

impl Iterator for VerifiedFiles {
    type Item = Result<VerifiedFile, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let p = self.queue.next()?;
        let r = self.read_one(p);
        if r.is_err() {
            // Nothing more after a failure.
            self.queue = Vec::new().into_iter();
        }
        Some(r)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.queue.len();
        (0, Some(n))
    }
}

/// An ignore path as given, less any trailing `/` (a directory); checked
/// like a manifest path before use.
fn normalize_ignore(mut path: String) -> String {
    let kept = path.trim_end_matches('/').len();
    path.truncate(kept);
    path
}

/// Reports a hashing pass's progress as part of a larger total.
struct Offset<'p> {
    inner: &'p dyn Progress,
    base: u64,
    total: u64,
}

impl Progress for Offset<'_> {
    fn on_bytes(&self, done: u64, _total: u64) {
        self.inner
            .on_bytes(self.base.saturating_add(done), self.total);
    }
}

/// A zeroed buffer of `size` bytes, or an error (not an abort) when the
/// memory cannot be had.
fn zeroed_buffer(dir: &Path, path: &str, size: u64) -> Result<Vec<u8>, Error> {
    let n = usize::try_from(size).map_err(|_| {
        Error::io(
            dir.join(path),
            std::io::Error::other("file too large for memory"),
        )
    })?;
    // Probe first so that a model larger than memory is an error, not an
    // abort; then take zeroed memory from the allocator (fresh zero pages,
    // no memset of the whole model).
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(n).map_err(|_| {
        Error::io(
            dir.join(path),
            std::io::Error::from(std::io::ErrorKind::OutOfMemory),
        )
    })?;
    drop(probe);
    Ok(vec![0u8; n])
}

struct Run {
    report: Report,
    files: Vec<VerifiedFile>,
}

/// What [`Verifier::verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    name: Option<String>,
    revision: Option<String>,
    method: HashMethod,
    authenticity: Authenticity,
    files: Vec<ReportEntry>,
}

/// One verified file in a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntry {
    /// Path relative to the model directory.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Whole-file SHA-256 (`None` for sharded manifests).
    pub sha256: Option<Sha256Digest>,
}

impl Report {
    /// The model name from the manifest.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The revision from the manifest.
    #[must_use]
    pub fn revision(&self) -> Option<&str> {
        self.revision.as_deref()
    }
    /// How the files were hashed.
    #[must_use]
    pub fn method(&self) -> HashMethod {
        self.method
    }
    /// Whether the manifest's signature was checked.
    #[must_use]
    pub fn authenticity(&self) -> Authenticity {
        self.authenticity
    }
    /// The verified files, in manifest order.
    #[must_use]
    pub fn files(&self) -> &[ReportEntry] {
        &self.files
    }
    /// Total bytes verified.
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// A verified model: the report and every file's verified bytes.
#[derive(Debug)]
pub struct VerifiedModel {
    report: Report,
    files: Vec<VerifiedFile>,
}

impl VerifiedModel {
    /// What was verified.
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The verified file at `path` (relative, `/`-separated).
    #[must_use]
    pub fn file(&self, path: &str) -> Option<&VerifiedFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// All verified files, in manifest order.
    #[must_use]
    pub fn files(&self) -> &[VerifiedFile] {
        &self.files
    }

    /// The tensor called `name`, from whichever safetensors file holds it
    /// (tensor names are unique across the model: verification refuses a
    /// name defined twice).
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<TensorView<'_>> {
        self.files
            .iter()
            .find_map(|f| f.safetensors().and_then(|st| st.tensor(name)))
    }

    /// Every tensor of every safetensors file, file by file in manifest
    /// order, by name within a file.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> + '_ {
        self.files
            .iter()
            .filter_map(VerifiedFile::safetensors)
            .flat_map(|st| st.tensors())
    }

    /// Takes ownership of the files, so each can be dropped once loaded.
    #[must_use]
    pub fn into_files(self) -> Vec<VerifiedFile> {
        self.files
    }
}

/// One verified file: its bytes exactly as hashed, and for safetensors files
/// the validated header.
pub struct VerifiedFile {
    path: String,
    sha256: Option<Sha256Digest>,
    bytes: Vec<u8>,
    header: Option<Header>,
}

impl std::fmt::Debug for VerifiedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedFile")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl VerifiedFile {
    /// Path relative to the model directory.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The verified contents.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The whole-file SHA-256 the bytes were checked against (`None` for
    /// sharded manifests, where each shard was checked instead).
    #[must_use]
    pub fn sha256(&self) -> Option<Sha256Digest> {
        self.sha256
    }

    /// The tensors, when this is a `.safetensors` file (validated during
    /// verification).
    #[must_use]
    pub fn safetensors(&self) -> Option<SafeTensors<'_>> {
        self.header.as_ref().map(|header| SafeTensors {
            header,
            bytes: &self.bytes,
        })
    }

    /// Consumes the file, returning its verified bytes.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Builds a [`Manifest`] by hashing a model directory (what
/// `cargo xtask checksums` runs). The same rules as verification apply, from
/// the same functions (one admission policy, one set of content checks): a
/// directory holding symlinks, code, pickles, binaries, remote-code configs,
/// invalid safetensors files or a shard index that does not match its shards
/// is refused, so that a manifest is only ever written for a model that will
/// verify.
pub struct ManifestBuilder<'p> {
    name: String,
    revision: Option<String>,
    method: HashMethod,
    ignore: Vec<String>,
    threads: usize,
    progress: &'p dyn Progress,
}

impl std::fmt::Debug for ManifestBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestBuilder")
            .field("name", &self.name)
            .field("revision", &self.revision)
            .field("method", &self.method)
            .field("ignore", &self.ignore)
            .finish_non_exhaustive()
    }
}

impl<'p> ManifestBuilder<'p> {
    /// A builder for the model called `name`, hashing whole files, with the
    /// default ignore list ([`DEFAULT_IGNORE`]).
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            revision: None,
            method: HashMethod::Files,
            ignore: DEFAULT_IGNORE.iter().map(|s| (*s).to_owned()).collect(),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            progress: &NoProgress,
        }
    }

    /// Records the revision (a commit hash, a tag).
    #[must_use]
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }

    /// Hashes files whole ([`HashMethod::Files`], the default) or in shards.
    #[must_use]
    pub fn method(mut self, method: HashMethod) -> Self {
        self.method = method;
        self
    }

    /// Adds a path to leave out (recorded in the manifest's `ignore_paths`).
    /// As for [`Verifier::ignore`], it matches regular files only (a file,
    /// or every file below a directory): directories are still walked, and
    /// an ignored file is still refused if its name or content says code, a
    /// pickle or a binary. A trailing `/` is removed and an unsafe path
    /// makes [`ManifestBuilder::build`] fail with [`Error::UnsafePath`].
    #[must_use]
    pub fn ignore(mut self, path: impl Into<String>) -> Self {
        self.ignore.push(normalize_ignore(path.into()));
        self
    }

    /// Number of hashing threads (default: one per core).
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// A progress hook.
    #[must_use]
    pub fn on_progress(mut self, progress: &'p dyn Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Hashes `dir` and returns its manifest.
    ///
    /// # Errors
    /// The same refusals as verification (symlinks, code, unsafe names,
    /// invalid safetensors, remote-code configs), [`Error::Manifest`] for a
    /// zero shard size or an empty directory, and I/O errors.
    pub fn build(&self, dir: impl AsRef<Path>) -> Result<Manifest, Error> {
        let dir = dir.as_ref();
        if let HashMethod::Shards { shard_size: 0 } = self.method {
            return Err(Error::manifest("shard size must be positive"));
        }
        for ig in &self.ignore {
            policy::check_relative_path(ig)?;
        }
        let root = ModelDir::open(dir)?;
        let paths = policy::admit(
            &root,
            None,
            &|rel| self.ignore.iter().any(|ig| ignore_matches(ig, rel)),
            DEFAULT_MAX_HEADER_LEN,
        )?
        .model;
        if paths.is_empty() {
            return Err(Error::manifest(format!(
                "{}: no files to list",
                dir.display()
            )));
        }
        let mut opened = Vec::with_capacity(paths.len());
        for p in &paths {
            let f = root.open_file(p)?;
            let size = f.metadata().map_err(|e| Error::io(dir.join(p), e))?.len();
            opened.push((p.as_str(), f, size));
        }
        let targets = opened
            .iter()
            .map(|(p, f, size)| Target {
                path: p,
                file: f,
                size: *size,
                dest: None,
            })
            .collect();
        let digests = engine::hash_all(targets, self.method, self.threads, self.progress)?;
        let mut contents = Vec::with_capacity(opened.len());
        for (p, f, size) in &opened {
            contents.push(content::check(
                p,
                &Bytes::File(f, *size),
                DEFAULT_MAX_HEADER_LEN,
                u64::MAX,
            )?);
        }
        let pairs: Vec<(&str, &Content)> =
            opened.iter().map(|(p, _, _)| *p).zip(&contents).collect();
        content::check_model(&pairs)?;
        let mut entries: Vec<ManifestEntry> = opened
            .iter()
            .zip(digests)
            .map(|((p, _, size), d)| ManifestEntry {
                path: (*p).to_owned(),
                size: Some(*size),
                digest: match self.method {
                    HashMethod::Files => EntryDigest::Whole(d[0]),
                    HashMethod::Shards { .. } => EntryDigest::Shards(d),
                },
            })
            .collect();
        entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
        let mut ignore_paths: Vec<String> = self
            .ignore
            .iter()
            .filter(|s| !DEFAULT_IGNORE.contains(&s.as_str()))
            .cloned()
            .collect();
        ignore_paths.sort();
        ignore_paths.dedup();
        Ok(Manifest {
            name: Some(self.name.clone()),
            revision: self.revision.clone(),
            method: self.method,
            entries,
            ignore_paths,
            authenticity: Authenticity::Unauthenticated,
        })
    }
}
