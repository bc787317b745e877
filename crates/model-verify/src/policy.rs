//! What may be in a model directory: safe relative paths, no code, no
//! pickles, no requests for remote code.

use crate::error::Error;

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

/// Refuses code by its name: Python source and bytecode, native libraries,
/// scripts, notebooks, and the pickle family. Refused, not scanned.
pub(crate) fn refuse_code_by_name(path: &str) -> Result<(), Error> {
    let Some(ext) = extension(path) else {
        return Ok(());
    };
    let reason = match ext.as_str() {
        "py" | "pyc" | "pyo" | "pyw" | "pyx" | "pyd" | "ipynb" => "Python code",
        "so" | "dylib" | "dll" | "exe" | "sh" | "bat" | "ps1" => "native code or script",
        "bin" | "pt" | "pth" | "ckpt" | "pkl" | "pickle" | "joblib" | "dill" | "npz" | "mar"
        | "nemo" | "keras" | "h5" | "hdf5" | "pb" => "pickle-family or executable-graph file",
        _ => return Ok(()),
    };
    Err(Error::CodeRefused {
        path: path.to_owned(),
        reason,
    })
}

/// Whether the file needs a content check after its digest verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContentCheck {
    None,
    Safetensors,
    ConfigJson,
    Npy,
}

pub(crate) fn content_check(path: &str) -> ContentCheck {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
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

/// Refuses a `.npy` file whose dtype holds Python objects (`O`), which
/// `numpy.load` can only read with pickle, and any `.npy` whose header cannot
/// be read.
pub(crate) fn check_npy(path: &str, bytes: &[u8]) -> Result<(), Error> {
    let bad = |why: &str| Error::InvalidFile {
        path: path.to_owned(),
        reason: format!("not a valid .npy file ({why})"),
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
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
    let header = std::str::from_utf8(header).map_err(|_| bad("header encoding"))?;
    // The descr is a Python literal: either a plain dtype string such as
    // '<f4', or a list (structured dtype) that may contain 'O' fields.
    let descr = header
        .split_once("'descr':")
        .map(|(_, rest)| rest)
        .ok_or_else(|| bad("no descr"))?;
    let descr = descr.split("'fortran_order'").next().unwrap_or(descr);
    let descr = descr.split("'shape'").next().unwrap_or(descr);
    let object = descr
        .split('\'')
        .skip(1)
        .step_by(2)
        .any(|t| t.trim_start_matches(['<', '>', '|', '=']).starts_with('O'));
    if object {
        return Err(Error::ObjectArray {
            path: path.to_owned(),
        });
    }
    Ok(())
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
            Err(Error::ObjectArray { .. })
        ));
        assert!(check_npy("a.npy", b"\x93NUMPX\x01\x00\x00\x00").is_err());
    }
}
