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

/// `tests/standards/<manifest>` installed into `<target tmp>/<folder>` by `install` (given the folder), once: a
/// marker holding the manifest says it is done, and a changed manifest installs afresh.
fn installed(folder: &str, manifest: &str, install: impl FnOnce(&Path, &Path) -> Command) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(folder);
    let manifest_path = standards().join(manifest);
    let wanted = std::fs::read_to_string(&manifest_path).expect("the validators' manifest in tests/standards");
    let marker = target.join(".installed");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return target;
    }
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(&target).expect("a directory");
    let out = install(&target, &manifest_path).output().expect("the package manager runs");
    assert!(
        out.status.success(),
        "installing the validators of tests/standards/{manifest} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&marker, wanted).expect("marker");
    target
}

/// The PyPI validators (`requirements.txt`), installed the first time.
fn python_packages() -> &'static Path {
    static PACKAGES: OnceLock<PathBuf> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        installed("standards-python", "requirements.txt", |target, requirements| {
            let mut pip = Command::new("python3");
            pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-script-location"])
                .arg("--target")
                .arg(target)
                .arg("-r")
                .arg(requirements);
            pip
        })
    })
}

/// The npm validators (`package.json`), installed the first time.
fn node_packages() -> &'static Path {
    static PACKAGES: OnceLock<PathBuf> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        installed("standards-node", "package.json", |target, manifest| {
            std::fs::copy(manifest, target.join("package.json")).expect("package.json");
            let mut npm = Command::new("npm");
            npm.args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"]).arg(target);
            npm
        })
        .join("node_modules")
    })
}

/// Runs `tests/standards/<script>` with Node.js and returns what it printed, as JSON. Blocking: call it from
/// `spawn_blocking` while a test server answers it.
pub fn node(script: &str, args: &[&str]) -> Value {
    run(Command::new("node").env("NODE_PATH", node_packages()), script, args)
}

/// Where the PyPI validators are installed, for a test that runs one itself (to see it refuse).
pub fn python_path() -> &'static Path {
    python_packages()
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
