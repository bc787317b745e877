//! safetensors header validation, stricter than upstream, and a view of
//! the tensors of a verified file.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::error::Error;

/// Default bound on the JSON header of a safetensors file (100 MB, as
/// upstream).
pub const DEFAULT_MAX_HEADER_LEN: u64 = 100_000_000;

/// The element types a safetensors file may use; anything else is refused.
///
/// Only whole-byte types are allowed: sub-byte types (`F4`, `F6_*`) cannot
/// be range-checked per tensor the same way and no loader here needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// Boolean, one byte.
    Bool,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// 8-bit float, 5 exponent bits.
    F8E5M2,
    /// 8-bit float, 4 exponent bits.
    F8E4M3,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 16-bit integer.
    U16,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 32-bit integer.
    U32,
    /// IEEE single precision.
    F32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 64-bit integer.
    U64,
    /// IEEE double precision.
    F64,
}

impl Dtype {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "BOOL" => Self::Bool,
            "U8" => Self::U8,
            "I8" => Self::I8,
            "F8_E5M2" => Self::F8E5M2,
            "F8_E4M3" => Self::F8E4M3,
            "I16" => Self::I16,
            "U16" => Self::U16,
            "F16" => Self::F16,
            "BF16" => Self::BF16,
            "I32" => Self::I32,
            "U32" => Self::U32,
            "F32" => Self::F32,
            "I64" => Self::I64,
            "U64" => Self::U64,
            "F64" => Self::F64,
            _ => return None,
        })
    }

    /// Bytes per element.
    #[must_use]
    pub const fn size(self) -> u64 {
        match self {
            Self::Bool | Self::U8 | Self::I8 | Self::F8E5M2 | Self::F8E4M3 => 1,
            Self::I16 | Self::U16 | Self::F16 | Self::BF16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }

    /// The name used in safetensors headers (`"F32"`, `"BF16"`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bool => "BOOL",
            Self::U8 => "U8",
            Self::I8 => "I8",
            Self::F8E5M2 => "F8_E5M2",
            Self::F8E4M3 => "F8_E4M3",
            Self::I16 => "I16",
            Self::U16 => "U16",
            Self::F16 => "F16",
            Self::BF16 => "BF16",
            Self::I32 => "I32",
            Self::U32 => "U32",
            Self::F32 => "F32",
            Self::I64 => "I64",
            Self::U64 => "U64",
            Self::F64 => "F64",
        }
    }
}

/// One tensor's entry in a validated header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TensorInfo {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<u64>,
    /// Byte range within the data section.
    pub(crate) begin: u64,
    pub(crate) end: u64,
}

/// A validated header: tensors by name, metadata, and where data starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) tensors: BTreeMap<String, TensorInfo>,
    pub(crate) metadata: BTreeMap<String, String>,
    /// Offset of the data section in the file (8 + header length).
    pub(crate) data_start: u64,
}

/// The raw JSON header: a map without duplicate keys.
struct RawHeader(Vec<(String, RawEntry)>);

enum RawEntry {
    Metadata(BTreeMap<String, String>),
    Tensor(RawTensor),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTensor {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// A string-to-string map that refuses duplicate keys.
pub(crate) struct StrictStringMap(pub(crate) BTreeMap<String, String>);

impl<'de> Deserialize<'de> for StrictStringMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictStringMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings to strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.contains_key(&k) {
                        return Err(de::Error::custom(format!("duplicate metadata key {k:?}")));
                    }
                    out.insert(k, v);
                }
                Ok(StrictStringMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawHeader;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of tensors")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = std::collections::HashSet::new();
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("duplicate key {key:?}")));
                    }
                    let entry = if key == "__metadata__" {
                        RawEntry::Metadata(map.next_value::<StrictStringMap>()?.0)
                    } else {
                        RawEntry::Tensor(map.next_value::<RawTensor>()?)
                    };
                    out.push((key, entry));
                }
                Ok(RawHeader(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads the 8-byte length prefix and checks it against the bound and the
/// file length. Returns the header length.
pub(crate) fn header_len(
    path: &str,
    prefix: &[u8],
    file_len: u64,
    max_header_len: u64,
) -> Result<u64, Error> {
    let Some(len_bytes) = prefix.get(..8) else {
        return Err(Error::safetensors(
            path,
            "shorter than the 8-byte header length",
        ));
    };
    let mut b = [0u8; 8];
    b.copy_from_slice(len_bytes);
    let n = u64::from_le_bytes(b);
    if n > max_header_len {
        return Err(Error::safetensors(
            path,
            format!("header length {n} exceeds the limit of {max_header_len} bytes"),
        ));
    }
    if n.checked_add(8).is_none_or(|end| end > file_len) {
        return Err(Error::safetensors(
            path,
            format!("header length {n} runs past the end of the file"),
        ));
    }
    Ok(n)
}

/// Validates a safetensors file given its first `8 + header length` bytes
/// (or more) and its total length.
pub(crate) fn validate(
    path: &str,
    prefix: &[u8],
    file_len: u64,
    max_header_len: u64,
) -> Result<Header, Error> {
    let n = header_len(path, prefix, file_len, max_header_len)?;
    let n_usize = usize::try_from(n).map_err(|_| Error::safetensors(path, "header too large"))?;
    let json = prefix
        .get(8..8 + n_usize)
        .ok_or_else(|| Error::safetensors(path, "header truncated"))?;
    if json.first() != Some(&b'{') {
        return Err(Error::safetensors(path, "header does not start with `{`"));
    }
    let raw: RawHeader = serde_json::from_slice(json)
        .map_err(|e| Error::safetensors(path, format!("header is not valid JSON: {e}")))?;
    let data_start = 8 + n;
    let data_len = file_len - data_start;

    let mut tensors = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for (name, entry) in raw.0 {
        match entry {
            RawEntry::Metadata(m) => metadata = m,
            RawEntry::Tensor(t) => {
                let dtype = Dtype::parse(&t.dtype).ok_or_else(|| {
                    Error::safetensors(
                        path,
                        format!("tensor {name:?}: dtype {:?} is not allowed", t.dtype),
                    )
                })?;
                let [begin, end] = t.data_offsets;
                if begin > end {
                    return Err(Error::safetensors(
                        path,
                        format!("tensor {name:?}: data_offsets end before they begin"),
                    ));
                }
                let bytes = t
                    .shape
                    .iter()
                    .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
                    .ok_or_else(|| {
                        Error::safetensors(path, format!("tensor {name:?}: shape overflows"))
                    })?;
                if bytes != end - begin {
                    return Err(Error::safetensors(
                        path,
                        format!(
                            "tensor {name:?}: shape and dtype give {bytes} bytes but data_offsets span {}",
                            end - begin
                        ),
                    ));
                }
                tensors.insert(
                    name,
                    TensorInfo {
                        dtype,
                        shape: t.shape,
                        begin,
                        end,
                    },
                );
            }
        }
    }

    // Ranges sorted by start must tile [0, data_len) exactly: contiguous,
    // non-overlapping, no gap, no trailing bytes.
    let mut ranges: Vec<(u64, u64, &str)> = tensors
        .iter()
        .map(|(k, t)| (t.begin, t.end, k.as_str()))
        .collect();
    ranges.sort_unstable();
    let mut cursor = 0u64;
    for (begin, end, name) in ranges {
        if begin != cursor {
            let what = if begin < cursor {
                "overlaps"
            } else {
                "leaves a gap before"
            };
            return Err(Error::safetensors(
                path,
                format!(
                    "tensor {name:?} {what} the previous tensor (offset {begin}, expected {cursor})"
                ),
            ));
        }
        cursor = end;
    }
    if cursor != data_len {
        return Err(Error::safetensors(
            path,
            if cursor > data_len {
                format!("tensors need {cursor} data bytes but the file has {data_len}")
            } else {
                format!("{} trailing bytes after the last tensor", data_len - cursor)
            },
        ));
    }
    Ok(Header {
        tensors,
        metadata,
        data_start,
    })
}

/// A verified safetensors file: its tensors, read from the verified bytes.
///
/// Obtained from [`VerifiedFile::safetensors`](crate::VerifiedFile::safetensors).
#[derive(Debug, Clone, Copy)]
pub struct SafeTensors<'a> {
    pub(crate) header: &'a Header,
    pub(crate) bytes: &'a [u8],
}

/// One tensor of a verified safetensors file.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    name: &'a str,
    dtype: Dtype,
    shape: &'a [u64],
    data: &'a [u8],
}

impl<'a> TensorView<'a> {
    /// The tensor's name.
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// The element type.
    #[must_use]
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }
    /// The shape (empty for a scalar).
    #[must_use]
    pub fn shape(&self) -> &'a [u64] {
        self.shape
    }
    /// The little-endian element bytes (exactly `shape` x `dtype.size()`).
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

impl<'a> SafeTensors<'a> {
    /// Number of tensors.
    #[must_use]
    pub fn len(&self) -> usize {
        self.header.tensors.len()
    }

    /// True when the file holds no tensors.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.header.tensors.is_empty()
    }

    /// The tensor called `name`.
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<TensorView<'a>> {
        let (k, t) = self.header.tensors.get_key_value(name)?;
        Some(self.view(k, t))
    }

    /// All tensors, by name.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'a>> + use<'a> {
        let this = *self;
        this.header
            .tensors
            .iter()
            .map(move |(k, t)| this.view(k, t))
    }

    /// The `__metadata__` map (empty when absent).
    #[must_use]
    pub fn metadata(&self) -> &'a BTreeMap<String, String> {
        &self.header.metadata
    }

    fn view(&self, name: &'a str, t: &'a TensorInfo) -> TensorView<'a> {
        // Validation proved data_start + end <= bytes.len(); the conversion
        // and slicing cannot fail, but stay panic-free regardless.
        let start = usize::try_from(self.header.data_start + t.begin).unwrap_or(usize::MAX);
        let end = usize::try_from(self.header.data_start + t.end).unwrap_or(usize::MAX);
        TensorView {
            name,
            dtype: t.dtype,
            shape: &t.shape,
            data: self.bytes.get(start..end).unwrap_or_default(),
        }
    }
}

/// Fuzzing hook: validates arbitrary bytes as a whole safetensors file and,
/// when valid, checks that every tensor view lies inside the file.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_safetensors(data: &[u8]) {
    if let Ok(h) = validate("fuzz", data, data.len() as u64, 1 << 20) {
        let st = SafeTensors {
            header: &h,
            bytes: data,
        };
        for t in st.tensors() {
            assert_eq!(
                t.data().len() as u64,
                t.shape().iter().product::<u64>() * t.dtype().size()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    pub(crate) fn file(header: &str, data_len: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend(std::iter::repeat_n(0u8, data_len));
        v
    }

    fn check(header: &str, data_len: usize) -> Result<Header, Error> {
        let f = file(header, data_len);
        validate("t.safetensors", &f, f.len() as u64, DEFAULT_MAX_HEADER_LEN)
    }

    fn reason(r: Result<Header, Error>) -> String {
        match r {
            Err(Error::Safetensors { reason, .. }) => reason,
            other => panic!("expected a safetensors error, got {other:?}"),
        }
    }

    #[test]
    fn valid_file_and_views() {
        let h = r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"U8","shape":[0],"data_offsets":[12,12]}}  "#;
        let mut f = file(h, 12);
        let n = f.len();
        f[n - 12..].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let header = validate("x", &f, n as u64, DEFAULT_MAX_HEADER_LEN).unwrap();
        let st = SafeTensors {
            header: &header,
            bytes: &f,
        };
        assert_eq!(st.len(), 3);
        assert_eq!(st.tensor("a").unwrap().data(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(st.tensor("b").unwrap().data(), &[9, 10, 11, 12]);
        assert_eq!(st.tensor("b").unwrap().dtype(), Dtype::F16);
        assert!(st.tensor("e").unwrap().data().is_empty());
        assert_eq!(st.metadata().get("format").map(String::as_str), Some("pt"));
    }

    proptest::proptest! {
        /// Any layout of whole tensors placed back to back validates, and
        /// every view is exactly its byte range.
        #[test]
        fn valid_layouts_validate(shapes in proptest::collection::vec(proptest::collection::vec(0u64..5, 0..3), 0..6)) {
            let mut header = serde_json::Map::new();
            let mut at = 0u64;
            for (i, shape) in shapes.iter().enumerate() {
                let n = shape.iter().product::<u64>() * 2;
                header.insert(format!("t{i}"), serde_json::json!({"dtype": "BF16", "shape": shape, "data_offsets": [at, at + n]}));
                at += n;
            }
            let f = file(&serde_json::Value::Object(header).to_string(), usize::try_from(at).unwrap());
            let h = validate("p", &f, f.len() as u64, DEFAULT_MAX_HEADER_LEN).unwrap();
            let st = SafeTensors { header: &h, bytes: &f };
            proptest::prop_assert_eq!(st.len(), shapes.len());
            let total: usize = st.tensors().map(|t| t.data().len()).sum();
            proptest::prop_assert_eq!(total as u64, at);
        }

        /// Arbitrary bytes never panic, and whatever validates stays in bounds.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..256), n in 0u64..64) {
            let mut f = n.to_le_bytes().to_vec();
            f.extend_from_slice(&data);
            if let Ok(h) = validate("p", &f, f.len() as u64, 1 << 20) {
                let st = SafeTensors { header: &h, bytes: &f };
                for t in st.tensors() {
                    proptest::prop_assert!(t.data().len() <= f.len());
                }
            }
        }
    }

    #[test]
    fn refusals() {
        let t = |o: &str| format!(r#"{{"a":{{"dtype":"F32","shape":[1],"data_offsets":{o}}}}}"#);
        assert!(reason(check(&t("[0,4]"), 5)).contains("trailing"));
        assert!(reason(check(&t("[0,4]"), 3)).contains("need 4"));
        assert!(reason(check(&t("[4,0]"), 4)).contains("end before"));
        assert!(reason(check(&t("[0,8]"), 8)).contains("shape and dtype"));
        assert!(reason(check(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8)).contains("duplicate"));
        assert!(
            reason(check(
                r#"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                4
            ))
            .contains("duplicate")
        );
        assert!(
            reason(check(
                r#"{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}"#,
                1
            ))
            .contains("not allowed")
        );
        assert!(
            reason(check(
                r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                4
            ))
            .contains("overflows")
        );
        assert!(reason(check(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, 6)).contains("overlaps"));
        assert!(reason(check(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[6,10]}}"#, 10)).contains("gap"));
        assert!(reason(check(r#"{"__metadata__":{"k":1}}"#, 0)).contains("JSON"));
        assert!(reason(check(r#"{"__metadata__":{"k":"a","k":"b"}}"#, 0)).contains("duplicate"));
        assert!(
            reason(check(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}"#,
                4
            ))
            .contains("JSON")
        );
        assert!(reason(check(r#" {}"#, 0)).contains("start with"));
        assert!(reason(check(r#"[]"#, 0)).contains("start with"));
        assert!(reason(check(r#"{"#, 0)).contains("JSON"));
        // Length prefix bounds.
        let f = file("{}", 0);
        assert!(reason(validate("x", &f, f.len() as u64, 1)).contains("exceeds the limit"));
        let mut f = file("{}", 0);
        f[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(reason(validate("x", &f, f.len() as u64, u64::MAX)).contains("past the end"));
        assert!(reason(validate("x", &f[..4], 4, 10)).contains("shorter"));
    }
}
