//! The planner against the reference's own expected outputs, byte for byte,
//! through both ways a user reaches it: `doi-jq` running our modules with
//! the filters the conformance README names, and `deploy --plan`, whose
//! stream must be the expected array's elements each printed as `jq --tab`
//! prints them. A tag's digest is the sha256 of these bytes, so one byte of
//! difference would publish a different index.
//!
//! Also proves the module search: `BASHBREW_META_SCRIPTS` wins over the
//! embedded modules in both binaries, and `doi-jq -L DIR` finds a module of
//! the caller's own (which may itself include an embedded one).

use crate::plan_util;
use crate::support::bin;

use plan_util::{
    all_tags_array_filter, conformance, conformance_path, crate_root, one_arch_array_filter,
    success, ALL_TAGS_STREAM_FILTER,
};
use std::ffi::OsStr;
use std::path::Path;

/// `doi-jq --tab '.[]' FILE`: the expected array as the stream `deploy
/// --plan` must print (jq prints each element at depth zero).
fn expected_stream(name: &str) -> String {
    let path = conformance_path(name);
    let path = path.to_str().expect("the conformance path is UTF-8");
    success(
        "doi-jq .[]",
        &bin::doi_jq().run(&["--tab", ".[]", path], b""),
    )
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("the conformance files are UTF-8")
}

#[test]
fn deploy_all_through_doi_jq() {
    let (Some(_), Some(expected)) = (
        conformance("builds.json"),
        conformance("deploy-all.out.json"),
    ) else {
        return;
    };
    let builds = conformance_path("builds.json");
    let builds = builds.to_str().expect("UTF-8 path");
    let got = success(
        "doi-jq deploy_objects",
        &bin::doi_jq().run(&["--tab", all_tags_array_filter(), builds], b""),
    );
    eqnice!(text(expected), got, "deploy-all.out.json and doi-jq");
}

#[test]
fn deploy_amd64_through_doi_jq() {
    let (Some(_), Some(expected)) = (
        conformance("builds.json"),
        conformance("deploy-amd64.out.json"),
    ) else {
        return;
    };
    let builds = conformance_path("builds.json");
    let builds = builds.to_str().expect("UTF-8 path");
    let got = success(
        "doi-jq arch_tagged_manifests",
        &bin::doi_jq().run(
            &[
                "--tab",
                "--arg",
                "arch",
                "amd64",
                one_arch_array_filter(),
                builds,
            ],
            b"",
        ),
    );
    eqnice!(text(expected), got, "deploy-amd64.out.json and doi-jq");
}

#[test]
fn deploy_all_through_deploy_plan() {
    let (Some(builds), Some(_)) = (
        conformance("builds.json"),
        conformance("deploy-all.out.json"),
    ) else {
        return;
    };
    let expected = expected_stream("deploy-all.out.json");
    let got = success("deploy --plan", &bin::deploy().run(&["--plan"], &builds));
    eqnice!(
        expected,
        got,
        "deploy-all.out.json elements and deploy --plan"
    );
}

#[test]
fn deploy_amd64_through_deploy_plan() {
    let (Some(builds), Some(_)) = (
        conformance("builds.json"),
        conformance("deploy-amd64.out.json"),
    ) else {
        return;
    };
    let expected = expected_stream("deploy-amd64.out.json");
    let got = success(
        "deploy --plan --arch amd64",
        &bin::deploy().run(&["--plan", "--arch", "amd64"], &builds),
    );
    eqnice!(
        expected,
        got,
        "deploy-amd64.out.json elements and deploy --plan --arch amd64"
    );
}

/// The stream and the array agree with each other too: the same filter
/// with `[...]` and `[]` (guards the comparison above against an
/// `expected_stream` that would print nothing).
#[test]
fn deploy_plan_stream_is_the_array_elements() {
    let Some(builds) = conformance("builds.json") else {
        return;
    };
    let stream = success(
        "doi-jq stream",
        &bin::doi_jq().run(&["--tab", ALL_TAGS_STREAM_FILTER], &builds),
    );
    let planned = success("deploy --plan", &bin::deploy().run(&["--plan"], &builds));
    let objects = planned.matches("\n}\n").count();
    assert!(
        objects > 10,
        "the plan of builds.json has {objects} objects"
    );
    eqnice!(stream, planned, "doi-jq stream and deploy --plan");
}

#[test]
fn oci_sort_manifests_through_doi_jq() {
    let (Some(input), Some(expected)) = (
        conformance("oci-sort-manifests.in.json"),
        conformance("oci-sort-manifests.out.json"),
    ) else {
        return;
    };
    let filter = r#"include "oci"; map(normalize_descriptor) | sort_manifests"#;
    let got = success(
        "doi-jq sort_manifests",
        &bin::doi_jq().run(&["--tab", filter], &input),
    );
    eqnice!(
        text(expected),
        got,
        "oci-sort-manifests.out.json and doi-jq"
    );
}

/// The comparison itself: a missing final newline is a difference (a
/// digest changes with it), reported at its line.
#[test]
#[should_panic(expected = "differ first at line 3")]
fn eqnice_reports_a_missing_final_newline() {
    eqnice!("{\n\t\"a\": 1\n}\n", "{\n\t\"a\": 1\n}");
}

/// Deterministic pseudo-random numbers (64-bit LCG, Knuth's MMIX
/// constants): the shuffle must be the same on every run and machine.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The high bits of an LCG are the well-mixed ones.
        ((self.0 >> 33) % bound as u64) as usize
    }
}

/// The platform matrix the conformance README describes, as JSON text:
/// every os/architecture pair with each of its os.version values (or
/// none), each architecture with no variant and with each of its variants.
/// Input key order and the order of entries are scrambled on purpose: the
/// output order must come from the sort alone.
fn platform_matrix(seed: u64) -> String {
    let windows_versions = [
        "10.0.14393.6796",
        "10.0.16299.1087",
        "10.0.17134.1305",
        "10.0.17763.5576",
        "10.0.18362.1256",
        "10.0.18363.1556",
        "10.0.19041.1415",
        "10.0.19042.1889",
        "10.0.20348.2340",
    ];
    let freebsd_versions = ["12.1", "13.1"];
    let linux = [
        "386", "amd64", "arm", "arm64", "mips64le", "ppc64le", "riscv64", "s390x",
    ];
    let variants = |architecture: &str| -> &'static [&'static str] {
        match architecture {
            "amd64" => &["v1", "v2", "v3", "v4"],
            "arm64" => &["v8", "v9", "v8.0", "v9.0", "v8.1", "v9.5"],
            "arm" => &["v5", "v6", "v7", "v8"],
            "riscv64" => &["rva20u64", "rva22u64"],
            "ppc64le" => &["power8", "power9", "power10"],
            _ => &[],
        }
    };
    let mut pairs: Vec<(&str, &str, Vec<Option<&str>>)> = Vec::new();
    for architecture in linux {
        pairs.push(("linux", architecture, vec![None]));
    }
    for architecture in ["amd64", "arm64"] {
        pairs.push((
            "windows",
            architecture,
            windows_versions.iter().copied().map(Some).collect(),
        ));
        pairs.push((
            "freebsd",
            architecture,
            freebsd_versions.iter().copied().map(Some).collect(),
        ));
    }
    pairs.push(("unknown", "unknown", vec![None]));

    let mut random = Lcg(seed);
    let mut entries = Vec::new();
    for (os, architecture, versions) in &pairs {
        let mut variant_choices: Vec<Option<&str>> = vec![None];
        variant_choices.extend(variants(architecture).iter().copied().map(Some));
        for version in versions {
            for variant in &variant_choices {
                let mut fields = vec![
                    format!("\"os\": \"{os}\""),
                    format!("\"architecture\": \"{architecture}\""),
                ];
                if let Some(variant) = variant {
                    fields.push(format!("\"variant\": \"{variant}\""));
                }
                if let Some(version) = version {
                    fields.push(format!("\"os.version\": \"{version}\""));
                }
                // Dropped by normalize_platform; an input may carry them.
                if random.below(4) == 0 {
                    fields.push("\"features\": null".to_string());
                }
                for index in (1..fields.len()).rev() {
                    fields.swap(index, random.below(index + 1));
                }
                entries.push(format!("{{{}}}", fields.join(", ")));
            }
        }
    }
    for index in (1..entries.len()).rev() {
        entries.swap(index, random.below(index + 1));
    }
    format!("[\n{}\n]\n", entries.join(",\n"))
}

#[test]
fn oci_sort_platforms_through_doi_jq() {
    let Some(expected) = conformance("oci-sort-platforms.out.json") else {
        return;
    };
    let expected = text(expected);
    let filter =
        r#"include "oci"; map(normalize_platform) | unique | sort_by(sort_split_platform)"#;
    // Several shuffles: a sort that leaned on input order would pass one
    // by luck, not all.
    for seed in [1, 2, 0x5eed, 20_260_311] {
        let matrix = platform_matrix(seed);
        let got = success(
            "doi-jq sort_split_platform",
            &bin::doi_jq().run(&["--tab", filter], matrix.as_bytes()),
        );
        eqnice!(
            expected,
            got,
            format!("oci-sort-platforms.out.json and doi-jq (shuffle seed {seed})")
        );
    }
}

/// The matrix is really shuffled (otherwise the test above proves less).
#[test]
fn platform_matrix_is_shuffled_deterministically() {
    assert_eq!(platform_matrix(7), platform_matrix(7));
    assert_ne!(platform_matrix(7), platform_matrix(8));
    assert!(!platform_matrix(7).starts_with("[\n{\"os\": \"linux\", \"architecture\": \"386\"}"));
}

/// A builds input of our own, so the module-search tests below run even
/// without the conformance folder.
fn our_builds() -> Vec<u8> {
    let path = crate_root().join("testdata/builds/plan/attestations.json");
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A copy of every embedded module in a temporary directory, with
/// deploy.jq changed so that its objects say where they came from.
fn modified_modules() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temp dir");
    let filters = crate_root().join("filters");
    for entry in std::fs::read_dir(&filters).expect("filters/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension() == Some(OsStr::new("jq")) {
            let name = path.file_name().expect("a file name");
            std::fs::copy(&path, directory.path().join(name)).expect("copy a module");
        }
    }
    let deploy_module = directory.path().join("deploy.jq");
    let original = std::fs::read_to_string(&deploy_module).expect("deploy.jq");
    assert!(
        original.contains(r#"type: "manifest","#),
        "deploy.jq no longer builds its objects with `type: \"manifest\",`; update this test"
    );
    let modified = original.replace(r#"type: "manifest","#, r#"type: "from-env","#);
    std::fs::write(&deploy_module, modified).expect("write deploy.jq");
    directory
}

fn with_modules(directory: &Path) -> [(&'static str, &OsStr); 1] {
    [("BASHBREW_META_SCRIPTS", directory.as_os_str())]
}

#[test]
fn bashbrew_meta_scripts_wins_in_deploy_plan() {
    let builds = our_builds();
    let embedded = success("deploy --plan", &bin::deploy().run(&["--plan"], &builds));
    assert!(embedded.contains("\"type\": \"manifest\""), "{embedded}");
    let modules = modified_modules();
    let overridden = success(
        "deploy --plan with BASHBREW_META_SCRIPTS",
        &bin::deploy().run_with(&["--plan"], &builds, &with_modules(modules.path())),
    );
    eqnice!(
        embedded.replace("\"type\": \"manifest\"", "\"type\": \"from-env\""),
        overridden,
        "the plan with modified modules"
    );
}

#[test]
fn bashbrew_meta_scripts_wins_in_doi_jq() {
    let builds = our_builds();
    let modules = modified_modules();
    let embedded = success(
        "doi-jq",
        &bin::doi_jq().run(&["--tab", ALL_TAGS_STREAM_FILTER], &builds),
    );
    let overridden = success(
        "doi-jq with BASHBREW_META_SCRIPTS",
        &bin::doi_jq().run_with(
            &["--tab", ALL_TAGS_STREAM_FILTER],
            &builds,
            &with_modules(modules.path()),
        ),
    );
    assert!(embedded.contains("\"type\": \"manifest\""), "{embedded}");
    eqnice!(
        embedded.replace("\"type\": \"manifest\"", "\"type\": \"from-env\""),
        overridden,
        "doi-jq with modified modules"
    );
}

/// `BASHBREW_META_SCRIPTS` replaces the embedded modules (issue 3: "it
/// wins"): a directory without them fails with one line naming the missing
/// module, rather than planning with the embedded ones behind the user's
/// back.
#[test]
fn bashbrew_meta_scripts_without_modules_fails() {
    let empty = tempfile::tempdir().expect("temp dir");
    let output = bin::deploy().run_with(&["--plan"], our_builds(), &with_modules(empty.path()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "planned anyway: {stderr}");
    assert!(output.stdout.is_empty(), "printed a plan anyway");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("deploy"),
        "names the missing module: {stderr}"
    );
}

fn own_module_directory() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        directory.path().join("mine.jq"),
        "include \"oci\";\n\
         def my_platforms: map(normalize_platform) | unique | sort_by(sort_split_platform);\n\
         def twice: . * 2;\n",
    )
    .expect("write mine.jq");
    directory
}

#[test]
fn doi_jq_search_directory_finds_our_own_module() {
    let directory = own_module_directory();
    let search = directory.path().to_str().expect("UTF-8 temp path");
    let imported = success(
        "doi-jq -L import",
        &bin::doi_jq().run(&["-L", search, "import \"mine\" as m; m::twice"], b"21"),
    );
    eqnice!("42\n", imported, "import from -L");
    // mine.jq includes the embedded oci module: -L adds a directory, it
    // does not hide the embedded ones.
    let platforms = r#"[{"architecture": "arm64", "os": "linux"}, {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1"}, {"os": "linux", "architecture": "arm64", "variant": "v8"}]"#;
    let included = success(
        "doi-jq -L include",
        &bin::doi_jq().run(
            &["-c", "-L", search, "include \"mine\"; my_platforms"],
            platforms.as_bytes(),
        ),
    );
    eqnice!(
        "[{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"},{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.17763.1\"}]\n",
        included,
        "include from -L"
    );
    // Without -L the module is not found: jq's compile error, exit code 3.
    let missing = bin::doi_jq().run(&["import \"mine\" as m; m::twice"], b"21");
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    assert!(missing.stdout.is_empty());
}
