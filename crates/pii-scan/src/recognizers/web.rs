//! E-mail addresses and URLs.

use super::common::{byte_at, word_char};

const TLDS: &[&str] = &[
    "com",
    "org",
    "net",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "name",
    "pro",
    "aero",
    "coop",
    "museum",
    "mobi",
    "asia",
    "tel",
    "travel",
    "jobs",
    "cat",
    "app",
    "dev",
    "io",
    "ai",
    "co",
    "xyz",
    "online",
    "site",
    "tech",
    "store",
    "shop",
    "blog",
    "cloud",
    "email",
    "mail",
    "live",
    "life",
    "world",
    "news",
    "media",
    "today",
    "company",
    "agency",
    "digital",
    "network",
    "solutions",
    "services",
    "systems",
    "group",
    "global",
    "center",
    "studio",
    "design",
    "art",
    "academy",
    "school",
    "university",
    "health",
    "care",
    "clinic",
    "bank",
    "finance",
    "money",
    "legal",
    "law",
    "page",
    "one",
    "top",
    "club",
    "space",
    "website",
    "fun",
    "icu",
    "vip",
    "work",
    "link",
    "click",
    "help",
    "support",
    "team",
    "zone",
    "social",
    "family",
    "love",
    "berlin",
    "london",
    "paris",
    "nyc",
    "tokyo",
    "amsterdam",
    "local",
    "test",
    "example",
    "invalid",
    "localhost",
    "onion",
    "arpa",
];

const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "pdf", "txt", "js",
    "ts", "css", "html", "htm", "json", "xml", "yml", "yaml", "toml", "md", "rs", "py", "go",
    "java", "rb", "zip", "gz", "tar", "mp3", "mp4", "wav", "mov", "avi", "psd", "heic",
];

pub(super) fn check_email(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let (local, domain) = h[s..e].rsplit_once('@')?;
    // "user=ann@example.com" in a log line: the key is not part of the
    // address (a VERP address such as "list+ann=example.org@lists.example"
    // keeps its `=`: its key part holds other punctuation).
    let key_value = local.rsplit_once('=').filter(|(key, rest)| {
        !rest.is_empty()
            && (1..=20).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
    });
    let (s, local) = match key_value {
        Some((_, rest)) => (e - domain.len() - 1 - rest.len(), rest),
        None => {
            // A match starting inside a longer local part (a window began
            // there) is the tail of an address, not an address.
            let before = h[..s].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)) {
                return None;
            }
            (s, local)
        }
    };
    let m = &h[s..e];
    // A local part over RFC 5321's 64 bytes is still an address a person
    // wrote (and must not be left in clear): found whole, scored lower.
    if m.len() > crate::scanner::MAX_FINDING_LEN
        || domain.len() > 253
        || domain.split('.').any(|l| l.len() > 63)
        || word_char(byte_at(h, e))
    {
        return None;
    }
    let tld = domain.rsplit('.').next()?;
    if FILE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(tld)) {
        return None;
    }
    let ascii_tld = tld.is_ascii();
    let known = !ascii_tld
        || tld.starts_with("xn--")
        || tld.len() == 2
        || TLDS.iter().any(|t| t.eq_ignore_ascii_case(tld));
    let score = match (known, local.len() > 64) {
        (true, false) => 1.0,
        (true, true) => 0.8,
        (false, _) => 0.6,
    };
    Some((s, e, score))
}

pub(super) fn check_url(h: &str, s: usize, e: usize, _b: f64) -> Option<(usize, usize, f64)> {
    let mut end = e;
    // Trailing punctuation belongs to the sentence, unless it closes a bracket
    // opened inside the URL. Brackets are counted once and the counts kept
    // up to date while trimming: linear in the match, however many
    // brackets trail it.
    let count = |b: u8| h.as_bytes()[s..e].iter().filter(|&&x| x == b).count();
    let open = [count(b'('), count(b'['), count(b'{')];
    let mut close = [0usize; 3];
    close[0] = count(b')');
    close[1] = count(b']');
    close[2] = count(b'}');
    loop {
        let &last = h.as_bytes()[s..end].last()?;
        let kind = match last {
            b')' => Some(0),
            b']' => Some(1),
            b'}' => Some(2),
            _ => None,
        };
        let trim = match (last, kind) {
            (b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'*', _) => true,
            (_, Some(k)) => open[k] < close[k],
            _ => false,
        };
        if !trim {
            break;
        }
        if let Some(k) = kind {
            close[k] -= 1;
        }
        end -= 1;
    }
    let m = &h[s..end];
    if m.len() > crate::scanner::MAX_FINDING_LEN {
        return None;
    }
    let after_scheme = m.split_once("://").map_or(m, |(_, r)| r);
    let host = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host);
    if !(host.contains('.') || host.eq_ignore_ascii_case("localhost"))
        || host.ends_with('.')
        || host.starts_with('.')
    {
        return None;
    }
    let score = if m.contains("://") { 0.9 } else { 0.85 };
    Some((s, end, score))
}
