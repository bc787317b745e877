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

/// Refuses code by its first bytes, whatever the file is called: a pickle
/// stream with a protocol header (`0x80` then protocol 2 to 5, what
/// `pickle.dump` and `torch.save`'s legacy format write), and any zip
/// archive (`PK\x03\x04`, `PK\x05\x06`, `PK\x07\x08`: `torch.save`
/// checkpoints are zips holding `data.pkl`, and `.npz`, `.keras` and `.nemo`
/// files are zips too). No file of a Hugging Face model directory that this
/// crate accepts (safetensors, JSON, text, tokenizer files) is a zip, so
/// zips are refused without looking inside. Safetensors files are not
/// checked here: their first 8 bytes are a length (which can begin with
/// `0x80 0x02`), and their whole structure is validated instead.
pub(crate) fn refuse_code_by_content(path: &str, head: &[u8]) -> Result<(), Error> {
    let reason = match head {
        [0x80, 2..=5, ..] => "pickle data (found by content)",
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => {
            "zip archive, the container of PyTorch checkpoints and other pickles (found by content)"
        }
        _ => return Ok(()),
    };
    Err(Error::CodeRefused {
        path: path.to_owned(),
        reason,
    })
}

/// Bytes of a file's beginning looked at for its type: enough for
/// [`refuse_code_by_content`] and [`NPY_MAGIC`].
pub(crate) const MAGIC_LEN: u64 = 6;

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
        for head in [
            &b"\x80\x02}q\x00."[..],
            b"\x80\x05\x95",
            b"\x80\x04",
            b"PK\x03\x04\x14\x00",
            b"PK\x05\x06",
            b"PK\x07\x08",
        ] {
            assert!(
                matches!(
                    refuse_code_by_content("weights.dat", head),
                    Err(Error::CodeRefused { .. })
                ),
                "{head:?}"
            );
        }
        for head in [
            &b""[..],
            b"\x80",
            b"\x80\x01",
            b"\x80\x06",
            b"{\"a\"",
            b"PK",
            b"PKxx",
        ] {
            assert!(refuse_code_by_content("x", head).is_ok(), "{head:?}");
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
