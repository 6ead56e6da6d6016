//! Embeds every `filters/*.jq` module into the binary, so the tool plans
//! with no files beside it; `BASHBREW_META_SCRIPTS` can still override them.
use std::{env, fs, path::Path};

fn main() {
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
