//! Rampart's browser playground, embedded: the page (`playground/web`) and
//! the WebAssembly module that runs the compiler and the evaluator in the
//! browser (`playground/wasm`, compiled by this crate's build script).
//!
//! `rampart playground` serves these files; `rampart playground --export
//! DIR` writes them out, to publish as a static site.

/// One file of the playground.
#[derive(Clone, Copy, Debug)]
pub struct Asset {
    /// Its path from the site's root, without a leading slash.
    pub path: &'static str,
    /// Its content.
    pub bytes: &'static [u8],
}

impl Asset {
    /// The `Content-Type` to serve it with, by extension (`application/wasm`
    /// matters: `WebAssembly.instantiateStreaming` refuses anything else).
    pub fn content_type(&self) -> &'static str {
        content_type(self.path)
    }
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The page a request for `/` gets.
pub const INDEX: &str = "index.html";

/// The asset at `path` (a URL path: a leading slash, a query string and a
/// fragment are ignored; `/` is the index page).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { INDEX } else { path };
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The `Content-Type` of a file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_the_module_are_embedded() {
        let index = asset("/").unwrap();
        assert_eq!(index.path, INDEX);
        assert_eq!(index.content_type(), "text/html; charset=utf-8");
        assert!(std::str::from_utf8(index.bytes).unwrap().contains("app.js"));
        let module = asset("/rampart_playground.wasm?v=1").unwrap();
        assert_eq!(module.content_type(), "application/wasm");
        assert_eq!(module.bytes.get(..4), Some(&b"\0asm"[..]));
        assert_eq!(
            asset("/app.js").unwrap().content_type(),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            asset("/style.css").unwrap().content_type(),
            "text/css; charset=utf-8"
        );
        assert!(asset("/nope.html").is_none());
        assert!(asset("/../Cargo.toml").is_none());
    }
}
