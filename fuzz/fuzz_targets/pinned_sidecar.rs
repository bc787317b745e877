//! pinned-downloader: resume sidecar (FORMAT.md) parsing, serialize/parse round trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pinned_downloader::fuzz_sidecar(data));
