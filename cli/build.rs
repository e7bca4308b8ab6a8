//! Compiles the standard library when the binary is built, so that a run
//! loads its IR instead of parsing and checking every policy again: start-up
//! stays within milliseconds however large the library grows.
//!
//! The IR is written as Rust source (`stdlib-ir.rs`): each policy's IR is a
//! JSON string of its own, so that a run deserializes only the policies of
//! the sets it asked for (17 of 55 for `pss-restricted`: a third of the
//! loading time), and the functions, which policies name by index, whole.

use std::fmt::Write as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
        .map(|(name, text)| rampart_lang::Source {
            name,
            text: text.to_owned(),
        })
        .collect();
    let compilation = rampart_lang::compile(&sources);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("stdlib-ir.rs");
    let mut code = String::new();
    // A standard library with errors is not precompiled: the binary then
    // compiles it at run time and shows the diagnostics where they belong.
    let compiled = !compilation.has_errors();
    if !compiled {
        println!(
            "cargo:warning=the standard library has compile errors; it will be compiled at run time"
        );
    }
    let set = &compilation.set;
    writeln!(
        code,
        "/// Whether the standard library compiled when the binary was built."
    )?;
    writeln!(code, "const STDLIB_COMPILED: bool = {compiled};")?;
    writeln!(
        code,
        "/// The IR format version of the precompiled policies."
    )?;
    writeln!(code, "const STDLIB_IR_VERSION: u32 = {};", set.version)?;
    writeln!(code, "/// The functions, as a JSON array of IR functions.")?;
    let functions = if compiled {
        serde_json::to_string(&set.functions)?
    } else {
        "[]".to_owned()
    };
    writeln!(code, "const STDLIB_FUNCTIONS: &str = {functions:?};")?;
    writeln!(
        code,
        "/// Each policy's id and IR (as JSON), in compilation order."
    )?;
    writeln!(code, "const STDLIB_POLICIES: &[(&str, &str)] = &[")?;
    if compiled {
        for policy in &set.policies {
            let ir = serde_json::to_string(policy)?;
            writeln!(code, "    ({:?}, {ir:?}),", policy.id)?;
        }
    }
    writeln!(code, "];")?;
    std::fs::write(out, code)?;
    Ok(())
}
