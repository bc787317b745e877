//! secure-fs benchmarks, each against a baseline in the same run:
//! - secure delete of 256 MiB, 3 passes, vs `shred -n 3 -u` (target <= 1.0);
//! - atomic write of 4 KiB vs a plain write + fsync of the same bytes, and
//!   the shredding replace (`write_atomic_shredding`, 3 passes over the
//!   replaced 4 KiB) vs `write_atomic`.
//!
//! Before the criterion groups, an interleaved cross-check of secure delete
//! against `shred` (alternating call by call, so both see the same load and
//! the same disk) prints the medians and the ratio to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![allow(
    clippy::print_stderr,
    reason = "the interleaved cross-check prints its medians"
)]

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use benches::interleaved_medians;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use secure_fs::{DeleteOptions, PrivateDir};

const DELETE_SIZE: usize = 256 << 20;
const DELETE_IDS: [&str; 2] = [
    "secure-fs/secure-delete/baseline-shred/256MiB-3-passes",
    "secure-fs/secure-delete/secure_delete/256MiB-3-passes",
];

fn secure_delete(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PrivateDir::create(tmp.path().join("d")).unwrap();
    let path = tmp.path().join("d").join("victim");
    let mut group = c.benchmark_group("secure-fs/secure-delete");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(DELETE_SIZE as u64 * 3));
    let size = "256MiB-3-passes";

    group.bench_function(BenchmarkId::new("baseline-shred", size), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                benches::write_pattern_file(&path, DELETE_SIZE).unwrap();
                let started = Instant::now();
                let status = Command::new("shred")
                    .args(["-n", "3", "-u"])
                    .arg(&path)
                    .status()
                    .unwrap();
                total += started.elapsed();
                assert!(status.success() && !path.exists());
            }
            total
        });
    });
    group.bench_function(BenchmarkId::new("secure_delete", size), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                benches::write_pattern_file(&path, DELETE_SIZE).unwrap();
                let started = Instant::now();
                let report = dir
                    .secure_delete("victim", &DeleteOptions::default())
                    .unwrap();
                total += started.elapsed();
                assert_eq!(report.bytes_per_pass, DELETE_SIZE as u64);
            }
            total
        });
    });
    group.finish();
}

fn atomic_write(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PrivateDir::create(tmp.path().join("d")).unwrap();
    let data: Vec<u8> = (0..4096u32)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    let plain = tmp.path().join("d").join("plain");
    let mut group = c.benchmark_group("secure-fs/atomic-write");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function(BenchmarkId::new("baseline-write-fsync", "4KiB"), |b| {
        b.iter(|| {
            let mut f = std::fs::File::create(&plain).unwrap();
            f.write_all(&data).unwrap();
            f.sync_all().unwrap();
        });
    });
    group.bench_function(BenchmarkId::new("write_atomic", "4KiB"), |b| {
        b.iter(|| dir.write_atomic("atomic", &data).unwrap());
    });
    let opts = DeleteOptions::default();
    group.bench_function(BenchmarkId::new("write_atomic_shredding", "4KiB"), |b| {
        b.iter(|| {
            let report = dir
                .write_atomic_shredding("shredded", &data, &opts)
                .unwrap();
            assert!(report.shredded() || report.old_version == secure_fs::OldVersion::Absent);
        });
    });
    group.finish();
}

/// Secure delete and `shred -n 3 -u` alternating call by call, each on a
/// freshly written 256 MiB file (the writes are timed as their own steps
/// and left out). Prints the medians and the ratio (target <= 1.0).
fn interleaved_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PrivateDir::create(tmp.path().join("d")).unwrap();
    let path = tmp.path().join("d").join("victim");
    let rounds = std::env::var("SECURE_FS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let medians = interleaved_medians(
        rounds,
        &mut [
            &mut || benches::write_pattern_file(&path, DELETE_SIZE).unwrap(),
            &mut || {
                let status = Command::new("shred")
                    .args(["-n", "3", "-u"])
                    .arg(&path)
                    .status()
                    .unwrap();
                assert!(status.success() && !path.exists());
            },
            &mut || benches::write_pattern_file(&path, DELETE_SIZE).unwrap(),
            &mut || {
                let report = dir
                    .secure_delete("victim", &DeleteOptions::default())
                    .unwrap();
                assert_eq!(report.bytes_per_pass, DELETE_SIZE as u64);
            },
        ],
    );
    let shred = medians[1].as_secs_f64();
    let ours = medians[3].as_secs_f64();
    benches::record_paired("secure-delete", ours / shred);
    eprintln!(
        "secure-fs interleaved secure delete, 256 MiB x 3 passes ({rounds} rounds): ours {ours:.3} s \
         vs shred -n 3 -u {shred:.3} s, time ratio {:.3} (target <= 1.0)",
        ours / shred
    );
}

criterion_group!(benches, atomic_write, secure_delete);

fn main() {
    // The interleaved cross-check goes with the secure-delete group.
    if benches::selected(&DELETE_IDS) {
        interleaved_delete();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
