//! Splits the browser bundle as `cargo leptos build --split` does (cargo-leptos 0.3.10,
//! `src/wasm_split_tools`), with the same options:
//!
//! ```text
//! wasm-split <input.wasm> <pkg dir> <main module out.wasm> <output name>
//! ```
//!
//! writes the pieces and the loader (`__wasm_split.______________________.js`, the name
//! Leptos' `HydrationScripts` asks for when files are not hashed) into the pkg dir, the
//! main module (for wasm-bindgen) to its own path, and `__wasm_split_manifest.json`
//! (which pieces to prefetch together) beside the pieces. Prints the pieces' paths, one
//! per line, for wasm-opt.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir, main_out, output_name] = args.as_slice() else {
        return Err(
            "usage: wasm-split <input.wasm> <pkg dir> <main module out.wasm> <output name>".into(),
        );
    };
    let input_wasm = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let main_module = format!("./{output_name}.js");
    let pkg_dir = Path::new(pkg_dir);
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&input_wasm);
        options.output_dir = pkg_dir;
        options.main_out_path = Path::new(main_out);
        options.main_module = &main_module;
        options.link_name = "./__wasm_split.______________________.js";
        options
    })
    .map_err(|e| format!("splitting {input}: {e}"))?;
    std::fs::write(
        pkg_dir.join("__wasm_split_manifest.json"),
        serde_json::to_string_pretty(&split.prefetch_map)?,
    )?;
    for piece in split.split_modules {
        println!("{}", piece.display());
    }
    Ok(())
}
