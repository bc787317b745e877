//! Privacy helpers: keyed fingerprints and the sanitizer applied to every
//! string field before it is written.

use std::borrow::Cow;
use std::fmt;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::keys;

const DOMAIN_FINGERPRINT: &[u8] = b"EAL1 fingerprint\0";
/// Prefix of a fingerprint's text form.
pub const FINGERPRINT_PREFIX: &str = "fp1:";

/// Keyed fingerprints of texts (prompts, model outputs), so a log can say
/// "this exact text was seen" without holding it.
///
/// `fingerprint = HMAC-SHA256(key, "EAL1 fingerprint\0" ‖ text)`, shown as
/// `fp1:` and the first 16 bytes in hex. Unlike a bare SHA-256, it cannot
/// be reversed by hashing a dictionary of likely short texts without the
/// key. Derive the key from your master key with a label of its own.
///
/// ```
/// use encrypted_audit_log::Fingerprinter;
/// let f = Fingerprinter::new(&[9u8; 32]);
/// let a = f.fingerprint("what is my password?");
/// assert_eq!(a, f.fingerprint("what is my password?"));
/// assert!(a.to_string().starts_with("fp1:"));
/// ```
pub struct Fingerprinter {
    key: Zeroizing<[u8; 32]>,
}

impl Fingerprinter {
    /// A fingerprinter keyed with a 256-bit secret (copied; the copy is
    /// erased on drop).
    pub fn new(key: &[u8; 32]) -> Self {
        Fingerprinter {
            key: Zeroizing::new(*key),
        }
    }

    /// The fingerprint of `text`.
    pub fn fingerprint(&self, text: &str) -> Fingerprint {
        let full = keys::hmac(&self.key, &[DOMAIN_FINGERPRINT, text.as_bytes()]);
        let mut fp = [0u8; 16];
        fp.copy_from_slice(&full[..16]);
        Fingerprint(fp)
    }
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fingerprinter").finish_non_exhaustive()
    }
}

/// A keyed fingerprint (128 bits). Displays as `fp1:` and 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 16]);

impl Fingerprint {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{FINGERPRINT_PREFIX}{}",
            data_encoding::HEXLOWER.encode(&self.0)
        )
    }
}

type Hook = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Cleans every string field of an event before it is written.
///
/// In order: the pluggable hook (for example a PII scanner that redacts
/// what it finds); user names in home paths (`/home/NAME/`,
/// `/Users/NAME/`, `C:\Users\NAME\`) replaced by `<user>`; values longer
/// than the limit (default 4096 bytes) cut, keeping their length and, when
/// a [`Fingerprinter`] is set, their fingerprint.
///
/// ```
/// use encrypted_audit_log::Sanitizer;
/// let s = Sanitizer::new().max_len(32);
/// assert_eq!(s.sanitize("/home/alice/notes.txt"), "/home/<user>/notes.txt");
/// assert_eq!(s.sanitize(r"C:\Users\Bob\x"), r"C:\Users\<user>\x");
/// assert!(s.sanitize(&"a".repeat(100)).contains("[truncated: 100 bytes"));
/// ```
pub struct Sanitizer {
    max_len: usize,
    home_paths: bool,
    fingerprinter: Option<Fingerprinter>,
    hook: Option<Hook>,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Sanitizer {
            max_len: 4096,
            home_paths: true,
            fingerprinter: None,
            hook: None,
        }
    }
}

impl fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sanitizer")
            .field("max_len", &self.max_len)
            .field("home_paths", &self.home_paths)
            .field("fingerprinter", &self.fingerprinter.is_some())
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

const USER: &str = "<user>";

impl Sanitizer {
    /// The default sanitizer: home paths on, 4096-byte limit, no hook, no
    /// fingerprints of truncated values.
    pub fn new() -> Self {
        Sanitizer::default()
    }

    /// Values longer than `bytes` are cut (at a character boundary).
    #[must_use]
    pub fn max_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// Whether user names in home paths are replaced (default: yes).
    #[must_use]
    pub fn home_paths(mut self, on: bool) -> Self {
        self.home_paths = on;
        self
    }

    /// Keep the keyed fingerprint of each truncated value.
    #[must_use]
    pub fn fingerprinter(mut self, f: Fingerprinter) -> Self {
        self.fingerprinter = Some(f);
        self
    }

    /// A hook run first on every string: return `Some(replacement)` to
    /// change it, `None` to keep it.
    #[must_use]
    pub fn hook(mut self, hook: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Sanitizes one string.
    pub fn sanitize<'s>(&self, s: &'s str) -> Cow<'s, str> {
        if is_fingerprint(s) {
            // Already a keyed fingerprint (`Event::with_fingerprint`): it
            // holds nothing to sanitize, and must stay searchable.
            return Cow::Borrowed(s);
        }
        let mut out: Cow<'s, str> = Cow::Borrowed(s);
        if let Some(hook) = &self.hook
            && let Some(replaced) = hook(&out)
        {
            out = Cow::Owned(replaced);
        }
        if self.home_paths
            && let Some(replaced) = replace_home_users(&out)
        {
            out = Cow::Owned(replaced);
        }
        if out.len() > self.max_len {
            let mut cut = self.max_len;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            // The kept prefix is sanitized; the length and fingerprint are
            // the original text's, so that `find_fingerprint` with the text
            // the caller had finds it.
            let mut t = out[..cut].to_owned();
            t.push_str(&format!("…[truncated: {} bytes", s.len()));
            if let Some(fp) = &self.fingerprinter {
                t.push_str(&format!(", {}", fp.fingerprint(s)));
            }
            t.push(']');
            out = Cow::Owned(t);
        }
        out
    }
}

/// Whether `s` is exactly a fingerprint's text: `fp1:` and 32 lowercase
/// hex digits.
fn is_fingerprint(s: &str) -> bool {
    s.strip_prefix(FINGERPRINT_PREFIX).is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Event fields serialized as a JSON object with every string inside them
/// sanitized on the way out (keys are kept), without copying the fields.
pub(crate) struct SanitizedFields<'a> {
    pub(crate) fields: &'a serde_json::Map<String, Value>,
    pub(crate) sanitizer: &'a Sanitizer,
}

/// One JSON value, serialized with its strings sanitized.
struct SanitizedValue<'a>(&'a Value, &'a Sanitizer);

impl Serialize for SanitizedFields<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(Some(self.fields.len()))?;
        for (k, v) in self.fields {
            map.serialize_entry(k, &SanitizedValue(v, self.sanitizer))?;
        }
        map.end()
    }
}

impl Serialize for SanitizedValue<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let SanitizedValue(value, sanitizer) = *self;
        match value {
            Value::String(s) => ser.serialize_str(&sanitizer.sanitize(s)),
            Value::Array(a) => {
                let mut seq = ser.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&SanitizedValue(x, sanitizer))?;
                }
                seq.end()
            }
            Value::Object(m) => SanitizedFields {
                fields: m,
                sanitizer,
            }
            .serialize(ser),
            other => other.serialize(ser),
        }
    }
}

/// Replaces the user name after `/home/`, `/Users/` and `X:\Users\` (any
/// case for the Windows form). `None` if nothing changed.
fn replace_home_users(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    // Every marker holds a `/` or `:` at its first or second byte: jump
    // from one to the next instead of testing each byte. A marker never
    // starts before `i` (the bytes there were tested or are a name).
    while let Some(found) = memchr::memchr2(b'/', b':', &bytes[i..]) {
        let at = i + found;
        let start = if bytes[at] == b':' {
            at.checked_sub(1).filter(|&st| st >= i)
        } else {
            Some(at)
        };
        let Some((start, marker_len)) = start
            .map(|st| (st, marker_at(bytes, st)))
            .filter(|&(_, len)| len > 0)
        else {
            i = at + 1;
            continue;
        };
        let name_start = start + marker_len;
        let mut end = name_start;
        while end < bytes.len() && !is_name_end(bytes[end]) {
            end += 1;
        }
        if end > name_start && &s[name_start..end] != USER {
            out.push_str(&s[copied..name_start]);
            out.push_str(USER);
            copied = end;
        }
        i = end.max(start + 1);
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&s[copied..]);
    Some(out)
}

fn is_name_end(b: u8) -> bool {
    matches!(b, b'/' | b'\\' | b'"' | b'\'' | b'`' | b':' | b';' | b',') || b.is_ascii_whitespace()
}

/// Length of a home-directory marker starting at `i`, or 0.
fn marker_at(b: &[u8], i: usize) -> usize {
    let rest = &b[i..];
    if rest.starts_with(b"/home/") {
        return 6;
    }
    if rest.starts_with(b"/Users/") {
        return 7;
    }
    // X:\Users\ or X:/Users/ (Windows), case-insensitive.
    if rest.len() >= 9
        && rest[0].is_ascii_alphabetic()
        && rest[1] == b':'
        && matches!(rest[2], b'\\' | b'/')
        && rest[3..8].eq_ignore_ascii_case(b"users")
        && matches!(rest[8], b'\\' | b'/')
        && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
    {
        return 9;
    }
    0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn home_paths_lose_their_user_names() {
        let s = Sanitizer::new();
        let cases = [
            (
                "/home/alice/.ssh/id_ed25519",
                "/home/<user>/.ssh/id_ed25519",
            ),
            (
                "open /Users/Bob.Smith/Documents now",
                "open /Users/<user>/Documents now",
            ),
            (r"C:\Users\carol\AppData", r"C:\Users\<user>\AppData"),
            (r"d:\users\dave\x", r"d:\users\<user>\x"),
            ("C:/Users/erin/x", "C:/Users/<user>/x"),
            ("/home/frank", "/home/<user>"),
            (
                "a /home/g/x and /home/h/y",
                "a /home/<user>/x and /home/<user>/y",
            ),
            ("/home/<user>/x", "/home/<user>/x"),
            ("no paths here", "no paths here"),
            ("/home/", "/home/"),
        ];
        for (input, want) in cases {
            assert_eq!(s.sanitize(input), want, "{input}");
        }
    }

    /// The straightforward scan (every byte tested as a marker start) that
    /// [`replace_home_users`] must agree with.
    fn reference_replace(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let (mut out, mut copied, mut i) = (String::new(), 0, 0);
        while i < bytes.len() {
            let marker_len = marker_at(bytes, i);
            if marker_len == 0 {
                i += 1;
                continue;
            }
            let name_start = i + marker_len;
            let mut end = name_start;
            while end < bytes.len() && !is_name_end(bytes[end]) {
                end += 1;
            }
            if end > name_start && &s[name_start..end] != USER {
                out.push_str(&s[copied..name_start]);
                out.push_str(USER);
                copied = end;
            }
            i = end.max(i + 1);
        }
        (copied != 0).then(|| out + &s[copied..])
    }

    proptest::proptest! {
        #[test]
        fn the_jumping_scan_agrees_with_the_byte_by_byte_one(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "/home/", "/Users/", "C:", "c:", r"\", "/", ":", "users", "Users",
                    r"\Users\", "a", "bob", " ", "\"", "é", "<user>", "x:/users/", "/home",
                ]),
                0..24,
            )
        ) {
            let s: String = parts.concat();
            proptest::prop_assert_eq!(replace_home_users(&s), reference_replace(&s), "{:?}", s);
        }
    }

    #[test]
    fn long_values_keep_length_and_fingerprint() {
        let f = Fingerprinter::new(&[1; 32]);
        let fp = f.fingerprint(&"é".repeat(50)).to_string();
        let s = Sanitizer::new().max_len(5).fingerprinter(f);
        let input = "é".repeat(50);
        let out = s.sanitize(&input);
        assert_eq!(out, format!("éé…[truncated: 100 bytes, {fp}]"));
    }

    #[test]
    fn the_hook_runs_first() {
        let s = Sanitizer::new().hook(|t| t.contains('@').then(|| "<EMAIL_ADDRESS>".to_owned()));
        assert_eq!(s.sanitize("mail me: a@b.c"), "<EMAIL_ADDRESS>");
        assert_eq!(s.sanitize("plain"), "plain");
        let fields = serde_json::json!({"a": ["x@y.z", {"b": "/home/zed/f"}], "n": 3});
        let fields = fields.as_object().unwrap();
        let v = serde_json::to_value(SanitizedFields {
            fields,
            sanitizer: &s,
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": ["<EMAIL_ADDRESS>", {"b": "/home/<user>/f"}], "n": 3})
        );
    }

    #[test]
    fn fingerprint_test_vector() {
        // key = 00 01 .. 1f; computed independently with Python:
        // "fp1:" + hmac.new(bytes(range(32)), b"EAL1 fingerprint\0" + text, "sha256").digest()[:16].hex()
        let key: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        let fp = Fingerprinter::new(&key).fingerprint("what is my password?");
        assert_eq!(fp.to_string(), "fp1:dd37f4c5db68a0925af243ccbabb4613");
    }

    #[test]
    fn fingerprints_depend_on_the_key() {
        let a = Fingerprinter::new(&[1; 32]).fingerprint("hi");
        let b = Fingerprinter::new(&[2; 32]).fingerprint("hi");
        assert_ne!(a, b);
        assert_eq!(a.to_string().len(), 4 + 32);
    }
}
