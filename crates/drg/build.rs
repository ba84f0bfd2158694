//! Embeds every data pack found under `packs/` so that a new version is added by adding a
//! folder, with no code change.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // The directory cargo runs this script for, read at run time: `env!` would bake in the
    // directory the script was *compiled* in, and a build script binary shared through a common
    // target directory (another checkout, an export) would then embed that tree's packs, or none.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("packs");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut entries: Vec<(String, std::path::PathBuf)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&root) {
        for e in dir.flatten() {
            let p = e.path();
            let manifest = p.join("manifest.txt");
            if manifest.is_file() {
                println!("cargo:rerun-if-changed={}", p.display());
                println!("cargo:rerun-if-changed={}", manifest.display());
                let name = e.file_name().to_string_lossy().into_owned();
                entries.push((name, p));
            }
        }
    }
    entries.sort();
    // A grouper without packs can group nothing: fail the build rather than ship it.
    assert!(
        !entries.is_empty(),
        "no data packs (folders with manifest.txt) under {}",
        root.display()
    );
    let mut out =
        String::from("/// Packs found under `packs/` at build time: (folder, manifest, tables).\n");
    out.push_str("pub(crate) static EMBEDDED: &[(&str, &[u8], &[u8])] = &[\n");
    for (name, p) in &entries {
        let tables = p.join("tables.txt.gz");
        println!("cargo:rerun-if-changed={}", tables.display());
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?}), include_bytes!({:?})),",
            p.join("manifest.txt").display().to_string(),
            tables.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}
