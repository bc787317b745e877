//! Content rules, applied the same way by the verifier (on the verified
//! bytes, or through the verified handles), by the manifest builder, and to
//! ignored files: code and pickles by content, safetensors headers, configs
//! asking for remote code, `.npy` headers, shard indexes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::fs::FileExt;

use serde::Deserialize;

use crate::error::Error;
use crate::pickle;
use crate::policy::{self, ContentCheck};
use crate::safetensors::{self, Header, StrictStringMap};

/// Largest `.npy` header inspected.
const MAX_NPY_HEADER: u64 = 1 << 20;

/// A file's bytes: in memory (verified and retained), or an open handle of
/// a checked size.
pub(crate) enum Bytes<'a> {
    Mem(&'a [u8]),
    File(&'a File, u64),
}

impl Bytes<'_> {
    fn len(&self) -> u64 {
        match self {
            Bytes::Mem(b) => b.len() as u64,
            Bytes::File(_, size) => *size,
        }
    }

    /// Bytes `start..start + len` (clamped to the file).
    fn read(&self, path: &str, start: u64, len: u64) -> Result<Vec<u8>, Error> {
        let end = start.saturating_add(len).min(self.len());
        let start = start.min(end);
        let n = usize::try_from(end - start)
            .map_err(|_| Error::io(path, std::io::Error::other("file too large for memory")))?;
        match self {
            Bytes::Mem(b) => {
                let s = usize::try_from(start).map_err(|_| Error::FileChanged {
                    path: path.to_owned(),
                })?;
                Ok(b[s..s + n].to_vec())
            }
            Bytes::File(f, _) => {
                let mut buf = vec![0u8; n];
                f.read_exact_at(&mut buf, start).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        Error::FileChanged {
                            path: path.to_owned(),
                        }
                    } else {
                        Error::io(path, e)
                    }
                })?;
                Ok(buf)
            }
        }
    }

    fn with_source<R>(&self, f: impl FnOnce(&dyn pickle::Source) -> R) -> R {
        match self {
            Bytes::Mem(b) => f(b),
            Bytes::File(file, size) => f(&pickle::FileSource { file, size: *size }),
        }
    }
}

/// What the content checks learnt about a file, for the checks across
/// files ([`check_model`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Content {
    /// The validated header of a safetensors file.
    pub(crate) header: Option<Header>,
    /// The `weight_map` of a `*.safetensors.index.json`: tensor name to
    /// shard file name (relative to the index's directory).
    pub(crate) index: Option<BTreeMap<String, String>>,
}

/// Runs the content rules on one file. `scan_limit` bounds the bytes the
/// pickle reader follows (unbounded for the model's own files).
pub(crate) fn check(
    path: &str,
    bytes: &Bytes<'_>,
    max_header_len: u64,
    scan_limit: u64,
) -> Result<Content, Error> {
    let size = bytes.len();
    let mut kind = policy::content_check(path);
    if kind != ContentCheck::Safetensors {
        let head = bytes.read(path, 0, policy::HEAD_LEN)?;
        // The last bytes (overlapping the head in a short file): a zip
        // reader finds an archive from its end.
        let tail = bytes.read(
            path,
            size.saturating_sub(policy::TAIL_LEN),
            policy::TAIL_LEN,
        )?;
        policy::refuse_code_by_content(path, &head, &tail)?;
        bytes.with_source(|src| policy::refuse_pickle(path, src, &head, scan_limit))?;
        // `numpy.load` goes by the magic, not the name.
        if kind == ContentCheck::None && head.starts_with(policy::NPY_MAGIC) {
            kind = ContentCheck::Npy;
        }
    }
    let mut out = Content::default();
    match kind {
        ContentCheck::None => {}
        ContentCheck::Safetensors => {
            let head = bytes.read(path, 0, 8)?;
            let n = safetensors::header_len(path, &head, size, max_header_len)?;
            let header = match bytes {
                Bytes::Mem(b) => safetensors::validate(path, b, size, max_header_len)?,
                Bytes::File(..) => {
                    let prefix = bytes.read(path, 0, 8 + n)?;
                    safetensors::validate(path, &prefix, size, max_header_len)?
                }
            };
            out.header = Some(header);
        }
        ContentCheck::ConfigJson | ContentCheck::ShardIndex => {
            if size > policy::MAX_CONFIG_LEN {
                return Err(Error::InvalidFile {
                    path: path.to_owned(),
                    reason: "configuration file larger than 16 MiB".to_owned(),
                });
            }
            let text = bytes.read(path, 0, size)?;
            policy::check_config_json(path, &text)?;
            if kind == ContentCheck::ShardIndex {
                out.index = Some(parse_index(path, &text)?);
            }
        }
        ContentCheck::Npy => {
            let head = bytes.read(path, 0, MAX_NPY_HEADER)?;
            policy::check_npy(path, &head)?;
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct RawIndex {
    weight_map: StrictStringMap,
    #[serde(default, rename = "metadata")]
    _metadata: Option<serde_json::Value>,
}

fn parse_index(path: &str, text: &[u8]) -> Result<BTreeMap<String, String>, Error> {
    let raw: RawIndex = serde_json::from_slice(text).map_err(|e| Error::ShardIndex {
        path: path.to_owned(),
        reason: format!("not a shard index ({e})"),
    })?;
    Ok(raw.weight_map.0)
}

/// Checks across the model's files: a tensor name is defined in one file
/// only (which one a loader picks would decide the weights), and every
/// `*.safetensors.index.json` describes the safetensors files beside it
/// exactly: it names only shards that are part of the model, every shard in
/// its directory is named by an index there, and its `weight_map` sends
/// every tensor of those shards, and nothing else, to the shard that holds
/// it.
pub(crate) fn check_model(files: &[(&str, &Content)]) -> Result<(), Error> {
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, c) in files {
        for name in c.header.iter().flat_map(|h| h.tensors.keys()) {
            if let Some(first) = owner.insert(name, path) {
                return Err(Error::safetensors(
                    path,
                    format!("tensor {name:?} is also defined in {first}"),
                ));
            }
        }
    }
    let headers: BTreeMap<&str, &Header> = files
        .iter()
        .filter_map(|(p, c)| c.header.as_ref().map(|h| (*p, h)))
        .collect();
    let dir_of = |p: &str| p.rfind('/').map_or("", |i| &p[..=i]).to_owned();
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut dirs_with_index: BTreeSet<String> = BTreeSet::new();
    for (path, c) in files {
        let Some(map) = &c.index else { continue };
        let bad = |reason: String| Error::ShardIndex {
            path: (*path).to_owned(),
            reason,
        };
        let dir = dir_of(path);
        dirs_with_index.insert(dir.clone());
        let mut mine: BTreeSet<String> = BTreeSet::new();
        for (tensor, shard) in map {
            policy::check_relative_path(shard)
                .map_err(|_| bad(format!("shard name {shard:?} is not a plain relative path")))?;
            let shard_path = format!("{dir}{shard}");
            let Some(h) = headers.get(shard_path.as_str()) else {
                return Err(bad(format!(
                    "names shard {shard_path}, which is not a safetensors file of the verified model"
                )));
            };
            if !h.tensors.contains_key(tensor) {
                return Err(bad(format!(
                    "maps tensor {tensor:?} to {shard_path}, which does not hold it"
                )));
            }
            mine.insert(shard_path);
        }
        for shard in &mine {
            if let Some(h) = headers.get(shard.as_str())
                && let Some(t) = h.tensors.keys().find(|t| !map.contains_key(*t))
            {
                return Err(bad(format!(
                    "tensor {t:?} of {shard} is missing from its weight_map"
                )));
            }
        }
        named.extend(mine);
    }
    for path in headers.keys() {
        if dirs_with_index.contains(&dir_of(path)) && !named.contains(*path) {
            return Err(Error::ShardIndex {
                path: (*path).to_owned(),
                reason: "this shard lies beside a shard index that does not name it".to_owned(),
            });
        }
    }
    Ok(())
}
