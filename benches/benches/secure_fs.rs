//! secure-fs benchmarks, each against a baseline in the same run:
//! - secure delete of 256 MiB, 3 passes, vs `shred -n 3 -u` (target <= 1.0);
//! - atomic write of 4 KiB vs a plain write + fsync of the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use secure_fs::{DeleteOptions, PrivateDir};

const DELETE_SIZE: usize = 256 << 20;

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
    group.finish();
}

criterion_group!(benches, atomic_write, secure_delete);
criterion_main!(benches);
