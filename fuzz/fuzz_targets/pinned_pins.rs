//! pinned-downloader: pin and pin-set parsing (curl's sha256//BASE64 list, expires=), round trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pinned_downloader::fuzz_pins(data));
