//! skopeo, the independent client that checks what we pushed: the one
//! place that knows its flags (plain HTTP to our loopback registries,
//! credentials). Each call panics with skopeo's stderr when it fails.

use std::path::Path;
use std::process::Command;

/// `skopeo inspect --raw docker://IMAGE`: the manifest bytes exactly as an
/// independent client reads them. `creds` is `user:password`.
pub fn inspect_raw(image: &str, creds: Option<&str>) -> Vec<u8> {
    let mut command = Command::new("skopeo");
    command.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some(creds) = creds {
        command.arg("--creds").arg(creds);
    }
    run(
        command.arg(format!("docker://{image}")),
        "inspect --raw",
        image,
    )
}

/// `skopeo copy [--all] docker://IMAGE dir:DIRECTORY`: every blob of the
/// image (of every platform with `all`) really is there.
pub fn copy_to_directory(image: &str, directory: &Path, all: bool) {
    let mut command = Command::new("skopeo");
    command.arg("copy");
    if all {
        command.arg("--all");
    }
    command
        .arg("--src-tls-verify=false")
        .arg(format!("docker://{image}"))
        .arg(format!("dir:{}", directory.display()));
    run(&mut command, "copy", image);
}

fn run(command: &mut Command, what: &str, image: &str) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run skopeo: {error}"));
    if !output.status.success() {
        panic!(
            "skopeo {what} docker://{image} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    output.stdout
}
