//! Every input rule of `deploy`, broken once, with the exact one-line error
//! (naming the object by its first ref, and the field), through the binary.
//! And: all errors are found before anything is pushed.

use crate::support;
use crate::support::bin;

use doi::spec::media_type::OCI_MANIFEST;
use support::{Registry, RegistryAuth};

const D1: &str = "sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1";
const D2: &str = "sha256:99b2daa0ab651a28400c9fbba7152fd281cc9a71e1b726bdf070ffa5d1387383";

/// `(input, the error line)`: one case per rule.
fn cases() -> Vec<(String, String)> {
    let image = |media_type: &str| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":25}},"layers":[]}}"#
        )
    };
    vec![
        (
            r#"{"refs":["localhost:5000/a:1"],"data":"YQ=="}"#.into(),
            r#"deploy object 1 (localhost:5000/a:1): type: missing ("manifest" or "blob")"#.into(),
        ),
        (
            r#"{"type":"index","refs":["localhost:5000/a:1"],"data":"YQ=="}"#.into(),
            r#"deploy object 1 (localhost:5000/a:1): type: must be "manifest" or "blob", found "index""#.into(),
        ),
        (
            r#"{"type":"blob","data":"YQ=="}"#.into(),
            "deploy object 1: refs: missing (an array of one or more references)".into(),
        ),
        (
            r#"{"type":"blob","refs":[],"data":"YQ=="}"#.into(),
            "deploy object 1: refs: is empty (at least one reference is needed)".into(),
        ),
        (
            r#"{"type":"blob","refs":{"a":1},"data":"YQ=="}"#.into(),
            r#"deploy object 1: refs: must be an array of references, found {"a":1}"#.into(),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a",7],"data":"YQ=="}"#.into(),
            "deploy object 1 (localhost:5000/a): refs[1]: must be a reference string, found 7".into(),
        ),
        (
            r#"{"type":"manifest","refs":["localhost:5000/Upper:1"],"data":"YQ=="}"#.into(),
            r#"deploy object 1 (localhost:5000/Upper:1): refs[0]: invalid reference "localhost:5000/Upper:1": repository name "Upper" must be lowercase"#.into(),
        ),
        (
            format!(r#"{{"type":"blob","refs":["localhost:5000/a@{D1}","localhost:5000/b@{D2}"],"data":"YQ=="}}"#),
            format!("deploy object 1 (localhost:5000/a@{D1}): refs[1]: digest {D2} disagrees with refs[0]'s {D1}"),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a:latest"],"data":"YQ=="}"#.into(),
            r#"deploy object 1 (localhost:5000/a:latest): refs[0]: "localhost:5000/a:latest": a blob cannot be pushed to a tag (blobs are addressed by digest only)"#.into(),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a"],"lookup":["x"]}"#.into(),
            r#"deploy object 1 (localhost:5000/a): lookup: must be an object of digest -> reference, found ["x"]"#.into(),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a"],"lookup":{"":5}}"#.into(),
            r#"deploy object 1 (localhost:5000/a): lookup[""]: must be a reference string, found 5"#.into(),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a"],"lookup":{"":"localhost:5000/-x"}}"#.into(),
            r#"deploy object 1 (localhost:5000/a): lookup[""]: invalid reference "localhost:5000/-x": invalid repository name component "-x" (lowercase letters and digits, separated by '.', '_', '__' or '-')"#.into(),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a"],"lookup":{"latest":"localhost:5000/b"}}"#.into(),
            r#"deploy object 1 (localhost:5000/a): lookup["latest"]: the key must be "" or a digest: invalid digest "latest": expected ALGORITHM:HEX, such as sha256:<64 hex digits>"#.into(),
        ),
        (
            format!(r#"{{"type":"blob","refs":["localhost:5000/a"],"lookup":{{"{D1}":"localhost:5000/b@{D2}"}}}}"#),
            format!(r#"deploy object 1 (localhost:5000/a): lookup["{D1}"]: "localhost:5000/b@{D2}" names digest {D2}, not its key"#),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a"],"data":"not base64!"}"#.into(),
            "deploy object 1 (localhost:5000/a): data: a string must be base64 of the bytes to push: Invalid symbol 32, offset 3.".into(),
        ),
        (
            r#"{"type":"manifest","refs":["localhost:5000/a:1"],"data":{"schemaVersion":2,"layers":[]}}"#.into(),
            "deploy object 1 (localhost:5000/a:1): data.mediaType: missing: a manifest pushed from data must name its mediaType".into(),
        ),
        (
            r#"{"type":"manifest","refs":["localhost:5000/a:1"],"data":{"mediaType":"text/plain"}}"#.into(),
            r#"deploy object 1 (localhost:5000/a:1): data.mediaType: "text/plain" is not a manifest media type (one of application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json)"#.into(),
        ),
        (
            r#"{"type":"manifest","refs":["localhost:5000/a:1"],"data":"YQ=="}"#.into(),
            "deploy object 1 (localhost:5000/a:1): data: a manifest must be a JSON object: expected value at line 1 column 1".into(),
        ),
        (
            format!(r#"{{"type":"manifest","refs":["localhost:5000/a:1"],"data":{{"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"x","digest":"sha256:nope","size":1}}}}}}"#),
            r#"deploy object 1 (localhost:5000/a:1): data.config: invalid digest "sha256:nope": the hex part must be lowercase hex digits (0-9, a-f)"#.into(),
        ),
        (
            format!(r#"{{"type":"manifest","refs":["localhost:5000/a:1@{D2}"],"data":{}}}"#, image(OCI_MANIFEST)),
            format!("deploy object 1 (localhost:5000/a:1@{D2}): data: its digest is sha256:"),
        ),
        (
            r#"{"type":"manifest","refs":["localhost:5000/a:1"]}"#.into(),
            "deploy object 1 (localhost:5000/a:1): lookup: no data and nothing to copy: without a digest in refs, lookup must have exactly one entry".into(),
        ),
        (
            format!(r#"{{"type":"manifest","refs":["localhost:5000/a:1@{D1}"],"lookup":{{"{D2}":"localhost:5000/b"}}}}"#),
            format!(r#"deploy object 1 (localhost:5000/a:1@{D1}): lookup["{D2}"]: the copy source localhost:5000/b@{D2} has digest {D2}, but refs say {D1}"#),
        ),
        (
            format!(r#"{{"type":"manifest","refs":["localhost:5000/a:1@{D1}"],"lookup":{{"{D2}":"localhost:5000/b","sha256:0000000000000000000000000000000000000000000000000000000000000000":"localhost:5000/c"}}}}"#),
            format!(r#"deploy object 1 (localhost:5000/a:1@{D1}): lookup: no data and nothing to copy: no entry for the refs' digest, no single entry, no "" fallback"#),
        ),
        (
            r#"{"type":"blob","refs":["localhost:5000/a"],"lookup":{"":"localhost:5000/b:tag"}}"#.into(),
            r#"deploy object 1 (localhost:5000/a): lookup[""]: blobs are copied by digest, but the source localhost:5000/b:tag has none (put the digest in refs or in the lookup reference)"#.into(),
        ),
        (
            "42".into(),
            "deploy object 1: (object): expected a JSON object, found a number".into(),
        ),
        (
            r#"{"type":"blob","#.into(),
            "deploy: error: stdin: JSON value 1 is not valid JSON".into(),
        ),
    ]
}

#[test]
fn every_input_rule_has_its_one_line_error() {
    for (input, expected) in cases() {
        let output = bin::deploy().run(&[], &input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{input}: should fail");
        assert!(
            stderr.lines().any(|line| line.contains(&expected)),
            "input: {input}\nexpected a line containing: {expected}\nstderr:\n{stderr}"
        );
        assert!(output.stdout.is_empty(), "{input}");
    }
}

#[test]
fn all_errors_are_reported_and_nothing_is_pushed() {
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    let host = registry.host();
    let input = format!(
        r#"{{"type":"blob","refs":["{host}/good"],"data":"YnVmZnkgdGhlIHZhbXBpcmUgc2xheWVyCg=="}}
           {{"type":"manifest","refs":["{host}/good:1"],"data":{{"schemaVersion":2}}}}
           [{{"type":"blob","refs":["{host}/good:tagged"],"data":"YQ=="}}]"#
    );
    let output = bin::deploy().run(&[], &input);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!(
            "deploy object 2 ({host}/good:1): data.mediaType: missing"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("deploy object 3 ({host}/good:tagged): refs[0]")),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 invalid deploy object(s); nothing was pushed"),
        "{stderr}"
    );
    assert_eq!(
        registry.fetch_blob("good", D1),
        None,
        "nothing may be pushed"
    );
}
