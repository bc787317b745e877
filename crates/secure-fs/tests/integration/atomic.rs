use std::io::{BufRead, Write};
use std::time::Duration;

use rand::RngExt;
use secure_fs::PrivateDir;

use crate::common::{self, mode};

/// The content of generation `n`: a header naming it, a body whose length
/// and bytes depend on `n` (so a mix of two generations cannot pass), and a
/// trailer.
fn generation(n: u64) -> Vec<u8> {
    let len = 64 * 1024 + usize::try_from(n % 7).unwrap() * 24 * 1024;
    let mut v = format!("gen {n}\n").into_bytes();
    v.extend((0..len).map(|i| u8::try_from((i as u64 * 31 + n * 17) % 251).unwrap()));
    v.extend_from_slice(format!("\nend {n}\n").as_bytes());
    v
}

fn parse_generation(bytes: &[u8]) -> Option<u64> {
    let line = bytes.split(|&b| b == b'\n').next()?;
    std::str::from_utf8(line)
        .ok()?
        .strip_prefix("gen ")?
        .parse()
        .ok()
}

#[test]
fn write_atomic_replaces_content_and_leaves_no_temporary_file() {
    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    dir.write_atomic("f", b"old").unwrap();
    dir.write_atomic("f", b"new content").unwrap();
    assert_eq!(std::fs::read(tmp.path().join("f")).unwrap(), b"new content");
    assert_eq!(mode(&tmp.path().join("f")), 0o600);
    let all: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(all, vec!["f"]);
}

#[test]
fn an_abandoned_atomic_file_leaves_the_target_untouched_and_cleans_up() {
    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    dir.write_atomic("f", b"old").unwrap();
    {
        let mut w = dir.atomic_file("f").unwrap();
        w.write_all(b"half of the new").unwrap();
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            2,
            "temp file exists while writing"
        );
    }
    assert_eq!(dir.read("f").unwrap(), b"old");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn stale_temporary_files_are_hidden_and_removable() {
    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    std::fs::write(
        tmp.path().join(".secure-fs-tmp.deadbeef"),
        b"left by a crash",
    )
    .unwrap();
    dir.write_atomic("kept", b"k").unwrap();
    assert_eq!(dir.entries().unwrap(), vec!["kept"]);
    assert_eq!(dir.remove_stale_temp_files().unwrap(), 1);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    assert_eq!(dir.remove_stale_temp_files().unwrap(), 0);
}

/// Item 2's kill test: a child rewrites a file in a loop, the parent kills
/// it with SIGKILL at random moments, 200 times; after every kill the file
/// holds one complete generation, never anything else, and never one older
/// than the last rewrite the child acknowledged. (SIGKILL never loses the
/// page cache: power loss is tested with the simulator in
/// `crates/powerloss`.)
#[test]
fn sigkill_during_rewrites_leaves_old_or_new_content() {
    if common::child_role().as_deref() == Some("rewriter") {
        let dir = PrivateDir::open(common::child_arg()).unwrap();
        let mut n = parse_generation(&dir.read("target").unwrap()).unwrap();
        let parent = rustix::process::getppid();
        println!("ready");
        std::io::stdout().flush().unwrap();
        // Rewrite until killed, acknowledging each write on stdout; stop if
        // the parent test is gone.
        while rustix::process::getppid() == parent {
            n += 1;
            dir.write_atomic("target", &generation(n)).unwrap();
            println!("wrote {n}");
        }
        return;
    }

    let tmp = common::dir();
    let dir = PrivateDir::open(tmp.path()).unwrap();
    dir.write_atomic("target", &generation(0)).unwrap();
    let mut rng = rand::rng();
    let mut last = 0;
    let mut advanced = 0;
    for kill in 0..200 {
        let mut guard = common::KillOnDrop(
            common::child(
                "atomic::sigkill_during_rewrites_leaves_old_or_new_content",
                "rewriter",
                tmp.path(),
            )
            .spawn()
            .unwrap(),
        );
        let child = &mut guard.0;
        // Wait until the child has acknowledged a random number (1 to 3) of
        // rewrites, then let it go on for a random moment, so that the kill
        // lands anywhere in a later rewrite. What is checked never depends
        // on how long anything took: the acknowledged rewrites must all be
        // there, whatever the load on the machine.
        let wanted = rng.random_range(1..=3u64);
        let mut acknowledged = 0;
        {
            let mut reader = std::io::BufReader::new(child.stdout.as_mut().unwrap());
            let mut line = String::new();
            while acknowledged < wanted {
                line.clear();
                assert!(
                    reader.read_line(&mut line).unwrap() > 0,
                    "kill {kill}: child exited"
                );
                if let Some(n) = line.trim_end().rsplit_once("wrote ") {
                    acknowledged = n.1.parse::<u64>().unwrap() - last;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..2_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let bytes = std::fs::read(tmp.path().join("target")).unwrap();
        let n =
            parse_generation(&bytes).unwrap_or_else(|| panic!("kill {kill}: unreadable header"));
        assert!(
            bytes == generation(n),
            "kill {kill}: file is not a complete generation {n}"
        );
        assert!(
            n >= last + acknowledged,
            "kill {kill}: generation {} was acknowledged, the file holds {n}",
            last + acknowledged
        );
        if n > last {
            advanced += 1;
        }
        last = n;
        assert_eq!(mode(&tmp.path().join("target")), 0o600);
    }
    // Every run got to write (it waited for acknowledgements).
    assert_eq!(advanced, 200);
    // Temporary files of killed writers are cleaned up on request.
    dir.remove_stale_temp_files().unwrap();
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

/// `write_new_atomic` creates a file whole or refuses: an existing file is
/// left exactly as it was, no temporary file is left behind, and of many
/// concurrent creators exactly one wins with its whole content.
#[test]
fn write_new_atomic_creates_whole_files_and_never_replaces() {
    let tmp = common::dir();
    let dir = PrivateDir::create(tmp.path().join("private")).unwrap();
    dir.write_new_atomic("key", b"first").unwrap();
    assert_eq!(dir.read("key").unwrap(), b"first");
    let err = dir.write_new_atomic("key", b"second").unwrap_err();
    assert_eq!(*err.kind(), secure_fs::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(dir.read("key").unwrap(), b"first");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["key"], "a temporary file was left behind");

    let winners: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u8)
            .map(|i| {
                let dir = &dir;
                s.spawn(move || {
                    dir.write_new_atomic("raced", &[i; 4096])
                        .is_ok()
                        .then_some(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(dir.read("raced").unwrap(), [winners[0]; 4096]);
}
