//! Streaming: findings across chunk boundaries are neither lost nor doubled.

use std::io::{self, Read};

use pii_scan::{Error, Finding};

use crate::SCANNER;

/// Text of `len` bytes with personal data every ~`every` bytes and multi-byte
/// characters in between, so that chunk boundaries fall everywhere.
fn text(len: usize, every: usize) -> String {
    const PII: &[&str] = &[
        "jane.doe@example.com",
        "4111 1111 1111 1111",
        "(415) 555-0132",
        "GB82 WEST 1234 5698 7654 32",
        "https://example.org/some/long/path?with=query&and=more",
        "2001:db8::ff00:42:8329",
        "passport 912345678",
    ];
    let mut s = String::new();
    let mut i = 0usize;
    while s.len() < len {
        let filler = ["plain words here ", "café 東京 😀 ", "naïve ", "x "][i % 4];
        for _ in 0..(every / filler.len()).max(1) + i % 5 {
            s.push_str(filler);
        }
        s.push_str(PII[i % PII.len()]);
        s.push(' ');
        i += 1;
    }
    s
}

fn stream(text: &str, chunk: usize) -> Vec<(Finding, String)> {
    let mut out = Vec::new();
    let n = SCANNER
        .scan_reader(text.as_bytes(), chunk, |f, t| out.push((f, t.to_owned())))
        .unwrap();
    assert_eq!(n, text.len() as u64);
    out
}

#[test]
fn stream_equals_whole_scan() {
    let t = text(200_000, 300);
    let whole = SCANNER.scan(&t);
    assert!(whole.len() > 400, "the test text should hold many findings");
    for chunk in [16 * 1024, 16 * 1024 + 1, 20_011, 65_536, 1 << 20] {
        let got = stream(&t, chunk);
        let got_findings: Vec<Finding> = got.iter().map(|(f, _)| f.clone()).collect();
        assert_eq!(got_findings, whole, "chunk size {chunk}");
        for (f, s) in &got {
            assert_eq!(f.text(&t), Some(s.as_str()));
        }
    }
}

/// A reader that returns at most `n` bytes per read, to cut chunks and
/// characters at awkward places.
struct Trickle<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.n.min(buf.len()).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

#[test]
fn short_reads_split_characters_safely() {
    let t = text(60_000, 200);
    let whole = SCANNER.scan(&t);
    let mut got = Vec::new();
    SCANNER
        .scan_reader(
            Trickle {
                data: t.as_bytes(),
                n: 7,
            },
            16 * 1024,
            |f, _| got.push(f),
        )
        .unwrap();
    assert_eq!(got, whole);
}

#[test]
fn a_finding_straddling_every_boundary_position() {
    // Move one email across the first chunk boundary byte by byte.
    let chunk = 16 * 1024;
    let overlap_cut = chunk - 2 * pii_scan::MAX_FINDING_LEN;
    for shift in 0..40 {
        let mut t = "a ".repeat((overlap_cut - 20 + shift) / 2);
        t.push_str("jane.doe@example.com and 4111 1111 1111 1111 ");
        t.push_str(&"b ".repeat(chunk));
        let whole = SCANNER.scan(&t);
        assert_eq!(whole.len(), 2);
        let got: Vec<Finding> = stream(&t, chunk).into_iter().map(|(f, _)| f).collect();
        assert_eq!(got, whole, "shift {shift}");
    }
}

#[test]
fn invalid_utf8_is_an_error_with_its_offset() {
    let mut data = b"jane@example.com ".repeat(2000);
    let bad_at = data.len();
    data.extend_from_slice(b"\xff\xfe tail");
    let mut seen = 0;
    let err = SCANNER
        .scan_reader(&data[..], 16 * 1024, |_, _| seen += 1)
        .unwrap_err();
    match err {
        Error::InvalidUtf8 { offset } => assert_eq!(offset, bad_at as u64),
        other => panic!("unexpected {other}"),
    }
    assert!(seen > 0, "findings before the error are delivered");
    // Truncated multi-byte character at the very end.
    let err = SCANNER
        .scan_reader(&b"abc \xe6\x9d"[..], 16 * 1024, |_, _| {})
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUtf8 { offset: 4 }));
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("disk on fire"))
    }
}

#[test]
fn read_errors_are_reported() {
    let err = SCANNER
        .scan_reader(Failing, 1 << 16, |_, _| {})
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)));
    assert!(err.to_string().contains("disk on fire"));
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn empty_input() {
    assert_eq!(
        SCANNER
            .scan_reader(&b""[..], 1 << 16, |_, _| panic!("no findings"))
            .unwrap(),
        0
    );
    assert!(SCANNER.scan("").is_empty());
}
