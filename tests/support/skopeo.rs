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
    copy(image, format!("dir:{}", directory.display()), all, None);
}

/// `skopeo copy --all docker://IMAGE oci:DIRECTORY:copied`: the image as
/// an OCI layout written by an independent client. `creds` is
/// `user:password`.
pub fn copy_to_oci_layout(image: &str, directory: &Path, creds: Option<&str>) {
    copy(
        image,
        format!("oci:{}:copied", directory.display()),
        true,
        creds,
    );
}

fn copy(image: &str, destination: String, all: bool, creds: Option<&str>) {
    let mut command = Command::new("skopeo");
    command.arg("copy");
    if all {
        command.arg("--all");
    }
    command.arg("--src-tls-verify=false");
    if let Some(creds) = creds {
        command.arg("--src-creds").arg(creds);
    }
    command.arg(format!("docker://{image}")).arg(destination);
    run(&mut command, "copy", image);
}

fn run(command: &mut Command, what: &str, image: &str) -> Vec<u8> {
    super::tool_output(command, b"")
        .unwrap_or_else(|error| panic!("skopeo {what} docker://{image}: {}", error.trim()))
}
