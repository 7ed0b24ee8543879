//! The standards' own validators, run from the tests: PyPI and npm packages installed on first use under Cargo's
//! target directory (from `tests/standards/requirements.txt` and `package.json`), so that `cargo test` needs only
//! Python 3 with pip and Node.js with npm.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn standards() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standards")
}

/// Where the validators are installed, installing them the first time (or when the requirements change).
fn python_packages() -> &'static Path {
    static PACKAGES: OnceLock<PathBuf> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("standards-python");
        let requirements = standards().join("requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).expect("tests/standards/requirements.txt");
        let marker = target.join(".installed");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
            return target;
        }
        let _ = std::fs::remove_dir_all(&target);
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-script-location"])
            .arg("--target")
            .arg(&target)
            .arg("-r")
            .arg(&requirements)
            .output()
            .expect("python3 (with pip) runs the standards' validators");
        assert!(
            out.status.success(),
            "installing the validators failed: python3 -m pip install -r tests/standards/requirements.txt\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&marker, wanted).expect("marker");
        target
    })
}

/// Where the npm validators are installed, installing them the first time (or when `package.json` changes).
fn node_packages() -> &'static Path {
    static PACKAGES: OnceLock<PathBuf> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("standards-node");
        let wanted = std::fs::read_to_string(standards().join("package.json")).expect("tests/standards/package.json");
        let marker = target.join(".installed");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
            return target.join("node_modules");
        }
        let _ = std::fs::remove_dir_all(&target);
        std::fs::create_dir_all(&target).expect("a directory");
        std::fs::write(target.join("package.json"), &wanted).expect("package.json");
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&target)
            .output()
            .expect("npm runs the standards' validators");
        assert!(
            out.status.success(),
            "installing the validators failed: npm install (tests/standards/package.json)\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&marker, wanted).expect("marker");
        target.join("node_modules")
    })
}

/// Runs `tests/standards/<script>` with Node.js and returns what it printed, as JSON. Blocking: call it from
/// `spawn_blocking` while a test server answers it.
pub fn node(script: &str, args: &[&str]) -> Value {
    run(Command::new("node").env("NODE_PATH", node_packages()), script, args)
}

/// Runs `tests/standards/<script>` with `args` and returns what it printed, as JSON.
pub fn python(script: &str, args: &[&str]) -> Value {
    run(Command::new("python3").env("PYTHONPATH", python_packages()), script, args)
}

fn run(interpreter: &mut Command, script: &str, args: &[&str]) -> Value {
    let out = interpreter.arg(standards().join(script)).args(args).output().expect("the interpreter runs");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the validator prints JSON")
}

/// Writes `text` to a fresh file for a validator to read.
pub fn file(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("standards-files");
    std::fs::create_dir_all(&dir).expect("a directory");
    let path = dir.join(format!("{}-{name}", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).expect("written");
    path
}
