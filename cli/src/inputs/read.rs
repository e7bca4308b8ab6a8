//! Opening and reading input files: regular files only, each bounded in
//! size, so that a path to a FIFO or a device can neither block a run nor
//! fill its memory.
//!
//! A file is opened without blocking (on Unix, `O_NONBLOCK`: opening a FIFO
//! for reading would otherwise wait for a writer), then its type is asked of
//! the open file itself, so that what is read is what was judged a regular
//! file. Reading stops one byte past the limit, so that a file that grows
//! while it is read, or one whose size the system does not know (`/proc`),
//! is bounded too.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The most a manifest file (or standard input) may hold: 1 GiB. The
/// streaming check reads larger inputs in parts, but a report with code
/// frames keeps their text, and the other paths hold their documents.
pub const MANIFEST_LIMIT: u64 = 1 << 30;

/// The most a policy file (`.rampart`) or the configuration file may hold:
/// 16 MiB, far more than any hand-written source.
pub const SOURCE_LIMIT: u64 = 16 << 20;

/// The most a WebAssembly bundle (`check --bundle`) may hold: 256 MiB.
pub const BUNDLE_LIMIT: u64 = 256 << 20;

/// What kind of file a path that is neither a regular file nor a directory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A block device.
    BlockDevice,
    /// A character device (`/dev/zero`, `/dev/urandom`, a terminal).
    CharacterDevice,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    /// The kind of a file that is not a regular file or a directory.
    pub fn of(file_type: std::fs::FileType) -> FileKind {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return FileKind::Fifo;
            }
            if file_type.is_socket() {
                return FileKind::Socket;
            }
            if file_type.is_block_device() {
                return FileKind::BlockDevice;
            }
            if file_type.is_char_device() {
                return FileKind::CharacterDevice;
            }
        }
        #[cfg(not(unix))]
        let _ = file_type;
        FileKind::Other
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            FileKind::Fifo => "named pipe (FIFO)",
            FileKind::Socket => "socket",
            FileKind::BlockDevice => "block device",
            FileKind::CharacterDevice => "character device",
            FileKind::Other => "special file",
        })
    }
}

/// Why a file could not be read. The messages do not name the file: every
/// caller reports them with its name.
#[derive(Debug)]
pub enum ReadError {
    /// The path is not a regular file (a FIFO, a device, a socket, a directory).
    NotRegular(FileKind),
    /// The path is a directory.
    Directory,
    /// The file holds more than the limit, in bytes.
    TooLarge(u64),
    /// The file is not UTF-8 text: where its first bad byte is (line and
    /// offset counted in the whole file).
    NotUtf8(rampart_engine::limits::NotUtf8),
    /// Standard input held nothing but white space.
    EmptyStandardInput,
    /// The system refused to open or read it.
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(kind) => write!(
                formatter,
                "it is a {kind}, not a regular file (only files and directories are read; `-` reads standard input)"
            ),
            ReadError::Directory => formatter.write_str("it is a directory"),
            ReadError::TooLarge(limit) => write!(
                formatter,
                "it is larger than the limit of {} for such a file",
                size(*limit)
            ),
            ReadError::NotUtf8(bad) => write!(formatter, "the file is {bad}"),
            ReadError::EmptyStandardInput => {
                formatter.write_str("standard input is empty: there was nothing to check")
            }
            ReadError::Io(error) => write!(formatter, "{error}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(error: std::io::Error) -> ReadError {
        ReadError::Io(error)
    }
}

/// A size in the largest binary unit that divides it, e.g. `1 GiB`.
pub fn size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// Opens `path` for reading if it is a regular file no larger than `limit`.
pub fn open(path: &Path, limit: u64) -> Result<File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading waits for a writer unless told not to;
        // on a regular file the flag changes nothing.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(ReadError::Directory);
    }
    if !metadata.is_file() {
        return Err(ReadError::NotRegular(FileKind::of(metadata.file_type())));
    }
    if metadata.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(file)
}

/// Reads at most `limit` bytes from `source`; more is an error.
pub fn read_bounded(source: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    source
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

/// Reads a regular file whole, as bytes.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_bounded(open(path, limit)?, limit)
}

/// The bytes as text, or where the first byte that is not UTF-8 is (the
/// valid text is checked once; the position is worked out only on failure).
pub fn text_of(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|error| {
        let bytes = error.as_bytes();
        let fallback = rampart_engine::limits::NotUtf8 {
            offset: error.utf8_error().valid_up_to(),
            byte: bytes
                .get(error.utf8_error().valid_up_to())
                .copied()
                .unwrap_or_default(),
            position: rampart_engine::load::Position { line: 1, column: 1 },
        };
        ReadError::NotUtf8(
            rampart_engine::limits::utf8_text(bytes)
                .err()
                .unwrap_or(fallback),
        )
    })
}

/// Reads a regular file whole, as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    text_of(read_bytes(path, limit)?)
}

/// Reads standard input whole, as UTF-8 text; input with nothing but white
/// space is an error, so that an empty run never looks like a clean one.
pub fn read_standard_input(limit: u64) -> Result<String, ReadError> {
    let bytes = read_bounded(std::io::stdin().lock(), limit)?;
    let text = text_of(bytes)?;
    if is_blank(text.as_bytes()) {
        return Err(ReadError::EmptyStandardInput);
    }
    Ok(text)
}

/// Whether `bytes` hold nothing but white space (and a byte order mark).
pub fn is_blank(bytes: &[u8]) -> bool {
    bytes
        .strip_prefix("\u{FEFF}".as_bytes())
        .unwrap_or(bytes)
        .iter()
        .all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

    use super::*;

    #[test]
    fn sizes_are_written_in_whole_units() {
        assert_eq!(size(MANIFEST_LIMIT), "1 GiB");
        assert_eq!(size(SOURCE_LIMIT), "16 MiB");
        assert_eq!(size(1536), "1536 bytes");
        assert_eq!(size(2048), "2 KiB");
    }

    #[test]
    fn reading_stops_past_the_limit() {
        // An endless source: the read must stop one byte past the limit.
        let endless = std::io::repeat(b'a');
        match read_bounded(endless, 1000) {
            Err(ReadError::TooLarge(1000)) => {}
            other => panic!("expected too large, got {other:?}"),
        }
        assert_eq!(read_bounded(&b"abc"[..], 3).unwrap(), b"abc");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_directories_are_refused_without_reading() {
        match read_text(Path::new("/dev/zero"), MANIFEST_LIMIT) {
            Err(ReadError::NotRegular(FileKind::CharacterDevice)) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
        match read_text(Path::new("/"), MANIFEST_LIMIT) {
            Err(ReadError::Directory) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn blank_input_is_recognised() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \n\t\r\n"));
        assert!(is_blank("\u{FEFF}\n".as_bytes()));
        assert!(!is_blank(b"a: 1\n"));
    }
}
