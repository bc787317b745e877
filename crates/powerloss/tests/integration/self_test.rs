//! The simulator catches writers that skip a sync, and passes one that
//! does everything right.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use powerloss::{Report, explore};

use crate::common;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// temp file, write, fsync, rename, fsync dir.
    Correct,
    /// As `Correct` without the file's fsync.
    NoFileSync,
    /// As `Correct` without the directory's fsync.
    NoDirSync,
}

fn version(i: usize) -> Vec<u8> {
    // Several sectors, so that torn writes show.
    format!("version {i:04}\n").repeat(200).into_bytes()
}

fn replace(dir: &Path, name: &str, data: &[u8], how: Writer) {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).unwrap();
    f.write_all(data).unwrap();
    if how != Writer::NoFileSync {
        f.sync_all().unwrap();
    }
    drop(f);
    std::fs::rename(&tmp, dir.join(name)).unwrap();
    if how != Writer::NoDirSync {
        File::open(dir).unwrap().sync_all().unwrap();
    }
}

/// Runs `n` acknowledged replacements with `how`, then checks every cut:
/// the file holds a complete version, and at least the last acknowledged.
fn run(test: &str, how: Writer, n: usize) -> Option<Report> {
    let rec = common::recorder(test)?;
    let dir = rec.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    File::open(rec.path()).unwrap().sync_all().unwrap();
    rec.mark("setup");
    for i in 0..n {
        replace(&dir, "f", &version(i), how);
        rec.mark(format!("v{i}"));
    }
    let trace = rec.finish().unwrap();
    let start = trace.position_after_mark("setup").unwrap();
    let report = explore(
        &trace,
        &common::explore_options(test).start(start),
        |case| {
            let acked = case.marks.len() - 1; // minus "setup"
            let content = std::fs::read(case.root.join("d/f")).ok();
            let ok = match &content {
                None => acked == 0,
                Some(c) => {
                    (acked > 0 && *c == version(acked - 1)) || (acked < n && *c == version(acked))
                }
            };
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{acked} versions acknowledged, file holds {}",
                    content.map_or_else(
                        || "nothing".to_owned(),
                        |c| {
                            format!(
                                "{} bytes starting {:?}",
                                c.len(),
                                String::from_utf8_lossy(&c[..c.len().min(12)])
                            )
                        }
                    )
                ))
            }
        },
    )
    .unwrap();
    Some(report)
}

#[test]
fn a_correct_writer_passes() {
    let Some(report) = run("a_correct_writer_passes", Writer::Correct, 40) else {
        return;
    };
    common::assert_clean("a_correct_writer_passes", &report);
    assert!(
        report.lossy > 0,
        "no state lost anything: the model is not cutting"
    );
}

#[test]
fn a_writer_without_file_fsync_fails() {
    let Some(report) = run("a_writer_without_file_fsync_fails", Writer::NoFileSync, 40) else {
        return;
    };
    assert!(
        !report.failures.is_empty(),
        "missing fsync not caught: {report}"
    );
}

#[test]
fn a_writer_without_dir_fsync_fails() {
    let Some(report) = run("a_writer_without_dir_fsync_fails", Writer::NoDirSync, 40) else {
        return;
    };
    assert!(
        !report.failures.is_empty(),
        "missing directory fsync not caught: {report}"
    );
}

#[test]
fn finishing_with_a_file_still_open_fails_and_leaves_no_mount() {
    let Some(rec) = common::recorder("finishing_with_a_file_still_open_fails_and_leaves_no_mount")
    else {
        return;
    };
    let mnt = rec.path().to_path_buf();
    let open = File::create(mnt.join("still-open")).unwrap();
    let err = rec.finish().unwrap_err();
    assert!(err.to_string().contains("still open"), "{err}");
    drop(open);
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains(mnt.to_str().unwrap()),
        "{} is still mounted",
        mnt.display()
    );
}
