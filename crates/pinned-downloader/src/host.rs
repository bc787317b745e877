//! Host patterns of the allow-list and of pin sets: exact names, or an
//! explicit `*.example.com` for one label below a name. No suffix matching.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// A host the downloader may talk to: an exact DNS name or IP address, or
/// an explicit wildcard `*.example.com` that matches exactly one label
/// below `example.com` (like a TLS wildcard certificate: `a.example.com`,
/// not `example.com`, not `a.b.example.com`).
///
/// Names are compared in lowercase ASCII without a trailing dot.
/// Internationalized names must be given in their `xn--` form (URLs are
/// converted to that form before they are checked).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPattern {
    /// Lowercase; for a wildcard, the part after `*.`.
    name: String,
    wildcard: bool,
}

impl HostPattern {
    /// Parses `example.com`, `*.example.com`, `127.0.0.1` or `::1`
    /// (`[::1]` is accepted too).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] for an empty name, a wildcard anywhere
    /// but as the whole first label, a wildcard over a single label (`*.com`)
    /// or an IP address, or characters outside letters, digits, `-` and `.`.
    pub fn parse(pattern: &str) -> Result<Self> {
        let trimmed = pattern.trim();
        let (wildcard, rest) = match trimmed.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let name = normalize_host(rest).ok_or_else(|| {
            Error::config(format!("host pattern {pattern:?} is not a valid host name"))
        })?;
        if wildcard && (name.parse::<IpAddr>().is_ok() || !name.contains('.')) {
            return Err(Error::config(format!(
                "wildcard host pattern {pattern:?} must cover at least two labels (\"*.example.com\")"
            )));
        }
        Ok(HostPattern { name, wildcard })
    }

    /// Whether `host` (already normalized by [`normalize_host`]) matches.
    pub(crate) fn matches(&self, host: &str) -> bool {
        if !self.wildcard {
            return self.name == host;
        }
        match host.split_once('.') {
            Some((label, rest)) => !label.is_empty() && rest == self.name,
            None => false,
        }
    }

    /// Whether this is a `*.` pattern.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            write!(f, "*.{}", self.name)
        } else {
            f.write_str(&self.name)
        }
    }
}

impl std::str::FromStr for HostPattern {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        HostPattern::parse(s)
    }
}

/// Lowercases a host name, strips one trailing dot and the brackets of an
/// IPv6 literal, and checks its characters. `None` if it is not a plain
/// ASCII host name or IP address.
pub(crate) fn normalize_host(host: &str) -> Option<String> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let lower = host.to_ascii_lowercase();
    let labels_ok = lower.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    });
    labels_ok.then_some(lower)
}

/// The first entry of `entries` whose pattern matches `host`, exact
/// patterns before wildcards.
pub(crate) fn lookup<'a, T>(entries: &'a [(HostPattern, T)], host: &str) -> Option<&'a T> {
    entries
        .iter()
        .find(|(p, _)| !p.wildcard && p.matches(host))
        .or_else(|| entries.iter().find(|(p, _)| p.wildcard && p.matches(host)))
        .map(|(_, v)| v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_match_only_themselves() {
        let p = HostPattern::parse("Example.COM.").unwrap();
        assert!(p.matches("example.com"));
        assert!(!p.matches("a.example.com"));
        assert!(!p.matches("badexample.com"));
        assert!(!p.matches("example.com.evil.net"));
    }

    #[test]
    fn wildcards_cover_exactly_one_label() {
        let p = HostPattern::parse("*.hf.co").unwrap();
        assert!(p.matches("cdn-lfs.hf.co"));
        assert!(!p.matches("hf.co"));
        assert!(!p.matches("a.b.hf.co"));
        assert!(!p.matches("evilhf.co"));
        assert_eq!(p.to_string(), "*.hf.co");
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "",
            "*.com",
            "a.*.com",
            "*example.com",
            "ex ample.com",
            "exämple.com",
            "*.1.2.3.4",
            "-a.com",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ip_literals_normalize() {
        let p = HostPattern::parse("[::1]").unwrap();
        assert!(p.matches("::1"));
        assert_eq!(normalize_host("[0:0::1]").as_deref(), Some("::1"));
    }
}
