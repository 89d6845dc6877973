//! Generates the `i18n` module (typed keys, the `Locale` enum, the `t!`/`td!` macros)
//! from `locales/{en,vi,ja}.json`. A key missing from one language is reported here.

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};
use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=Cargo.toml");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?).join("i18n");
    // `interpolate_display`: messages with arguments can also be plain strings (titles,
    // aria-labels, error texts), not only views.
    let options = ParseOptions::default().interpolate_display(true);
    let config = Config::new("en")?
        .add_locale("vi")?
        .add_locale("ja")?
        .parse_options(options);
    let translations = TranslationsInfos::parse(config)?;
    translations.emit_diagnostics();
    translations.rerun_if_locales_changed();
    translations.generate_i18n_module(out)?;
    Ok(())
}
