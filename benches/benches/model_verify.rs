//! model-verify: verifying a synthetic 2 GiB model from the page cache.
//!
//! Groups (each pairs ours with its baseline on the same files, same run):
//! - `model_verify_multi_file`: 4 safetensors files of 512 MiB, verified
//!   with a `files` manifest (files hashed in parallel, one per core) vs
//!   `openssl dgst -sha256` over the same 4 files.
//! - `model_verify_single_file`: one 2 GiB safetensors file, verified with a
//!   sharded manifest (256 MiB shards hashed in parallel) vs
//!   `openssl dgst -sha256` over that file.
//!
//! Each iteration takes about a second, so the groups use criterion's flat
//! sampling with the minimum of 10 samples. Criterion measures all samples
//! of one function before the other, so background load that changes
//! between the two skews the ratio; each group is therefore followed by a
//! paired measurement (ours and openssl alternated 5 times, median of the
//! per-pair ratios), printed on stdout. The files live in a temporary
//! directory under /tmp that is deleted when the bench ends. Set
//! `MODEL_VERIFY_BENCH_MIB` to change the model size (default 2048).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout)] // reason: the paired ratio is reported on stdout, next to criterion's output

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use model_verify::{HashMethod, Manifest, ManifestBuilder, Verifier};

const MIB: u64 = 1 << 20;

fn model_mib() -> u64 {
    std::env::var("MODEL_VERIFY_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048)
}

/// Writes a safetensors file of exactly `total` bytes holding one U8 tensor
/// (named after `seed`, so that each file of a model has its own tensor name)
/// filled with pseudo-random bytes (xorshift; content does not change
/// SHA-256's speed, but zero pages could be special-cased by the kernel).
fn write_safetensors(path: &Path, total: u64, seed: u64) {
    let mut header = String::new();
    let mut data_len = total;
    for _ in 0..3 {
        // The header length depends on the data length's digits; iterate.
        header = format!(
            r#"{{"w{seed:x}":{{"dtype":"U8","shape":[{data_len}],"data_offsets":[0,{data_len}]}}}}"#
        );
        let pad = (8 - header.len() % 8) % 8;
        header.push_str(&" ".repeat(pad));
        data_len = total - 8 - header.len() as u64;
    }
    let mut f = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(path).unwrap());
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    let mut state = seed | 1;
    let mut buf = vec![0u8; 8 << 20];
    let mut left = data_len;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

fn openssl(files: &[PathBuf]) {
    let out = Command::new("openssl")
        .arg("dgst")
        .arg("-sha256")
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl failed");
    assert_eq!(
        out.stdout.iter().filter(|&&b| b == b'\n').count(),
        files.len()
    );
}

fn bench_group(
    c: &mut Criterion,
    group: &str,
    dir: &Path,
    manifest: &Manifest,
    files: &[PathBuf],
    total: u64,
) {
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(total));
    let param = format!("{}MiB", total / MIB);
    g.bench_with_input(BenchmarkId::new("model-verify", &param), &(), |b, ()| {
        b.iter(|| Verifier::new(manifest).verify(dir).unwrap());
    });
    g.bench_with_input(
        BenchmarkId::new("baseline-openssl-dgst-sha256", &param),
        &(),
        |b, ()| {
            b.iter(|| openssl(files));
        },
    );
    g.finish();
}

/// Ours and the baseline alternated `rounds` times, so that both see the
/// same background load (this machine is shared with compilers); prints the
/// median and range of the per-pair ratio baseline time / our time.
fn paired(label: &str, dir: &Path, manifest: &Manifest, files: &[PathBuf], rounds: usize) {
    let mut ratios = Vec::with_capacity(rounds);
    let mut ours = Vec::with_capacity(rounds);
    let mut base = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        Verifier::new(manifest).verify(dir).unwrap();
        let a = t.elapsed().as_secs_f64();
        let t = Instant::now();
        openssl(files);
        let b = t.elapsed().as_secs_f64();
        ratios.push(b / a);
        ours.push(a);
        base.push(b);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratio = median(&mut ratios);
    if label == "model_verify_multi_file" {
        benches::record_paired("model-verify-multi-file", ratio);
    }
    let (lo, hi) = (
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    println!(
        "{label}: paired speed-up vs openssl (median of {rounds}) {ratio:.2}x, range {lo:.2}..{hi:.2}; medians: ours {:.3} s, openssl {:.3} s",
        median(&mut ours),
        median(&mut base)
    );
}

/// The ids of `group`'s two benchmarks, for [`benches::selected`].
fn ids(group: &str, total: u64) -> [String; 2] {
    let param = format!("{}MiB", total / MIB);
    [
        format!("{group}/model-verify/{param}"),
        format!("{group}/baseline-openssl-dgst-sha256/{param}"),
    ]
}

fn selected(group: &str, total: u64) -> bool {
    let ids = ids(group, total);
    benches::selected(&[&ids[0], &ids[1]])
}

fn benches(c: &mut Criterion) {
    let total = model_mib() * MIB;
    // The files (2 GiB per group by default) are written only for the
    // groups that the filter selects.
    let multi_selected = selected("model_verify_multi_file", total + 22);
    let single_selected = selected("model_verify_single_file", total);
    if !multi_selected && !single_selected {
        return;
    }
    let root = tempfile::Builder::new()
        .prefix("model-verify-bench-")
        .tempdir_in("/tmp")
        .unwrap();
    if multi_selected {
        multi_file(c, root.path(), total);
    }
    if single_selected {
        single_file(c, root.path(), total);
    }
    // `root` is deleted on drop.
}

fn multi_file(c: &mut Criterion, root: &Path, total: u64) {
    // 4 files of a quarter each.
    let multi = root.join("multi");
    std::fs::create_dir(&multi).unwrap();
    std::fs::write(multi.join("config.json"), br#"{"model_type":"llama"}"#).unwrap();
    let mut files = Vec::new();
    for i in 0..4u64 {
        let p = multi.join(format!("model-{:05}-of-00004.safetensors", i + 1));
        write_safetensors(&p, total / 4, 0x9E37_79B9_7F4A_7C15 ^ i);
        files.push(p);
    }
    files.push(multi.join("config.json"));
    let m = ManifestBuilder::new("bench").build(&multi).unwrap();
    bench_group(c, "model_verify_multi_file", &multi, &m, &files, total + 22);
    paired("model_verify_multi_file", &multi, &m, &files, 5);
    std::fs::remove_dir_all(&multi).unwrap();
}

fn single_file(c: &mut Criterion, root: &Path, total: u64) {
    // One file, sharded manifest.
    let single = root.join("single");
    std::fs::create_dir(&single).unwrap();
    let p = single.join("model.safetensors");
    write_safetensors(&p, total, 42);
    let m = ManifestBuilder::new("bench")
        .method(HashMethod::Shards {
            shard_size: 256 * MIB,
        })
        .build(&single)
        .unwrap();
    bench_group(
        c,
        "model_verify_single_file",
        &single,
        &m,
        std::slice::from_ref(&p),
        total,
    );
    paired("model_verify_single_file", &single, &m, &[p], 5);
    std::fs::remove_dir_all(&single).unwrap();
}

criterion_group!(model_verify, benches);
criterion_main!(model_verify);
