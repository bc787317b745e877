//! Events (what callers append) and records (what readers get back).

use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::format::{self, PLAINTEXT_VERSION};
use crate::keys::SecretBuf;
use crate::privacy::Fingerprinter;

/// Longest event type, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// Event types starting with this prefix are written by the log itself
/// (`audit.recovered`, `audit.pruned`); callers cannot append them.
pub const RESERVED_PREFIX: &str = "audit.";

/// An event to append: a type, a UTC timestamp (now, unless set), and
/// structured fields.
///
/// ```
/// use encrypted_audit_log::Event;
/// let e = Event::new("entry.add").with("entry", "3f2a…").with("words", 120);
/// assert_eq!(e.event_type(), "entry.add");
/// assert_eq!(e.fields()["words"], 120);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    kind: String,
    time: Option<SystemTime>,
    fields: Map<String, Value>,
}

impl Event {
    /// An event of type `event_type` (letters, digits, `_ . : -`, at most
    /// [`MAX_EVENT_TYPE_LEN`] bytes; checked on append), timestamped when
    /// appended.
    pub fn new(event_type: impl Into<String>) -> Event {
        Event {
            kind: event_type.into(),
            time: None,
            fields: Map::new(),
        }
    }

    /// An event whose fields are the serialization of `fields`, which must
    /// serialize to a JSON object (a struct or a map).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `fields` does not serialize to an object.
    pub fn from_serialize(event_type: impl Into<String>, fields: &impl Serialize) -> Result<Event> {
        match serde_json::to_value(fields) {
            Ok(Value::Object(map)) => Ok(Event {
                kind: event_type.into(),
                time: None,
                fields: map,
            }),
            Ok(_) => Err(Error::InvalidInput(
                "event fields must serialize to a JSON object".into(),
            )),
            Err(e) => Err(Error::InvalidInput(format!(
                "event fields do not serialize: {e}"
            ))),
        }
    }

    /// Adds (or replaces) the field `name`.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Event {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Adds the field `name` holding the keyed fingerprint of `text`
    /// instead of the text itself (see [`Fingerprinter`]).
    #[must_use]
    pub fn with_fingerprint(
        self,
        name: impl Into<String>,
        fingerprinter: &Fingerprinter,
        text: &str,
    ) -> Event {
        let fp = fingerprinter.fingerprint(text).to_string();
        self.with(name, fp)
    }

    /// Sets the timestamp (default: the time of the append).
    #[must_use]
    pub fn at(mut self, time: SystemTime) -> Event {
        self.time = Some(time);
        self
    }

    /// The event type.
    pub fn event_type(&self) -> &str {
        &self.kind
    }

    /// The fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    pub(crate) fn time(&self) -> Option<SystemTime> {
        self.time
    }

    pub(crate) fn check_type(kind: &str) -> Result<()> {
        if kind.is_empty() || kind.len() > MAX_EVENT_TYPE_LEN {
            return Err(Error::InvalidInput(format!(
                "event type must be 1 to {MAX_EVENT_TYPE_LEN} bytes long"
            )));
        }
        if !kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
        {
            return Err(Error::InvalidInput(
                "event type may hold only letters, digits and `_ . : -`".into(),
            ));
        }
        if kind.starts_with(RESERVED_PREFIX) {
            return Err(Error::InvalidInput(format!(
                "event types starting with `{RESERVED_PREFIX}` are reserved for the log itself"
            )));
        }
        Ok(())
    }
}

/// Encodes an event's plaintext (version, time, type, fields as JSON) at
/// the end of `out`; `out` is a [`SecretBuf`], so growth leaves no copy.
pub(crate) fn encode_plaintext(
    kind: &str,
    time_ns: u64,
    fields: &impl Serialize,
    out: &mut SecretBuf,
) -> Result<()> {
    let start = out.len();
    out.push(PLAINTEXT_VERSION);
    out.extend_from_slice(&time_ns.to_le_bytes());
    let len =
        u16::try_from(kind.len()).map_err(|_| Error::InvalidInput("event type too long".into()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(kind.as_bytes());
    serde_json::to_writer(&mut *out, fields)
        .map_err(|e| Error::InvalidInput(format!("event fields do not serialize: {e}")))?;
    if out.len() - start > format::MAX_PLAINTEXT {
        return Err(Error::InvalidInput(format!(
            "event is {} bytes once encoded, more than the {} allowed",
            out.len() - start,
            format::MAX_PLAINTEXT
        )));
    }
    Ok(())
}

/// A record read back from the log: verified, decrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    seq: u64,
    kind: String,
    time: SystemTime,
    fields: Map<String, Value>,
}

impl Record {
    /// Decodes an event's plaintext. `None` if malformed (the caller turns
    /// that into an error: a record with a valid MAC and AEAD tag but a bad
    /// plaintext was written by a key holder).
    pub(crate) fn decode(seq: u64, pt: &[u8]) -> Option<Record> {
        if pt.len() < 11 || pt[0] != PLAINTEXT_VERSION {
            return None;
        }
        let time = format::from_nanos(format::le_u64(pt, 1));
        let len = usize::from(format::le_u16(pt, 9));
        let kind = std::str::from_utf8(pt.get(11..11 + len)?).ok()?.to_owned();
        let fields: Map<String, Value> = serde_json::from_slice(pt.get(11 + len..)?).ok()?;
        Some(Record {
            seq,
            kind,
            time,
            fields,
        })
    }

    pub(crate) fn system(seq: u64, kind: &str, time_ns: u64, fields: Map<String, Value>) -> Record {
        Record {
            seq,
            kind: kind.to_owned(),
            time: format::from_nanos(time_ns),
            fields,
        }
    }

    /// The record's sequence number (0 for the first record of a log).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The event type (`audit.recovered` and `audit.pruned` are written by
    /// the log itself).
    pub fn event_type(&self) -> &str {
        &self.kind
    }

    /// The timestamp (UTC).
    pub fn time(&self) -> SystemTime {
        self.time
    }

    /// The fields, as sanitized when written.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The fields deserialized into `T` (the inverse of
    /// [`Event::from_serialize`]).
    ///
    /// ```
    /// # use encrypted_audit_log::Event;
    /// #[derive(serde::Serialize)]
    /// struct Login<'a> { user: &'a str, ok: bool }
    /// let e = Event::from_serialize("login", &Login { user: "alice", ok: true })?;
    /// assert_eq!(e.fields()["user"], "alice");
    /// # Ok::<(), encrypted_audit_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the fields do not match `T`.
    pub fn deserialize_fields<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(Value::Object(self.fields.clone()))
            .map_err(|e| Error::InvalidInput(format!("record fields do not match the type: {e}")))
    }

    /// The record as one JSON object: `{"seq", "event", "time", "fields"}`,
    /// the time in RFC 3339 (UTC).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "seq": self.seq,
            "event": self.kind,
            "time": rfc3339(self.time),
            "fields": self.fields,
        })
    }
}

/// Formats a time as RFC 3339 in UTC (`2026-11-22T17:21:07.5Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, dd) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    let nanos = d.subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2000-02-29 (leap day) 12:34:56.5
        let t = UNIX_EPOCH + Duration::new(951_827_696, 500_000_000);
        assert_eq!(rfc3339(t), "2000-02-29T12:34:56.5Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_367_267);
        assert_eq!(rfc3339(t), "2026-11-22T17:07:47Z");
    }

    #[test]
    fn event_types_are_checked() {
        assert!(Event::check_type("entry.add").is_ok());
        assert!(Event::check_type("").is_err());
        assert!(Event::check_type("has space").is_err());
        assert!(Event::check_type("audit.pruned").is_err());
        assert!(Event::check_type(&"x".repeat(129)).is_err());
    }

    #[test]
    fn plaintext_round_trips() {
        let mut fields = Map::new();
        fields.insert("k".into(), Value::from("v"));
        let mut buf = SecretBuf::default();
        encode_plaintext("t", 42, &fields, &mut buf).unwrap();
        let out = buf.as_slice();
        let r = Record::decode(7, out).unwrap();
        assert_eq!((r.seq(), r.event_type(), r.fields()), (7, "t", &fields));
        assert_eq!(r.time(), UNIX_EPOCH + Duration::from_nanos(42));
        assert!(Record::decode(7, &out[..5]).is_none());
    }
}
