//! What may be in a model directory: safe relative paths, no code, no
//! pickles, no requests for remote code.

use std::collections::BTreeSet;

use crate::content;
use crate::error::Error;
use crate::fsutil::{Found, ModelDir};
use crate::pickle;

/// Checks that a manifest path is a plain relative path: `/`-separated,
/// no empty, `.` or `..` component, not absolute, no backslash, no NUL, no
/// control characters.
pub(crate) fn check_relative_path(path: &str) -> Result<(), Error> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.chars().any(char::is_control)
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        Err(Error::UnsafePath {
            path: path.to_owned(),
        })
    } else {
        Ok(())
    }
}

/// The lowercase extension of the last path component, if any.
fn extension(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

/// Compression suffixes: `x.pkl.gz` is a compressed pickle, and any
/// compressed file may hold one (`joblib.dump(..., compress=...)`).
const COMPRESSED_EXTENSIONS: &[&str] = &["gz", "xz", "bz2", "zst", "lz4", "lzma", "z", "zlib"];

/// Refuses code by its name: Python source and bytecode, native libraries,
/// scripts, notebooks, the pickle family, archives and compressed files,
/// TensorFlow SavedModel and Keras files, and the sentence-transformers
/// `modules.json` (it names Python classes to import). Refused, not scanned.
/// Applies to every regular file in the tree, ignored or not.
pub(crate) fn refuse_code_by_name(path: &str) -> Result<(), Error> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let layout = match lower.as_str() {
        "modules.json" => {
            Some("sentence-transformers module list, which names Python classes to import")
        }
        "saved_model.pb" | "saved_model.pbtxt" | "keras_metadata.pb" | "fingerprint.pb" => {
            Some("TensorFlow SavedModel / Keras file: an executable graph")
        }
        "variables.index" => Some("TensorFlow SavedModel variables (part of an executable graph)"),
        n if n.starts_with("variables.data-") => {
            Some("TensorFlow SavedModel variables (part of an executable graph)")
        }
        _ => None,
    };
    if let Some(reason) = layout {
        return Err(Error::CodeRefused {
            path: path.to_owned(),
            reason,
        });
    }
    let Some(ext) = extension(path) else {
        return Ok(());
    };
    let reason = match ext.as_str() {
        "py" | "pyc" | "pyo" | "pyw" | "pyx" | "pyd" | "pyi" | "ipynb" => "Python code",
        "so" | "dylib" | "dll" | "exe" | "sh" | "bat" | "ps1" | "elf" | "o" | "a" => {
            "native code or script"
        }
        "bin" | "pt" | "pth" | "ckpt" | "pkl" | "pickle" | "joblib" | "dill" | "npz" | "mar"
        | "nemo" | "keras" | "h5" | "hdf5" | "pb" | "pbtxt" | "tflite" | "cloudpickle" => {
            "pickle-family or executable-graph file"
        }
        "zip" | "tar" | "tgz" | "7z" | "rar" => "archive (may hold a pickle or code)",
        e if COMPRESSED_EXTENSIONS.contains(&e) => {
            let inner = name.rsplit_once('.').and_then(|(stem, _)| extension(stem));
            if inner.is_some_and(|i| {
                matches!(
                    i.as_str(),
                    "pkl"
                        | "pickle"
                        | "joblib"
                        | "dill"
                        | "pt"
                        | "pth"
                        | "bin"
                        | "ckpt"
                        | "npy"
                        | "npz"
                )
            }) {
                "compressed pickle"
            } else {
                "compressed file (may hold a pickle: joblib and pickle.dump write them)"
            }
        }
        _ => return Ok(()),
    };
    Err(Error::CodeRefused {
        path: path.to_owned(),
        reason,
    })
}

/// Refuses code by its first bytes (and, for zip archives, its last),
/// whatever the file is called:
///
/// (pickles, with a protocol header or without, are found by
/// [`refuse_pickle`], which reads the opcode stream):
///
/// * zip archives, by a local header at the start or an end-of-central-
///   directory record in the last 64 KiB (zip readers find an archive from
///   its end, so bytes put in front of it do not hide it): `torch.save`
///   checkpoints are zips holding `data.pkl`, and `.npz`, `.keras` and
///   `.nemo` files are zips too;
/// * compressed data (gzip, xz, bzip2, zstd, lz4, lzma; zlib streams are
///   inflated and looked into by [`refuse_pickle`]): what
///   `joblib.dump(compress=...)` and `pickle.dump` to a `.gz` write;
/// * native executables and libraries: ELF, Mach-O (thin and fat), PE
///   (`MZ`), and `#!` scripts;
/// * HDF5 (Keras `.h5`, at offset 0 or a user-block offset) and TFLite
///   flatbuffers: executable graphs.
///
/// No file of a Hugging Face model directory that this crate accepts
/// (safetensors, JSON, text, tokenizer files) starts with any of these.
/// Safetensors files are not checked here: their first 8 bytes are a
/// length, and their whole structure is validated instead.
pub(crate) fn refuse_code_by_content(path: &str, head: &[u8], tail: &[u8]) -> Result<(), Error> {
    let reason = match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => {
            "zip archive, the container of PyTorch checkpoints and other pickles (found by content)"
        }
        [0x1f, 0x8b, ..] => "gzip-compressed data (may hold a pickle; found by content)",
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => {
            "xz-compressed data (may hold a pickle; found by content)"
        }
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => {
            "bzip2-compressed data (may hold a pickle; found by content)"
        }
        [0x28, 0xb5, 0x2f, 0xfd, ..] => {
            "zstd-compressed data (may hold a pickle; found by content)"
        }
        [0x04, 0x22, 0x4d, 0x18, ..] => "lz4-compressed data (may hold a pickle; found by content)",
        [0x5d, 0, 0, ..] => "lzma-compressed data (may hold a pickle; found by content)",
        [0x7f, b'E', b'L', b'F', ..] => "ELF executable or shared library (found by content)",
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..]
        | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..]
        | [0xca, 0xfe, 0xba, 0xbe, ..]
        | [0xbe, 0xba, 0xfe, 0xca, ..] => "Mach-O executable or library (found by content)",
        [b'M', b'Z', ..] => "PE (Windows) executable or DLL (found by content)",
        [b'#', b'!', ..] => "script (#! line; found by content)",
        [_, _, _, _, b'T', b'F', b'L', b'3', ..] => {
            "TFLite model, an executable graph (found by content)"
        }
        _ if [0usize, 512, 1024, 2048]
            .iter()
            .any(|&at| head.get(at..at + 8) == Some(b"\x89HDF\r\n\x1a\n")) =>
        {
            "HDF5 file (Keras .h5 model, may hold marshalled code; found by content)"
        }
        _ if tail.windows(4).any(|w| w == b"PK\x05\x06")
            || tail.windows(4).any(|w| w == b"PK\x06\x06") =>
        {
            "zip archive behind other bytes (found by its end-of-central-directory record)"
        }
        _ => return Ok(()),
    };
    Err(Error::CodeRefused {
        path: path.to_owned(),
        reason,
    })
}

/// Bytes of a file's beginning looked at for its type (magic numbers, HDF5
/// user-block offsets, a zlib stream's start).
pub(crate) const HEAD_LEN: u64 = 4096;

/// Bytes of a file's end searched for a zip end-of-central-directory
/// record (22 bytes plus a comment of up to 65,535).
pub(crate) const TAIL_LEN: u64 = 22 + 65_535;

/// Bytes of an unlisted (ignored) file read by the pickle reader: enough to
/// tell text from a pickle; a stream still valid at this bound is refused.
pub(crate) const IGNORED_SCAN_LEN: u64 = 1 << 20;

/// Refuses a pickle found by reading the opcode stream (see
/// [`crate::pickle`]), with or without a protocol header and whatever the
/// file is called; also a zlib stream (joblib's `compress='zlib'`) whose
/// inflated start is a pickle. Reads at most `limit` bytes.
pub(crate) fn refuse_pickle<S: pickle::Source + ?Sized>(
    path: &str,
    src: &S,
    head: &[u8],
    limit: u64,
) -> Result<(), Error> {
    let io = |e| Error::io(path, e);
    let scan = pickle::scan(src, limit).map_err(io)?;
    if scan.is_pickle {
        return Err(pickle_error(path, "found by content", &scan));
    }
    // zlib: CMF 0x78 (deflate, 32 KiB window) and a header check that
    // divides by 31. Inflate the start and read what comes out.
    if let [0x78, flg, ..] = head
        && (0x7800u16 | u16::from(*flg)).is_multiple_of(31)
    {
        let inflated = match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(head, 1 << 20)
        {
            Ok(v) => v,
            Err(e) => e.output,
        };
        if !inflated.is_empty() {
            // Only a prefix was inflated: running out of it while the
            // stream is still valid counts as a pickle.
            let inner = pickle::scan_prefix(&inflated);
            if inner.is_pickle {
                return Err(pickle_error(
                    path,
                    "zlib-compressed, found by content",
                    &inner,
                ));
            }
        }
    }
    Ok(())
}

fn pickle_error(path: &str, found: &'static str, scan: &pickle::Scan) -> Error {
    Error::Pickle {
        path: path.to_owned(),
        found,
        protocol: scan.protocol,
        imports: scan.imports.iter().map(pickle::Import::dotted).collect(),
        dangerous: scan
            .imports
            .iter()
            .filter(|i| i.safety == pickle::Safety::Dangerous)
            .map(pickle::Import::dotted)
            .collect(),
    }
}

/// The first bytes of a `.npy` file. A file starting with them is checked
/// as one whatever its name, since `numpy.load` goes by the magic.
pub(crate) const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Whether the file needs a content check after its digest verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContentCheck {
    None,
    Safetensors,
    ConfigJson,
    Npy,
    /// `*.safetensors.index.json`: which shard holds which tensor.
    ShardIndex,
}

pub(crate) fn content_check(path: &str) -> ContentCheck {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if name.ends_with(".safetensors.index.json") {
        return ContentCheck::ShardIndex;
    }
    match extension(path).as_deref() {
        Some("safetensors") => ContentCheck::Safetensors,
        Some("npy") => ContentCheck::Npy,
        Some("json") if name.contains("config") => ContentCheck::ConfigJson,
        _ => ContentCheck::None,
    }
}

/// Largest configuration file inspected; larger ones are refused.
pub(crate) const MAX_CONFIG_LEN: u64 = 16 << 20;

/// Keys that make `transformers` import code shipped with (or referenced
/// by) the model when `trust_remote_code=True`.
const REMOTE_CODE_KEYS: &[&str] = &["auto_map", "custom_pipelines"];

/// Refuses a `*config*.json` that asks for custom or remote code: an
/// `auto_map` or `custom_pipelines` key anywhere, or any string of the form
/// `owner/repo--module.Class` (a cross-repository code reference).
pub(crate) fn check_config_json(path: &str, bytes: &[u8]) -> Result<(), Error> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::InvalidFile {
            path: path.to_owned(),
            reason: format!("not valid JSON ({e})"),
        })?;
    if let Some(key) = find_remote_code(&value, "") {
        return Err(Error::RemoteCodeRefused {
            path: path.to_owned(),
            key,
        });
    }
    Ok(())
}

fn find_remote_code(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if REMOTE_CODE_KEYS.contains(&k.as_str()) {
                Some(here)
            } else {
                find_remote_code(v, &here)
            }
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_remote_code(v, &format!("{at}[{i}]"))),
        serde_json::Value::String(s) if is_cross_repo_reference(s) => Some(at.to_owned()),
        _ => None,
    }
}

/// `owner/repo--module.Class`: the form `transformers` resolves by
/// downloading `module.py` from another repository.
fn is_cross_repo_reference(s: &str) -> bool {
    let Some((repo, code)) = s.split_once("--") else {
        return false;
    };
    let ident = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let Some((owner, name)) = repo.split_once('/') else {
        return false;
    };
    ident(owner) && ident(name) && code.contains('.') && ident(code)
}

/// Element types accepted in a `.npy` header, after the byte-order mark:
/// booleans, integers, floats and complex numbers, nothing else.
const NPY_DTYPES: &[&str] = &[
    "?", "b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16",
];

/// Accepts a `.npy` file only when its header parses strictly and its dtype
/// is a plain numeric or boolean type ([`NPY_DTYPES`], with an optional
/// byte-order mark `<`, `>`, `|` or `=`). Refused, not scanned: a dtype of
/// Python objects (`O`, `object`) is [`Error::ObjectArray`]; structured
/// dtypes, strings, escapes, and any header that is not exactly
/// `{'descr': STR, 'fortran_order': BOOL, 'shape': TUPLE}` are
/// [`Error::InvalidFile`].
pub(crate) fn check_npy(path: &str, bytes: &[u8]) -> Result<(), Error> {
    let bad = |why: &str| Error::InvalidFile {
        path: path.to_owned(),
        reason: format!("not an accepted .npy file ({why})"),
    };
    if bytes.len() < 10 || !bytes.starts_with(NPY_MAGIC) {
        return Err(bad("magic"));
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            usize::try_from(u32::from_le_bytes([
                bytes[8], bytes[9], bytes[10], bytes[11],
            ]))
            .map_err(|_| bad("header length"))?,
            12,
        ),
        _ => return Err(bad("version")),
    };
    let header = bytes
        .get(start..start.saturating_add(len))
        .ok_or_else(|| bad("truncated header"))?;
    if !header.is_ascii() {
        return Err(bad("header is not ASCII"));
    }
    let descr = NpyHeader::parse(header).map_err(&bad)?;
    let elem = descr
        .strip_prefix(['<', '>', '|', '='])
        .unwrap_or(descr.as_str());
    if NPY_DTYPES.contains(&elem) {
        return Ok(());
    }
    if elem.starts_with('O') || descr.contains("object") {
        return Err(Error::ObjectArray {
            path: path.to_owned(),
        });
    }
    let shown: String = descr.chars().take(32).collect();
    Err(bad(&format!(
        "dtype {shown:?} is not a plain numeric or boolean dtype"
    )))
}

/// A strict reader for the Python dict literal of a `.npy` header.
struct NpyHeader<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> NpyHeader<'a> {
    /// Returns the `descr` string; refuses anything but exactly the three
    /// keys `descr` (a quoted string), `fortran_order` (`True`/`False`) and
    /// `shape` (a tuple of integers), each once.
    fn parse(s: &'a [u8]) -> Result<String, &'static str> {
        let mut p = Self { s, at: 0 };
        p.ws();
        p.eat(b'{')?;
        let (mut descr, mut order, mut shape) = (None, false, false);
        loop {
            p.ws();
            if p.peek() == Some(b'}') {
                p.at += 1;
                break;
            }
            let key = p.string()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            match key {
                "descr" if descr.is_none() => {
                    if p.peek() == Some(b'[') {
                        return Err("structured dtypes are refused");
                    }
                    descr = Some(p.string()?.to_owned());
                }
                "fortran_order" if !order => {
                    if !(p.word("True") || p.word("False")) {
                        return Err("fortran_order is not True or False");
                    }
                    order = true;
                }
                "shape" if !shape => {
                    p.tuple()?;
                    shape = true;
                }
                "descr" | "fortran_order" | "shape" => return Err("duplicate header key"),
                _ => return Err("unexpected header key"),
            }
            p.ws();
            match p.peek() {
                Some(b',') => p.at += 1,
                Some(b'}') => {}
                _ => return Err("malformed header dictionary"),
            }
        }
        p.ws();
        if p.at != s.len() {
            return Err("bytes after the header dictionary");
        }
        match (descr, order, shape) {
            (Some(d), true, true) => Ok(d),
            _ => Err("header lacks descr, fortran_order or shape"),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| matches!(c, b' ' | b'\n')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), &'static str> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err("malformed header dictionary")
        }
    }

    fn word(&mut self, w: &str) -> bool {
        if self.s[self.at..].starts_with(w.as_bytes()) {
            self.at += w.len();
            true
        } else {
            false
        }
    }

    /// A single- or double-quoted string of printable ASCII with no
    /// backslash (no escapes) and no prefix (`b''`, `u''`, `r''`).
    fn string(&mut self) -> Result<&'a str, &'static str> {
        let Some(quote @ (b'\'' | b'"')) = self.peek() else {
            return Err("expected a quoted string");
        };
        let begin = self.at + 1;
        let len = self.s[begin..]
            .iter()
            .position(|&c| c == quote)
            .ok_or("unterminated string")?;
        let text = &self.s[begin..begin + len];
        if text
            .iter()
            .any(|&c| c == b'\\' || !(b' '..=b'~').contains(&c))
        {
            return Err("escapes and control characters are refused in header strings");
        }
        self.at = begin + len + 1;
        std::str::from_utf8(text).map_err(|_| "header is not ASCII")
    }

    /// `()`, `(N,)`, `(N, M)`, `(N, M,)`: non-negative decimal integers.
    fn tuple(&mut self) -> Result<(), &'static str> {
        self.eat(b'(').map_err(|_| "shape is not a tuple")?;
        let mut n = 0usize;
        let mut trailing_comma = false;
        loop {
            self.ws();
            if self.peek() == Some(b')') {
                self.at += 1;
                break;
            }
            let digits = self.s[self.at..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if digits == 0 || digits > 19 {
                return Err("shape is not a tuple of integers");
            }
            self.at += digits;
            n += 1;
            self.ws();
            trailing_comma = false;
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    trailing_comma = true;
                }
                Some(b')') => {}
                _ => return Err("shape is not a tuple of integers"),
            }
        }
        // `(3)` is an integer in Python, not a tuple.
        if n == 1 && !trailing_comma {
            return Err("shape is not a tuple of integers");
        }
        Ok(())
    }
}

/// What the walk of a model directory admitted.
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    /// The model's files: for a verifier, the listed files (all present);
    /// for a manifest builder, every file not ignored. Sorted.
    pub(crate) model: Vec<String>,
    /// Regular files present but exempt from listing by an ignore rule.
    /// They are never read by a loader, and were checked here: by name and
    /// by content, for code and pickles.
    pub(crate) ignored: Vec<String>,
}

/// The one decision on what a model directory may hold, used by
/// [`Verifier`](crate::Verifier) and [`ManifestBuilder`](crate::ManifestBuilder)
/// alike.
///
/// Every directory is walked, whatever its name (a directory called
/// `README.md/` or `.git/` is entered like any other); ignore rules decide
/// only whether a *regular file* must be listed. Every entry found must be
/// a regular file or a directory (no symlinks, FIFOs, sockets, devices)
/// with a name that a manifest could hold; every regular file, ignored or
/// not, is refused if its name says code, a pickle or an archive
/// ([`refuse_code_by_name`]). Ignored files are then opened and refused if
/// their content is code or a pickle ([`check_ignored_file`]); the model's
/// own files get the full content checks after hashing.
///
/// With `listed` (a verifier), a file that is neither listed nor ignored
/// is [`Error::UnlistedFile`] and a listed file not found is
/// [`Error::MissingFile`]; a listed file is part of the model even when an
/// ignore rule matches it. Without (a builder), every file not ignored is
/// part of the model.
pub(crate) fn admit(
    root: &ModelDir,
    listed: Option<&BTreeSet<&str>>,
    is_ignored: &dyn Fn(&str) -> bool,
    max_header_len: u64,
) -> Result<Admitted, Error> {
    let mut found = root.walk()?;
    found.sort();
    let mut out = Admitted::default();
    for (rel, kind) in found {
        check_relative_path(&rel)?;
        match kind {
            Found::Symlink => return Err(Error::Symlink { path: rel }),
            Found::Other => return Err(Error::NotRegularFile { path: rel }),
            Found::File => {}
        }
        refuse_code_by_name(&rel)?;
        let is_listed = listed.is_none_or(|l| l.contains(rel.as_str()));
        if listed.is_some() && is_listed {
            out.model.push(rel);
        } else if is_ignored(&rel) {
            out.ignored.push(rel);
        } else if is_listed {
            out.model.push(rel);
        } else {
            return Err(Error::UnlistedFile { path: rel });
        }
    }
    if let Some(listed) = listed
        && let Some(missing) = listed
            .iter()
            .find(|p| out.model.binary_search_by(|m| m.as_str().cmp(p)).is_err())
    {
        return Err(Error::MissingFile {
            path: (*missing).to_owned(),
        });
    }
    for rel in &out.ignored {
        check_ignored_file(root, rel, max_header_len)?;
    }
    Ok(out)
}

/// Content checks for a file exempt from listing: it is not hashed and no
/// loader is handed it, but a pickle or a binary stays refused wherever it
/// lies. Reads the file's first [`IGNORED_SCAN_LEN`] bytes and its last
/// [`TAIL_LEN`]; a pickle stream still valid at that bound is refused.
fn check_ignored_file(root: &ModelDir, rel: &str, max_header_len: u64) -> Result<(), Error> {
    let file = root.open_file(rel)?;
    let size = file.metadata().map_err(|e| Error::io(rel, e))?.len();
    content::check(
        rel,
        &content::Bytes::File(&file, size),
        max_header_len,
        IGNORED_SCAN_LEN,
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn relative_paths() {
        for ok in ["a", "a/b.safetensors", "x..y", ".gitattributes", "a/.b"] {
            assert!(check_relative_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a/.",
            "a\\b",
            "a\0b",
            "a/",
        ] {
            assert!(
                matches!(check_relative_path(bad), Err(Error::UnsafePath { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn code_by_name() {
        for bad in [
            "modeling.py",
            "sub/x.PY",
            "pytorch_model.bin",
            "a.pt",
            "a.pth",
            "a.ckpt",
            "a.pkl",
            "a.joblib",
            "lib.so",
            "a.npz",
        ] {
            assert!(
                matches!(refuse_code_by_name(bad), Err(Error::CodeRefused { .. })),
                "{bad}"
            );
        }
        for ok in [
            "model.safetensors",
            "config.json",
            "tokenizer.model",
            ".py",
            "README",
        ] {
            assert!(refuse_code_by_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn code_by_content() {
        for head in [&b"PK\x03\x04\x14\x00"[..], b"PK\x05\x06", b"PK\x07\x08"] {
            assert!(
                matches!(
                    refuse_code_by_content("weights.dat", head, head),
                    Err(Error::CodeRefused { .. })
                ),
                "{head:?}"
            );
        }
        for head in [
            &b""[..],
            b"\x80",
            b"\x80\x06",
            b"\x80\x02",
            b"{\"a\"",
            b"PK",
            b"PKxx",
        ] {
            assert!(refuse_code_by_content("x", head, head).is_ok(), "{head:?}");
        }
    }

    #[test]
    fn pickles_by_opcode_stream() {
        for p in [
            &b"\x80\x02}q\x00."[..],
            b"\x80\x05\x95",
            b"\x80\x04",
            b"\x80\x01",
            b"\x80\x00",
            b"cos\nsystem\n(S'id'\ntR.",
            b"N.",
        ] {
            assert!(
                matches!(
                    refuse_pickle("weights.dat", &p, p, u64::MAX),
                    Err(Error::Pickle { .. })
                ),
                "{p:?}"
            );
        }
        for p in [&b"\x80\x06"[..], b"{}", b"hello", b"\x80"] {
            assert!(refuse_pickle("x", &p, p, u64::MAX).is_ok(), "{p:?}");
        }
    }

    #[test]
    fn config_remote_code() {
        let ok = br#"{"model_type":"llama","architectures":["LlamaForCausalLM"],"note":"a--b"}"#;
        check_config_json("config.json", ok).unwrap();
        let auto = br#"{"auto_map":{"AutoModel":"modeling.M"}}"#;
        assert!(matches!(
            check_config_json("config.json", auto),
            Err(Error::RemoteCodeRefused { key, .. }) if key == "auto_map"
        ));
        let nested = br#"{"text_config":{"auto_map":{}}}"#;
        assert!(matches!(
            check_config_json("config.json", nested),
            Err(Error::RemoteCodeRefused { key, .. }) if key == "text_config.auto_map"
        ));
        let cross = br#"{"tokenizer_class":"evil/repo--tokenization.Tok"}"#;
        assert!(matches!(
            check_config_json("tokenizer_config.json", cross),
            Err(Error::RemoteCodeRefused { key, .. }) if key == "tokenizer_class"
        ));
        assert!(check_config_json("config.json", b"{").is_err());
    }

    fn npy(descr: &str) -> Vec<u8> {
        let header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (3,), }}\n");
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
        v.extend_from_slice(header.as_bytes());
        v
    }

    #[test]
    fn npy_object_dtype() {
        check_npy("a.npy", &npy("'<f4'")).unwrap();
        assert!(matches!(
            check_npy("a.npy", &npy("'|O'")),
            Err(Error::ObjectArray { .. })
        ));
        assert!(matches!(
            check_npy("a.npy", &npy("[('a', '<f4'), ('b', '|O')]")),
            Err(Error::InvalidFile { .. })
        ));
        assert!(check_npy("a.npy", b"\x93NUMPX\x01\x00\x00\x00").is_err());
    }

    #[test]
    fn npy_plain_numeric_dtypes_pass() {
        for descr in [
            "'<f4'", "'>f8'", "'|b1'", "'|u1'", "'<i8'", "'<c16'", "\"<f2\"", "'?'",
        ] {
            check_npy("a.npy", &npy(descr)).unwrap();
        }
        let header = b"{'shape': (), 'descr': '<i4', 'fortran_order': True}     \n";
        let mut v = b"\x93NUMPY\x02\x00".to_vec();
        v.extend_from_slice(&u32::try_from(header.len()).unwrap().to_le_bytes());
        v.extend_from_slice(header);
        check_npy("a.npy", &v).unwrap();
    }

    /// Each of these got through the old scanner.
    #[test]
    fn npy_scanner_bypasses_are_refused() {
        for descr in ["'object'", "\"|O\"", "\"O\"", "'=O8'"] {
            assert!(
                matches!(
                    check_npy("a.npy", &npy(descr)),
                    Err(Error::ObjectArray { .. })
                ),
                "{descr}"
            );
        }
        for descr in [
            "'\\x4f'",
            "'|\\x4f'",
            "[('a', 'object')]",
            "[('a', '<f4')]",
            "\"[('a', '|O')]\"",
            "'<U10'",
            "'|S4'",
            "'<M8[ns]'",
            "b'<f4'",
            "'<f4' + 'O'",
            "'<f4\"",
        ] {
            assert!(
                matches!(
                    check_npy("a.npy", &npy(descr)),
                    Err(Error::InvalidFile { .. })
                ),
                "{descr}"
            );
        }
    }

    #[test]
    fn npy_header_must_be_exactly_the_three_keys() {
        let with = |h: &str| {
            let mut v = b"\x93NUMPY\x01\x00".to_vec();
            v.extend_from_slice(&u16::try_from(h.len()).unwrap().to_le_bytes());
            v.extend_from_slice(h.as_bytes());
            check_npy("a.npy", &v)
        };
        for h in [
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}",
            "{'descr': '<f4', 'descr': '|O', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk",
            "{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
        ] {
            assert!(matches!(with(h), Err(Error::InvalidFile { .. })), "{h}");
        }
        assert!(with("{'descr':'<f4','fortran_order':False,'shape':(3,4,),}").is_ok());
    }
}
