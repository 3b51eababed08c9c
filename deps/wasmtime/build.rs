//! Copies the C/C++ headers that `wasmtime-c-api-impl`'s build script generated
//! (exported to dependents as DEP_WASMTIME_C_API_INCLUDE) to a fixed place for CMake:
//! `$AETHER_WASMTIME_PREFIX/include` when set, else `<target dir>/wasmtime-include`.
use std::path::{Path, PathBuf};

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

fn main() {
    println!("cargo:rerun-if-env-changed=AETHER_WASMTIME_PREFIX");
    let include = std::env::var("DEP_WASMTIME_C_API_INCLUDE")
        .expect("wasmtime-c-api-impl did not export its include directory");
    let dest = match std::env::var_os("AETHER_WASMTIME_PREFIX") {
        Some(prefix) => PathBuf::from(prefix).join("include"),
        None => {
            // OUT_DIR = <target>/<profile>/build/<pkg>-<hash>/out
            let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
            out.ancestors().nth(4).unwrap().join("wasmtime-include")
        }
    };
    if dest.exists() {
        std::fs::remove_dir_all(&dest).expect("cannot clear the header directory");
    }
    copy_tree(Path::new(&include), &dest).expect("cannot copy Wasmtime headers");
}
