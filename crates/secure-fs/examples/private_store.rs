//! A tiny private key-value store on secure-fs: keyed file names, atomic
//! writes, an update that shreds the replaced version, a writer lock, a
//! permission audit, and secure deletion.
//!
//! Usage: `cargo run -p secure-fs --example private_store -- DIR`
#![allow(clippy::print_stdout)]

use secure_fs::{DeleteOptions, Overwrite, PrivateDir, PrivateNamer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: private_store DIR")?;
    let dir = PrivateDir::create(&path)?;
    let _lock = dir.lock()?;
    dir.remove_stale_temp_files()?;

    // In a real program this key comes from a keystore, derived for names.
    let namer = PrivateNamer::new(&[0x5a; 32]);
    for (id, value) in [
        ("2026-11-22 morning", "slept well"),
        ("2026-11-22 evening", "long walk"),
    ] {
        let name = namer.name(id.as_bytes());
        dir.write_atomic(&name, value.as_bytes())?;
        println!("{id:>20} -> {name}");
    }

    // Updating an entry: the old version is overwritten in place before
    // its blocks are released.
    let name = namer.name(b"2026-11-22 evening");
    let replaced =
        dir.write_atomic_shredding(&name, b"long walk by the river", &DeleteOptions::default())?;
    println!(
        "updated; old version {:?}, overwrite on {} is {}",
        replaced.old_version,
        replaced.filesystem,
        replaced.overwrite()
    );

    let audit = dir.audit()?;
    println!(
        "audit: {} entries, {} findings",
        audit.entries,
        audit.findings.len()
    );
    for finding in &audit.findings {
        println!("  {}: {}", finding.path.display(), finding.problem);
    }

    let name = namer.name(b"2026-11-22 morning");
    let report = dir.secure_delete(&name, &DeleteOptions::default())?;
    println!(
        "securely deleted {} bytes x {} passes on {}{}",
        report.bytes_per_pass,
        report.passes,
        report.filesystem,
        match report.overwrite() {
            Overwrite::Reliable => "",
            Overwrite::Unreliable => " (copy-on-write: the overwrite did not reach the old blocks)",
            _ => " (unknown file system: the overwrite may not reach the old blocks)",
        }
    );
    println!("left: {:?}", dir.entries()?);
    Ok(())
}
