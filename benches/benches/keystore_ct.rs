//! dudect-style timing test of the keystore file's MAC check (item 8 of
//! the keystore issue): Welch's t-test between two classes of inputs that
//! differ only in how much of the MAC is right.
//!
//! - Left: the MAC is correct except for its last byte (a byte-by-byte
//!   comparison would run to the end).
//! - Right: the MAC is wrong from its first byte (a byte-by-byte
//!   comparison would stop at once).
//!
//! Both classes hash the same file body, so a constant-time check gives
//! |t| well under 5 (dudect's threshold for "probably not constant time"
//! is about 4.5-5 with enough samples). Run:
//! `cargo bench -p benches --bench keystore_ct` (add `-- --continuous
//! keystore_mac_check` to keep sampling; each run times 1,000,000 checks).
#![allow(missing_docs, clippy::unwrap_used)]

use dudect_bencher::ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::{Rng, RngExt};
use dudect_bencher::{BenchRng, Class, CtRunner};
use keystore_rotation::test_util::{file_mac, verify_file_mac};

/// A keystore-file-sized body (the fixed part and two key versions).
const BODY: usize = 131 + 82 * 2;
/// Distinct files per class; samples pick among them at random.
const FILES: usize = 1024;
/// Bytes between two files in the arena.
const STRIDE: usize = 512;
/// Samples per run.
const SAMPLES: usize = 1_000_000;

fn mac_check(runner: &mut CtRunner, rng: &mut BenchRng) {
    run(runner, rng, false);
}

/// Calibration: both classes built the same way (last MAC byte wrong), so
/// any |t| here is noise of the machine and the harness.
fn control_same_inputs(runner: &mut CtRunner, rng: &mut BenchRng) {
    run(runner, rng, true);
}

fn run(runner: &mut CtRunner, rng: &mut BenchRng, control: bool) {
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    // All files live in one arena at the same stride, left and right
    // interleaved, so that neither class gets a different alignment or
    // allocation pattern (which would show up as a timing difference of
    // the HMAC, not of the comparison).
    let len = BODY + 64;
    let mut arena = vec![0u8; STRIDE * 2 * FILES];
    let mut left_slot = Vec::with_capacity(FILES);
    let mut right_slot = Vec::with_capacity(FILES);
    for i in 0..FILES {
        let mut body = vec![0u8; BODY];
        rng.fill_bytes(&mut body);
        let mac = file_mac(&key, &body);
        // Which of the two slots holds which class is drawn at random.
        let left_first = rng.random::<bool>();
        let slots = if left_first {
            [2 * i, 2 * i + 1]
        } else {
            [2 * i + 1, 2 * i]
        };
        for (slot, class) in [(slots[0], Class::Left), (slots[1], Class::Right)] {
            let file = &mut arena[slot * STRIDE..slot * STRIDE + len];
            file[..BODY].copy_from_slice(&body);
            file[BODY..BODY + 32].copy_from_slice(&mac);
            match class {
                Class::Left => file[BODY + 31] ^= 1,
                Class::Right if control => file[BODY + 31] ^= 1,
                Class::Right => {
                    file[BODY] ^= 1;
                    for b in &mut file[BODY + 1..BODY + 32] {
                        *b = rng.random();
                    }
                }
            }
        }
        left_slot.push(slots[0]);
        right_slot.push(slots[1]);
    }
    let mut plan = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let i = rng.random_range(0..FILES);
        let (class, slot) = if rng.random::<bool>() {
            (Class::Left, left_slot[i])
        } else {
            (Class::Right, right_slot[i])
        };
        plan.push((class, &arena[slot * STRIDE..slot * STRIDE + len]));
    }
    for (class, file) in plan {
        runner.run_one(class, || verify_file_mac(&key, file));
    }
}

/// `cargo bench` passes `--bench`, which dudect-bencher's own `main` refuses;
/// this one ignores it and keeps `--filter NAME`, `--continuous NAME` and a
/// bare filter word.
fn main() {
    let mut opts = BenchOpts::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--filter" => opts.filter = args.next(),
            "--continuous" => {
                opts.continuous = true;
                opts.filter = args.next();
            }
            // A bare word filters, as with criterion (`cargo xtask bench FILTER`).
            word if !word.starts_with('-') => opts.filter = Some(word.to_owned()),
            _ => {}
        }
    }
    let benches = vec![
        BenchMetadata {
            name: BenchName("keystore_mac_check"),
            seed: None,
            benchfn: mac_check,
        },
        BenchMetadata {
            name: BenchName("keystore_mac_check_control"),
            seed: None,
            benchfn: control_same_inputs,
        },
    ];
    run_benches_console(opts, benches).unwrap();
}
