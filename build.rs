//! Embeds every `filters/*.jq` module into the binary, so the tool plans
//! with no files beside it; `BASHBREW_META_SCRIPTS` can still override them.
//! And lays out doi-jq's functions in the order runs need them.
use std::{env, fs, path::Path};

fn main() {
    order_doi_jq_symbols();
    let dir = Path::new("filters");
    println!("cargo:rerun-if-changed=filters");
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .filter_map(|entry| entry.file_name().into_string().ok())
                .filter(|name| name.ends_with(".jq"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from(
        "/// Our jq modules, by name without `.jq`.\npub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        println!("cargo:rerun-if-changed=filters/{name}");
        let absolute = fs::canonicalize(dir.join(name)).expect("filters/ entry readable");
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            name.trim_end_matches(".jq"),
            absolute
        ));
    }
    code.push_str("];\n");
    let out =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_filters.rs");
    fs::write(out, code).expect("OUT_DIR writable");
}

/// Passes `src/bin/shared/doi-jq.symbol-order` to the linker for release
/// builds of doi-jq: startup and everyday filters then run from a few
/// blocks of the binary instead of pages all over it, which is a quarter
/// of a small run's resident memory (the file's generator,
/// `examples/link_order.rs`, says how it is made and what it saves).
///
/// Only where the linker is known to be LLD, which has the option: rustc
/// links x86_64 Linux GNU programs with its own LLD from 1.90 on, unless
/// told to use another linker. GNU ld would refuse the option; a build
/// without it is the same program, laid out as the linker likes.
fn order_doi_jq_symbols() {
    const ORDER: &str = "src/bin/shared/doi-jq.symbol-order";
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let target = (
        var("CARGO_CFG_TARGET_ARCH"),
        var("CARGO_CFG_TARGET_OS"),
        var("CARGO_CFG_TARGET_ENV"),
    );
    let own_lld = target == ("x86_64".into(), "linux".into(), "gnu".into())
        && rustc_minor_version().is_some_and(|minor| minor >= 90)
        && env::var_os("RUSTC_LINKER").is_none()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if var("PROFILE") != "release" || !own_lld {
        return;
    }
    let Ok(order) = fs::canonicalize(ORDER) else {
        return;
    };
    let order = order.display();
    println!("cargo:rustc-link-arg-bin=doi-jq=-Wl,--symbol-ordering-file={order}");
    // Names the binary no longer has (see the generator) are skipped.
    println!("cargo:rustc-link-arg-bin=doi-jq=-Wl,--no-warn-symbol-ordering");
}

/// The `N` of the building rustc's `1.N.x`.
fn rustc_minor_version() -> Option<u32> {
    let rustc = env::var_os("RUSTC")?;
    let output = std::process::Command::new(rustc).arg("-vV").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let release = text
        .lines()
        .find_map(|line| line.strip_prefix("release: "))?;
    release.split('.').nth(1)?.parse().ok()
}
