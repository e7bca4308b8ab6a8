//! `rampart playground`: serves the browser playground (a page and a
//! WebAssembly module that runs the compiler and the evaluator in the
//! browser, embedded by `rampart-playground`) from a tiny HTTP/1.1 server,
//! and opens it in a browser. `--export DIR` writes the same files out, to
//! publish as a static site.
//!
//! The server only hands out the embedded files: it never evaluates
//! anything, so it needs no more than `std::net` (one thread per
//! connection, `Connection: close`, GET and HEAD).

use crate::exit;
use rampart_playground::ASSETS;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Arguments of `rampart playground`.
#[derive(clap::Args, Debug)]
pub struct PlaygroundArguments {
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Do not open a browser.
    #[arg(long)]
    no_open: bool,
    /// Write the playground's files (a static site) to DIR instead of serving them.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
}

/// The longest request head read, so that a client cannot make a
/// connection's thread buffer without bound.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long a connection may stay silent before it is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `rampart playground`; returns the exit code.
pub fn run(arguments: PlaygroundArguments) -> u8 {
    if let Some(directory) = &arguments.export {
        return export(directory);
    }
    let listener = match TcpListener::bind(arguments.addr) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", arguments.addr);
            return exit::INCOMPLETE;
        }
    };
    let url = match listener.local_addr() {
        Ok(address) => url_of(address),
        Err(error) => {
            eprintln!("error: cannot read the listening address: {error}");
            return exit::INCOMPLETE;
        }
    };
    println!("Rampart playground at {url} (Ctrl-C to stop)");
    // Scripts wait for this line to know the server is up.
    let _ = std::io::stdout().flush();
    if !arguments.no_open {
        open_browser(&url);
    }
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || {
                    // A client that goes away mid-request is not worth a message.
                    let _ = serve(stream);
                });
            }
            Err(error) => eprintln!("warning: a connection failed: {error}"),
        }
    }
    exit::CLEAN
}

/// The URL to open for a listening address: an unspecified address
/// (`0.0.0.0`, `::`) is reached through the loopback one.
fn url_of(address: SocketAddr) -> String {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    format!("http://{address}/")
}

/// Writes every asset to `directory`.
fn export(directory: &Path) -> u8 {
    if let Err(error) = std::fs::create_dir_all(directory) {
        eprintln!("error: cannot create {}: {error}", directory.display());
        return exit::INCOMPLETE;
    }
    for asset in ASSETS {
        // Asset paths are plain file names (the build script lists one flat directory).
        let path = directory.join(asset.path);
        if let Err(error) = std::fs::write(&path, asset.bytes) {
            eprintln!("error: cannot write {}: {error}", path.display());
            return exit::INCOMPLETE;
        }
    }
    println!(
        "wrote {} files to {}: publish them with any static file server (serve .wasm as application/wasm)",
        ASSETS.len(),
        directory.display()
    );
    exit::CLEAN
}

/// Opens `url` in the desktop's browser without waiting for it; failing to
/// is only a note (a server, a container), since the URL was printed.
fn open_browser(url: &str) {
    let (program, arguments): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        // `start`'s first quoted argument is a window title.
        ("cmd", vec!["/C", "start", "", url])
    } else {
        ("xdg-open", vec![url])
    };
    let spawned = Command::new(program)
        .args(&arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        // Reaped on another thread: `xdg-open` can block while the browser runs.
        Ok(mut child) => {
            let url = url.to_owned();
            std::thread::spawn(move || {
                if child.wait().is_ok_and(|status| !status.success()) {
                    eprintln!("note: {program} could not open a browser; open {url} yourself");
                }
            });
        }
        Err(error) => {
            eprintln!("note: cannot run {program} to open a browser ({error}); open {url} yourself")
        }
    }
}

/// A response, before it is written.
#[derive(Debug, PartialEq, Eq)]
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// HEAD: the headers of the GET response, without its body.
    head_only: bool,
    /// For 405: the methods that are allowed.
    allow: bool,
}

/// The response to a request line (`GET /path HTTP/1.1`).
fn respond(request_line: &str) -> Response {
    let plain = |status: &'static str, body: &'static [u8]| Response {
        status,
        content_type: "text/plain; charset=utf-8",
        body,
        head_only: false,
        allow: false,
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return plain("400 Bad Request", b"bad request\n");
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return plain("400 Bad Request", b"bad request\n");
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            return Response {
                allow: true,
                ..plain("405 Method Not Allowed", b"only GET is served\n")
            };
        }
    };
    match rampart_playground::asset(target) {
        Some(asset) => Response {
            status: "200 OK",
            content_type: asset.content_type(),
            body: asset.bytes,
            head_only,
            allow: false,
        },
        None => Response {
            head_only,
            ..plain("404 Not Found", b"not found\n")
        },
    }
}

/// Reads one request from `stream` and answers it.
fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    let mut read = reader
        .by_ref()
        .take(MAX_HEAD_BYTES as u64)
        .read_line(&mut request_line)?;
    // The headers are not needed, but are read so that closing the socket
    // does not reset the connection before the client has sent them.
    let mut header = String::new();
    loop {
        header.clear();
        let length = reader
            .by_ref()
            .take(MAX_HEAD_BYTES.saturating_sub(read) as u64)
            .read_line(&mut header)?;
        read += length;
        if length == 0 || header.trim_end().is_empty() || read >= MAX_HEAD_BYTES {
            break;
        }
    }
    let response = respond(request_line.trim_end());
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'self'; \
         script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if response.allow {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    let mut writer = &stream;
    writer.write_all(head.as_bytes())?;
    if !response.head_only {
        writer.write_all(response.body)?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_served_with_their_content_type() {
        let index = respond("GET / HTTP/1.1");
        assert_eq!(
            (index.status, index.content_type),
            ("200 OK", "text/html; charset=utf-8")
        );
        let module = respond("GET /rampart_playground.wasm HTTP/1.1");
        assert_eq!(
            (module.status, module.content_type),
            ("200 OK", "application/wasm")
        );
        assert!(module.body.starts_with(b"\0asm"));
        assert_eq!(
            respond("GET /app.js?v=2 HTTP/1.1").content_type,
            "text/javascript; charset=utf-8"
        );
        assert!(respond("HEAD /style.css HTTP/1.1").head_only);
    }

    #[test]
    fn everything_else_is_refused() {
        assert_eq!(respond("GET /missing HTTP/1.1").status, "404 Not Found");
        assert_eq!(
            respond("GET /../Cargo.toml HTTP/1.1").status,
            "404 Not Found"
        );
        let post = respond("POST / HTTP/1.1");
        assert_eq!(post.status, "405 Method Not Allowed");
        assert!(post.allow);
        assert_eq!(respond("GET").status, "400 Bad Request");
        assert_eq!(respond("GET / HTTP/1.1 extra").status, "400 Bad Request");
        assert_eq!(respond("GET index.html HTTP/1.1").status, "400 Bad Request");
    }

    #[test]
    fn a_real_connection_gets_the_page() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            serve(stream).unwrap();
        });
        let mut client = TcpStream::connect(address).unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        server.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(answer.contains("<textarea id=\"policy\""));
        assert_eq!(url_of(address), format!("http://{address}/"));
        assert_eq!(
            url_of("0.0.0.0:80".parse().unwrap()),
            "http://127.0.0.1:80/"
        );
    }

    #[test]
    fn export_writes_every_asset() {
        let directory =
            std::env::temp_dir().join(format!("rampart-playground-export-{}", std::process::id()));
        assert_eq!(export(&directory), exit::CLEAN);
        for asset in ASSETS {
            assert_eq!(
                std::fs::read(directory.join(asset.path)).unwrap(),
                asset.bytes
            );
        }
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
