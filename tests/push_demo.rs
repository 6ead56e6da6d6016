//! `examples/push-demo.sh`, the README's runnable push, run as a user would
//! (with our freshly built binaries): it must push, show an empty dry run,
//! look the tags up, and leave no registry or storage behind.

use crate::support;

use std::path::Path;
use std::process::Command;

#[test]
fn the_push_demo_runs_start_to_finish_and_cleans_up() {
    if !support::require_registry() || !support::require_tools(&["bash", "tar", "sha256sum"]) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binaries = Path::new(env!("CARGO_BIN_EXE_deploy"))
        .parent()
        .expect("the binaries' directory");
    let output = Command::new("bash")
        .arg(root.join("examples/push-demo.sh"))
        .env("DOI_BIN", binaries)
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for expected in [
        "deploy summary: 5 pushed, 0 already there, 0 failed",
        "(prints what would change: nothing)\n(empty)\n",
        "\"com.docker.official-images.bashbrew.arch\": \"amd64\"",
        "\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\"",
        "== done; stopping the registry",
    ] {
        assert!(stdout.contains(expected), "lacks {expected:?}:\n{stdout}");
    }
    let storage = stdout
        .lines()
        .find_map(|line| {
            line.split_once("storage in ")
                .map(|(_, path)| path.to_string())
        })
        .expect("the demo names its storage");
    let work = Path::new(&storage).parent().expect("the demo's directory");
    assert!(!work.exists(), "{} is left behind", work.display());
}
