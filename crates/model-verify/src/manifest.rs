//! The manifest: what a model directory must contain, in the OMS
//! (OpenSSF model_signing v1.0) in-toto Statement shape, or as a plain
//! `sha256sum` CHECKSUMS file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::error::Error;
use crate::policy;
use crate::signature::{self, PublicKey, SigningKey};

/// The in-toto Statement type.
pub(crate) const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The OMS predicate type (model_signing 1.x).
pub(crate) const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The version of this crate's predicate extensions (`manifest_version`).
pub const MANIFEST_VERSION: u64 = 1;
/// The default manifest file name inside a model directory.
pub const MANIFEST_FILE_NAME: &str = "model.manifest.json";
/// Largest manifest accepted (64 MiB): [`Manifest::parse`] refuses longer
/// input, and a reader should stop reading a manifest file past this bound.
pub const MAX_MANIFEST_LEN: usize = 64 << 20;

/// How file contents were hashed; recorded in the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashMethod {
    /// One SHA-256 over each whole file (OMS `files`).
    Files,
    /// Each file cut into fixed-size shards, one SHA-256 per shard, so that
    /// one large file is hashed in parallel (OMS `shards`).
    Shards {
        /// Shard size in bytes (the last shard of a file may be shorter).
        shard_size: u64,
    },
}

/// The expected digest of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryDigest {
    Whole(Sha256Digest),
    /// Shard `i` covers `[i * shard_size, min((i + 1) * shard_size, size))`.
    Shards(Vec<Sha256Digest>),
}

/// One file listed in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub(crate) path: String,
    pub(crate) size: Option<u64>,
    pub(crate) digest: EntryDigest,
}

impl ManifestEntry {
    /// The path relative to the model directory, `/`-separated.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The size in bytes, when the manifest records it (manifests written by
    /// this crate and sharded OMS manifests always do; OMS `files` bundles
    /// do not).
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The whole-file SHA-256, for `Files` manifests; `None` for sharded ones.
    #[must_use]
    pub fn sha256(&self) -> Option<Sha256Digest> {
        match &self.digest {
            EntryDigest::Whole(d) => Some(*d),
            EntryDigest::Shards(_) => None,
        }
    }
}

/// Where the manifest's trust comes from, as far as this crate can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authenticity {
    /// Not signed, or signed but the signature was not checked. Proves
    /// integrity against accidents only, unless the manifest itself came from
    /// a trusted place (compiled into the application, or kept where the
    /// model's writer cannot reach).
    Unauthenticated,
    /// A signature over the manifest verified under a caller-supplied key.
    Signed,
    /// The manifest was compiled into the application
    /// ([`Manifest::pinned`]): like a pinned checksum table, it is exactly
    /// as trustworthy as the binary itself, and the model's writer cannot
    /// change it.
    Pinned,
}

impl Authenticity {
    /// Whether the manifest's origin is vouched for: a checked signature or
    /// a manifest compiled in. An [`Authenticity::Unauthenticated`]
    /// manifest proves integrity against accidents only.
    #[must_use]
    pub fn is_trusted(self) -> bool {
        matches!(self, Self::Signed | Self::Pinned)
    }
}

impl std::fmt::Display for Authenticity {
    /// `unauthenticated`, `signature verified`, `pinned (compiled in)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Signed => "signature verified",
            Self::Pinned => "pinned (compiled in)",
        })
    }
}

/// A parsed model manifest.
///
/// Build one with [`Manifest::parse`] (unsigned, or a bundle whose signature
/// you do not check), [`Manifest::parse_signed`] (signature required), or
/// [`ManifestBuilder`](crate::ManifestBuilder) from a directory. Check a
/// directory against it with [`Verifier`](crate::Verifier).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub(crate) name: Option<String>,
    pub(crate) revision: Option<String>,
    pub(crate) method: HashMethod,
    pub(crate) entries: Vec<ManifestEntry>,
    pub(crate) ignore_paths: Vec<String>,
    pub(crate) authenticity: Authenticity,
}

// ---- serde shapes of the statement -------------------------------------

#[derive(Serialize, Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Predicate,
}

#[derive(Serialize, Deserialize)]
struct Subject {
    name: String,
    digest: SubjectDigest,
}

#[derive(Serialize, Deserialize)]
struct SubjectDigest {
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Predicate {
    serialization: Serialization,
    resources: Vec<Resource>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    manifest_version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    revision: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Serialization {
    method: String,
    hash_type: String,
    // model_signing writes numbers through protobuf Struct, as floats
    // (`64.0`); accept any integral number.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    shard_size: Option<serde_json::Number>,
    allow_symlinks: bool,
    #[serde(default)]
    ignore_paths: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Resource {
    name: String,
    algorithm: String,
    digest: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    size: Option<u64>,
}

/// A shard as listed: start, end, digest.
type Shard = (u64, u64, Sha256Digest);

fn integral(n: &serde_json::Number) -> Option<u64> {
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    let f = n.as_f64()?;
    // 2^53: every integer below is exact in an f64.
    if f.fract() == 0.0 && (1.0..=9_007_199_254_740_992.0).contains(&f) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // reason: range and integrality checked just above.
        Some(f as u64)
    } else {
        None
    }
}

/// Sort key that matches model_signing's ordering (component-wise path
/// comparison, then shard start).
fn path_key(path: &str) -> Vec<&str> {
    path.split('/').collect()
}

impl Manifest {
    /// Parses a manifest file's bytes: an in-toto Statement (as written by
    /// `cargo xtask checksums`), a `sha256sum`-style CHECKSUMS file, or a
    /// signed bundle (DSSE envelope, Sigstore bundle JSON) **whose signature
    /// is not checked**; the result is then
    /// [`Authenticity::Unauthenticated`]. Use [`Manifest::parse_signed`] to
    /// require and check a signature.
    ///
    /// Manifests compiled into an application are a first-class source of
    /// trust: `Manifest::parse(include_bytes!("model.manifest.json"))`.
    ///
    /// # Errors
    /// [`Error::Manifest`] when the bytes are none of these formats, the
    /// version is unknown, a digest is malformed, the root digest does not
    /// match the resources, or shards do not tile each file;
    /// [`Error::UnsafePath`] / [`Error::DuplicateEntry`] for bad paths.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(Error::manifest("manifest larger than 64 MiB"));
        }
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {
                if let Some(bundle) = signature::Bundle::parse_if_bundle(bytes)? {
                    let (payload, _) = bundle.payload()?;
                    Self::from_statement(&payload)
                } else {
                    Self::from_statement(bytes)
                }
            }
            _ => Self::from_checksums(bytes),
        }
    }

    /// Parses a manifest compiled into the application, typically
    /// `Manifest::pinned(include_bytes!("model.manifest.json"))`; the
    /// result is [`Authenticity::Pinned`] ("pinned (compiled in)"), which
    /// [`Verifier::require_signature`](crate::Verifier::require_signature)
    /// accepts: the model's writer cannot change what is in the binary.
    ///
    /// The `'static` bound is what marks the bytes as part of the program;
    /// do not leak bytes read at run time to call this, use
    /// [`Manifest::parse`] or [`Manifest::parse_signed`] for those.
    ///
    /// # Errors
    /// As [`Manifest::parse`].
    pub fn pinned(bytes: &'static [u8]) -> Result<Self, Error> {
        let mut m = Self::parse(bytes)?;
        m.authenticity = Authenticity::Pinned;
        Ok(m)
    }

    /// Parses a signed bundle and checks its signature under `key`; the
    /// result is [`Authenticity::Signed`].
    ///
    /// Accepts bundles written by [`Manifest::to_signed_json`] (Ed25519) and
    /// by the OpenSSF `model_signing` package's key-based method (ECDSA
    /// P-256 or P-384).
    ///
    /// # Errors
    /// [`Error::Unsigned`] when the bytes are not a bundle,
    /// [`Error::BadSignature`] when the signature does not verify or the
    /// bundle names another key, and the errors of [`Manifest::parse`].
    pub fn parse_signed(bytes: &[u8], key: &PublicKey) -> Result<Self, Error> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(Error::manifest("manifest larger than 64 MiB"));
        }
        let starts_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let bundle = if starts_json {
            signature::Bundle::parse_if_bundle(bytes)?
        } else {
            None
        };
        let Some(bundle) = bundle else {
            return Err(Error::Unsigned);
        };
        let payload = bundle.verify(key)?;
        let mut m = Self::from_statement(&payload)?;
        m.authenticity = Authenticity::Signed;
        Ok(m)
    }

    fn from_statement(bytes: &[u8]) -> Result<Self, Error> {
        let st: Statement = serde_json::from_slice(bytes)
            .map_err(|e| Error::manifest(format!("not an OMS in-toto statement: {e}")))?;
        if st.type_ != STATEMENT_TYPE {
            return Err(Error::manifest(format!(
                "statement type {:?} is not {STATEMENT_TYPE:?}",
                st.type_
            )));
        }
        if st.predicate_type != PREDICATE_TYPE {
            return Err(Error::manifest(format!(
                "predicate type {:?} is not supported (expected {PREDICATE_TYPE:?})",
                st.predicate_type
            )));
        }
        let p = st.predicate;
        match p.manifest_version {
            None | Some(MANIFEST_VERSION) => {}
            Some(v) => {
                return Err(Error::manifest(format!(
                    "manifest_version {v} is not supported (this build reads {MANIFEST_VERSION})"
                )));
            }
        }
        let [subject] = <[Subject; 1]>::try_from(st.subject)
            .map_err(|_| Error::manifest("expected exactly one subject"))?;
        if p.serialization.hash_type != "sha256" {
            return Err(Error::manifest(format!(
                "hash_type {:?} is not supported (only sha256)",
                p.serialization.hash_type
            )));
        }
        let method = match p.serialization.method.as_str() {
            "files" => HashMethod::Files,
            "shards" => {
                let shard_size = p
                    .serialization
                    .shard_size
                    .as_ref()
                    .and_then(integral)
                    .filter(|&s| s > 0)
                    .ok_or_else(|| {
                        Error::manifest("shards method needs a positive integer shard_size")
                    })?;
                HashMethod::Shards { shard_size }
            }
            other => {
                return Err(Error::manifest(format!(
                    "serialization method {other:?} is not supported"
                )));
            }
        };

        // A statement listing nothing would "verify" an empty directory.
        if p.resources.is_empty() {
            return Err(Error::manifest("the statement lists no files"));
        }
        // Root digest: SHA-256 over the resource digests, in listed order.
        let mut root = Vec::with_capacity(32 * p.resources.len());
        let mut entries: BTreeMap<String, (Option<u64>, Vec<Shard>)> = BTreeMap::new();
        for r in &p.resources {
            let digest = Sha256Digest::from_hex(&r.digest).ok_or_else(|| {
                Error::manifest(format!(
                    "resource {:?}: digest is not 64 hex digits",
                    r.name
                ))
            })?;
            root.extend_from_slice(digest.as_bytes());
            match method {
                HashMethod::Files => {
                    if r.algorithm != "sha256" {
                        return Err(Error::manifest(format!(
                            "resource {:?}: algorithm {:?} is not sha256",
                            r.name, r.algorithm
                        )));
                    }
                    policy::check_relative_path(&r.name)?;
                    if entries.contains_key(&r.name) {
                        return Err(Error::DuplicateEntry {
                            path: r.name.clone(),
                        });
                    }
                    entries.insert(r.name.clone(), (r.size, vec![(0, 0, digest)]));
                }
                HashMethod::Shards { shard_size } => {
                    let want = format!("sha256-sharded-{shard_size}");
                    if r.algorithm != want && r.algorithm != "sha256" {
                        return Err(Error::manifest(format!(
                            "resource {:?}: algorithm {:?} is not {want:?}",
                            r.name, r.algorithm
                        )));
                    }
                    let mut parts = r.name.rsplitn(3, ':');
                    let (end, start, path) = (parts.next(), parts.next(), parts.next());
                    let (Some(end), Some(start), Some(path)) = (end, start, path) else {
                        return Err(Error::manifest(format!(
                            "resource {:?}: expected PATH:START:END",
                            r.name
                        )));
                    };
                    let (Ok(start), Ok(end)) = (start.parse::<u64>(), end.parse::<u64>()) else {
                        return Err(Error::manifest(format!(
                            "resource {:?}: shard bounds are not integers",
                            r.name
                        )));
                    };
                    policy::check_relative_path(path)?;
                    entries
                        .entry(path.to_owned())
                        .or_insert((None, Vec::new()))
                        .1
                        .push((start, end, digest));
                }
            }
        }
        let root_hex = Sha256Digest::of(&root);
        let claimed = Sha256Digest::from_hex(&subject.digest.sha256)
            .ok_or_else(|| Error::manifest("subject digest is not 64 hex digits"))?;
        if claimed != root_hex {
            return Err(Error::manifest(
                "subject digest does not match the listed resources",
            ));
        }

        let mut out = Vec::with_capacity(entries.len());
        for (path, (size, mut shards)) in entries {
            let entry = match method {
                HashMethod::Files => {
                    let (_, _, d) = shards[0];
                    ManifestEntry {
                        path,
                        size,
                        digest: EntryDigest::Whole(d),
                    }
                }
                HashMethod::Shards { shard_size } => {
                    shards.sort_by_key(|&(s, e, _)| (s, e));
                    let mut cursor = 0u64;
                    let mut digests = Vec::with_capacity(shards.len());
                    let last = shards.len() - 1;
                    for (i, &(start, end, d)) in shards.iter().enumerate() {
                        let len = end.checked_sub(start);
                        let ok = start == cursor
                            && len.is_some_and(|l| {
                                l <= shard_size
                                    && (l == shard_size || i == last)
                                    && (l > 0 || last == 0)
                            });
                        if !ok {
                            return Err(Error::manifest(format!(
                                "{path}: shards do not tile the file (at {start}..{end})"
                            )));
                        }
                        cursor = end;
                        digests.push(d);
                    }
                    ManifestEntry {
                        path,
                        size: Some(cursor),
                        digest: EntryDigest::Shards(digests),
                    }
                }
            };
            out.push(entry);
        }
        out.sort_by(|a, b| path_key(&a.path).cmp(&path_key(&b.path)));
        // An ignore path only ever lets a present file go unlisted, so one
        // that cannot name anything inside the model (absolute, `..`) is
        // dropped rather than refused: dropping it can only make
        // verification stricter. A trailing `/` (a directory) is accepted.
        let mut ignore_paths: Vec<String> = p
            .serialization
            .ignore_paths
            .into_iter()
            .map(|ig| ig.trim_end_matches('/').to_owned())
            .filter(|ig| policy::check_relative_path(ig).is_ok())
            .collect();
        ignore_paths.sort();
        ignore_paths.dedup();
        Ok(Self {
            name: Some(subject.name),
            revision: p.revision,
            method,
            entries: out,
            ignore_paths,
            authenticity: Authenticity::Unauthenticated,
        })
    }

    fn from_checksums(bytes: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::manifest("CHECKSUMS file is not UTF-8"))?;
        let mut entries: BTreeMap<String, Sha256Digest> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let bad = || {
                Error::manifest(format!(
                    "CHECKSUMS line {}: expected `HEX  PATH` (sha256sum format)",
                    n + 1
                ))
            };
            let (hex, rest) = line.split_once(' ').ok_or_else(bad)?;
            let path = rest
                .strip_prefix(' ')
                .or_else(|| rest.strip_prefix('*'))
                .ok_or_else(bad)?;
            let digest = Sha256Digest::from_hex(hex).ok_or_else(bad)?;
            let path = path.strip_prefix("./").unwrap_or(path);
            policy::check_relative_path(path)?;
            if entries.insert(path.to_owned(), digest).is_some() {
                return Err(Error::DuplicateEntry {
                    path: path.to_owned(),
                });
            }
        }
        if entries.is_empty() {
            return Err(Error::manifest(
                "not a manifest: no JSON statement and no CHECKSUMS lines",
            ));
        }
        let mut out: Vec<ManifestEntry> = entries
            .into_iter()
            .map(|(path, d)| ManifestEntry {
                path,
                size: None,
                digest: EntryDigest::Whole(d),
            })
            .collect();
        out.sort_by(|a, b| path_key(&a.path).cmp(&path_key(&b.path)));
        Ok(Self {
            name: None,
            revision: None,
            method: HashMethod::Files,
            entries: out,
            ignore_paths: Vec::new(),
            authenticity: Authenticity::Unauthenticated,
        })
    }

    /// The model name (the OMS subject name); `None` for CHECKSUMS files.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The revision, when recorded.
    #[must_use]
    pub fn revision(&self) -> Option<&str> {
        self.revision.as_deref()
    }

    /// How contents were hashed.
    #[must_use]
    pub fn method(&self) -> HashMethod {
        self.method
    }

    /// The listed files, in OMS order.
    #[must_use]
    pub fn entries(&self) -> &[ManifestEntry] {
        &self.entries
    }

    /// Paths the manifest asks to ignore (OMS `ignore_paths`).
    #[must_use]
    pub fn ignore_paths(&self) -> &[String] {
        &self.ignore_paths
    }

    /// Whether a signature over this manifest was checked.
    #[must_use]
    pub fn authenticity(&self) -> Authenticity {
        self.authenticity
    }

    fn statement(&self) -> Statement {
        let mut resources = Vec::new();
        for e in &self.entries {
            match (&e.digest, self.method) {
                (EntryDigest::Whole(d), _) => resources.push(Resource {
                    name: e.path.clone(),
                    algorithm: "sha256".to_owned(),
                    digest: d.to_hex(),
                    size: e.size,
                }),
                (EntryDigest::Shards(ds), HashMethod::Shards { shard_size }) => {
                    let size = e.size.unwrap_or(0);
                    for (i, d) in ds.iter().enumerate() {
                        let start = shard_size.saturating_mul(i as u64);
                        let end = start.saturating_add(shard_size).min(size);
                        resources.push(Resource {
                            name: format!("{}:{start}:{end}", e.path),
                            algorithm: format!("sha256-sharded-{shard_size}"),
                            digest: d.to_hex(),
                            size: None,
                        });
                    }
                }
                (EntryDigest::Shards(_), HashMethod::Files) => {}
            }
        }
        let mut root = Vec::with_capacity(32 * resources.len());
        for r in &resources {
            if let Some(d) = Sha256Digest::from_hex(&r.digest) {
                root.extend_from_slice(d.as_bytes());
            }
        }
        Statement {
            type_: STATEMENT_TYPE.to_owned(),
            subject: vec![Subject {
                name: self.name.clone().unwrap_or_default(),
                digest: SubjectDigest {
                    sha256: Sha256Digest::of(&root).to_hex(),
                },
            }],
            predicate_type: PREDICATE_TYPE.to_owned(),
            predicate: Predicate {
                serialization: Serialization {
                    method: match self.method {
                        HashMethod::Files => "files".to_owned(),
                        HashMethod::Shards { .. } => "shards".to_owned(),
                    },
                    hash_type: "sha256".to_owned(),
                    shard_size: match self.method {
                        HashMethod::Files => None,
                        HashMethod::Shards { shard_size } => Some(shard_size.into()),
                    },
                    allow_symlinks: false,
                    ignore_paths: self.ignore_paths.clone(),
                },
                resources,
                manifest_version: Some(MANIFEST_VERSION),
                revision: self.revision.clone(),
            },
        }
    }

    /// The canonical JSON form (an unsigned in-toto Statement, pretty-printed
    /// with a final newline). The same manifest always gives the same bytes;
    /// these are the bytes a signature covers.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and integers cannot fail.
        let mut s = serde_json::to_string_pretty(&self.statement()).unwrap_or_default();
        s.push('\n');
        s
    }

    /// A signed bundle: the canonical JSON as the payload of a DSSE envelope
    /// signed with `key` (Ed25519, or ECDSA P-256 with SHA-256, which
    /// OpenSSF `model_signing verify key` accepts), in Sigstore bundle v0.3
    /// JSON (the shape `model_signing` writes).
    #[must_use]
    pub fn to_signed_json(&self, key: &SigningKey) -> String {
        signature::Bundle::sign(self.to_json().as_bytes(), key)
    }
}

/// Fuzzing hook: parses arbitrary bytes as a manifest and, when they parse,
/// checks that the canonical form parses back to the same manifest.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_manifest(data: &[u8]) {
    if let Ok(m) = Manifest::parse(data) {
        let again = Manifest::parse(m.to_json().as_bytes());
        if m.name.is_some() {
            assert_eq!(again.ok().as_ref(), Some(&m));
        }
    }
}
