//! `model fetch` from a private mirror: a real HTTPS server on loopback
//! (Python's `http.server` behind TLS with a certificate made here), reached
//! through `--allow`, `--ca-file` and `--resolve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};

use crate::common::Journal;

const SERVER: &str = r#"
import http.server, os, ssl, sys
os.chdir(sys.argv[1])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

/// The server process, killed when the test ends.
struct Mirror {
    child: Child,
    port: u16,
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `root` over HTTPS as `mirror.test`; returns the server and the CA file.
fn serve(root: &Path, scratch: &Path) -> (Mirror, std::path::PathBuf) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "journal test mirror CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["mirror.test".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "mirror.test");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let (cert_pem, key_pem, ca_pem) = (
        scratch.join("cert.pem"),
        scratch.join("key.pem"),
        scratch.join("ca.pem"),
    );
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let mut child = Command::new("python3")
        .args(["-c", SERVER])
        .arg(root)
        .arg(&cert_pem)
        .arg(&key_pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the loopback HTTPS server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    (Mirror { child, port }, ca_pem)
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn model_fetch_from_a_mirror_verifies_the_digest_and_keeps_the_manifest_in_the_data_dir() {
    let j = Journal::init();
    let root = j.path("mirror-root");
    std::fs::create_dir(&root).unwrap();
    let config = br#"{"model_type": "llama", "hidden_size": 8}"#;
    std::fs::write(root.join("config.json"), config).unwrap();
    let scratch = j.path("pki");
    std::fs::create_dir(&scratch).unwrap();
    let (mirror, ca) = serve(&root, &scratch);
    let url = format!("https://mirror.test:{}/config.json", mirror.port);
    let resolve = format!("mirror.test:{}:127.0.0.1", mirror.port);
    let fetch = |digest: &str, out: &str| {
        j.run(&[
            "model",
            "fetch",
            "--name",
            "tiny",
            "--out",
            out,
            "--allow",
            "mirror.test",
            "--ca-file",
            ca.to_str().unwrap(),
            "--resolve",
            &resolve,
            "--url",
            &url,
            "--sha256",
            digest,
        ])
    };

    // A wrong digest: refused (exit 3), nothing kept.
    let bad_out = j.path("bad-model");
    let out = fetch(&"0".repeat(64), bad_out.to_str().unwrap());
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(!bad_out.join("config.json").exists());

    // The right digest: the file is in place, byte for byte.
    let model = j.path("model");
    let out = fetch(&hex(config), model.to_str().unwrap());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(std::fs::read(model.join("config.json")).unwrap(), config);

    // The journal verifies the directory against its own manifest copy...
    j.ok(&["model", "verify", model.to_str().unwrap()]);
    // ...which is not the one beside the model: a changed file is caught.
    std::fs::write(model.join("config.json"), b"{}").unwrap();
    j.code(&["model", "verify", model.to_str().unwrap()], 3);

    // Both attempts are in the audit log.
    let shown = j.run(&["audit", "show"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("model.fetch.refused"), "{shown}");
    assert!(shown.contains("model.fetch "), "{shown}");
}
