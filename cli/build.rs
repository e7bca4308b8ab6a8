//! Compiles the standard library when the binary is built, so that a run
//! loads its IR instead of parsing and checking every policy again: start-up
//! stays within milliseconds however large the library grows.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
        .map(|(name, text)| rampart_lang::Source {
            name,
            text: text.to_owned(),
        })
        .collect();
    let compilation = rampart_lang::compile(&sources);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("stdlib-ir.json");
    // A standard library with errors is not precompiled: the binary then
    // compiles it at run time and shows the diagnostics where they belong.
    let ir = if compilation.has_errors() {
        println!(
            "cargo:warning=the standard library has compile errors; it will be compiled at run time"
        );
        String::new()
    } else {
        serde_json::to_string(&compilation.set)?
    };
    std::fs::write(out, ir)?;
    Ok(())
}
