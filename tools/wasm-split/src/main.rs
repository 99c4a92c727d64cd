//! `portcullis-wasm-split IN.wasm PKG_DIR MAIN_OUT.wasm OUTPUT_NAME`
//!
//! cargo-leptos's `--split` step (src/wasm_split_tools/mod.rs in cargo-leptos
//! 0.3.6), as a command: the chunks and the loader
//! `__wasm_split.______________________.js` go to PKG_DIR, the main module
//! (still to be run through wasm-bindgen with `--keep-lld-exports`) to
//! MAIN_OUT.wasm, and `__wasm_split_manifest.json` (which chunks each lazy
//! function needs; leptos' `HydrationScripts` reads it to preload the chunks
//! a server-rendered page used) to PKG_DIR. Prints the chunks it wrote.
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir, main_out, output_name] = &args[..] else {
        eprintln!("usage: portcullis-wasm-split IN.wasm PKG_DIR MAIN_OUT.wasm OUTPUT_NAME");
        std::process::exit(2);
    };
    let input_wasm = std::fs::read(input).unwrap_or_else(|e| fail(&format!("{input}: {e}")));
    let pkg_dir = Path::new(pkg_dir);
    let main_module = format!("./{output_name}.js");
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input_wasm);
        opts.output_dir = pkg_dir;
        opts.main_out_path = Path::new(main_out);
        opts.main_module = &main_module;
        opts.link_name = "./__wasm_split.______________________.js";
        opts
    })
    .unwrap_or_else(|e| fail(&format!("{e:?}")));
    let manifest = serde_json::to_string_pretty(&split.prefetch_map).expect("a map of strings");
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), manifest)
        .unwrap_or_else(|e| fail(&format!("__wasm_split_manifest.json: {e}")));
    for module in split.split_modules {
        println!("{}", module.display());
    }
}

fn fail(message: &str) -> ! {
    eprintln!("portcullis-wasm-split: {message}");
    std::process::exit(1)
}
