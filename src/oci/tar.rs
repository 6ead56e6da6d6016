//! Reading tar streams strictly, in bounded memory.
//!
//! A layer's `diff_id` is the digest of its uncompressed tar stream, and
//! every runtime that unpacks it frames that stream into entries on its
//! own. So a layer must be one unambiguous tar stream: every header's
//! checksum right, every entry's data present, the end-of-archive marker
//! (two zero blocks) there, and nothing but zeros after it. The `tar`
//! crate decodes the header fields (octal and base-256 numbers, ustar
//! prefixes, pax records); the framing is ours because the crate reads GNU
//! long names and pax headers of any size into memory and takes a stream
//! that simply stops for a complete one.
//!
//! Headers that carry no data (links, directories, devices, fifos) must
//! declare none: readers disagree about whether such data is skipped, and
//! that disagreement is how one stream unpacks differently in two places.

use std::fmt;
use std::io::{self, Read, Write};

use tar::{EntryType, Header, PaxExtensions};

const BLOCK: u64 = 512;

/// The largest GNU long name/link or pax header we accept (real ones are a
/// few hundred bytes; a path longer than Linux's PATH_MAX is no path).
pub const MAX_EXTENSION_SIZE: u64 = 1024 * 1024;

/// What kind of file an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    HardLink,
    /// Character or block devices, fifos, GNU sparse files, contiguous
    /// files and types we do not know: their data (if any) is framed by
    /// their size, and importing refuses them.
    Other(u8),
}

/// One entry's header, with pax and GNU extensions applied.
#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: EntryKind,
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub mode: u32,
    pub mtime: u64,
}

/// Why a stream is not a complete, well-formed tar archive.
#[derive(Debug)]
pub enum TarError {
    Io(io::Error),
    /// The stream ended inside a header or an entry's data.
    Truncated {
        offset: u64,
    },
    /// The stream ended without the end-of-archive marker.
    NoEndMarker {
        offset: u64,
    },
    /// Something is wrong with the header at `offset`.
    Header {
        offset: u64,
        message: String,
    },
    /// Non-zero bytes after the end-of-archive marker.
    TrailingData {
        offset: u64,
    },
}

impl fmt::Display for TarError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TarError::Io(error) => write!(formatter, "{error}"),
            TarError::Truncated { offset } => {
                write!(formatter, "tar stream truncated at byte {offset}")
            }
            TarError::NoEndMarker { offset } => write!(
                formatter,
                "tar stream ends at byte {offset} without the end-of-archive marker (two zero blocks)"
            ),
            TarError::Header { offset, message } => {
                write!(formatter, "tar header at byte {offset}: {message}")
            }
            TarError::TrailingData { offset } => write!(
                formatter,
                "non-zero data at byte {offset}, after the end-of-archive marker"
            ),
        }
    }
}

impl std::error::Error for TarError {}

impl From<io::Error> for TarError {
    fn from(error: io::Error) -> TarError {
        TarError::Io(error)
    }
}

/// Extension headers seen since the last entry: they describe the next one.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
    first_offset: Option<u64>,
}

/// Reads entries one after the other; data not read by the caller is
/// skipped (and so still checked to be there).
pub struct TarReader<R> {
    inner: R,
    offset: u64,
    /// Data bytes of the current entry not yet read, then its padding.
    remaining: u64,
    padding: u64,
    finished: bool,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R) -> TarReader<R> {
        TarReader {
            inner,
            offset: 0,
            remaining: 0,
            padding: 0,
            finished: false,
        }
    }

    /// Reads exactly `buffer.len()` bytes; `Ok(false)` when the stream ends
    /// before the first byte.
    fn read_block(&mut self, buffer: &mut [u8]) -> Result<bool, TarError> {
        let mut filled = 0;
        while filled < buffer.len() {
            match self.inner.read(&mut buffer[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => {
                    return Err(TarError::Truncated {
                        offset: self.offset + filled as u64,
                    })
                }
                Ok(count) => filled += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.offset += buffer.len() as u64;
        Ok(true)
    }

    /// Discards `count` bytes, failing if the stream has fewer.
    fn skip(&mut self, mut count: u64) -> Result<(), TarError> {
        let mut scratch = [0u8; 16 * 1024];
        while count > 0 {
            let want = count.min(scratch.len() as u64) as usize;
            match self.inner.read(&mut scratch[..want]) {
                Ok(0) => {
                    return Err(TarError::Truncated {
                        offset: self.offset,
                    })
                }
                Ok(read) => {
                    self.offset += read as u64;
                    count -= read as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Copies the rest of the current entry's data to `out`.
    pub fn copy_data(&mut self, out: &mut dyn Write) -> Result<u64, TarError> {
        let mut scratch = vec![0u8; 64 * 1024];
        let mut copied = 0;
        while self.remaining > 0 {
            let want = self.remaining.min(scratch.len() as u64) as usize;
            match self.inner.read(&mut scratch[..want]) {
                Ok(0) => {
                    return Err(TarError::Truncated {
                        offset: self.offset,
                    })
                }
                Ok(read) => {
                    out.write_all(&scratch[..read])?;
                    self.offset += read as u64;
                    self.remaining -= read as u64;
                    copied += read as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(copied)
    }

    /// Skips what is left of the current entry and its padding.
    fn finish_entry(&mut self) -> Result<(), TarError> {
        let rest = self.remaining + self.padding;
        self.remaining = 0;
        self.padding = 0;
        self.skip(rest)
    }

    /// Reads a small extension entry's data (a long name, a pax header).
    fn read_extension(&mut self, offset: u64, size: u64) -> Result<Vec<u8>, TarError> {
        if size > MAX_EXTENSION_SIZE {
            return Err(TarError::Header {
                offset,
                message: format!(
                    "extension header of {size} bytes (at most {MAX_EXTENSION_SIZE} are accepted)"
                ),
            });
        }
        let mut data = vec![0u8; size as usize];
        if !data.is_empty() && !self.read_block(&mut data)? {
            return Err(TarError::Truncated {
                offset: self.offset,
            });
        }
        self.skip(padding(size))?;
        Ok(data)
    }

    /// The next entry, or `None` after a correct end of archive.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.finished {
            return Ok(None);
        }
        self.finish_entry()?;
        let mut pending = Pending::default();
        loop {
            let offset = self.offset;
            let mut block = [0u8; BLOCK as usize];
            if !self.read_block(&mut block)? {
                return Err(TarError::NoEndMarker { offset });
            }
            if block.iter().all(|byte| *byte == 0) {
                if pending.first_offset.is_some() {
                    return Err(TarError::Header {
                        offset: pending.first_offset.unwrap_or(offset),
                        message: "extension header with no entry after it".to_string(),
                    });
                }
                self.finish_archive()?;
                return Ok(None);
            }
            let header = Header::from_byte_slice(&block);
            check_checksum(header, offset)?;
            let header_error = |message: String| TarError::Header { offset, message };
            let mut size = header
                .entry_size()
                .map_err(|error| header_error(format!("size: {error}")))?;
            let kind = header.entry_type();
            let is_extension = kind.is_gnu_longname()
                || kind.is_gnu_longlink()
                || kind.is_pax_local_extensions()
                || kind.is_pax_global_extensions();
            if is_extension {
                pending.first_offset.get_or_insert(offset);
                let twice = |what: &str| header_error(format!("two {what} headers for one entry"));
                let data = self.read_extension(offset, size)?;
                if kind.is_gnu_longname() {
                    if pending.long_name.is_some() {
                        return Err(twice("GNU long name"));
                    }
                    pending.long_name = Some(trim_nul(data));
                } else if kind.is_gnu_longlink() {
                    if pending.long_link.is_some() {
                        return Err(twice("GNU long link"));
                    }
                    pending.long_link = Some(trim_nul(data));
                } else {
                    check_pax(&data).map_err(header_error)?;
                    if kind.is_pax_local_extensions() {
                        if pending.pax.is_some() {
                            return Err(twice("pax"));
                        }
                        pending.pax = Some(data);
                    }
                }
                continue;
            }
            let mut path = header.path_bytes().into_owned();
            let mut link = header
                .link_name_bytes()
                .map(|name| name.into_owned())
                .unwrap_or_default();
            if let Some(name) = pending.long_name.take() {
                path = name;
            }
            if let Some(name) = pending.long_link.take() {
                link = name;
            }
            if let Some(pax) = pending.pax.take() {
                for record in PaxExtensions::new(&pax).flatten() {
                    match record.key_bytes() {
                        b"path" => path = record.value_bytes().to_vec(),
                        b"linkpath" => link = record.value_bytes().to_vec(),
                        b"size" => {
                            size = parse_decimal(record.value_bytes()).ok_or_else(|| {
                                header_error("pax size: not a decimal number".to_string())
                            })?;
                        }
                        _ => {}
                    }
                }
            }
            let kind = entry_kind(kind, &block);
            let header_only = matches!(
                kind,
                EntryKind::Directory
                    | EntryKind::Symlink
                    | EntryKind::HardLink
                    | EntryKind::Other(b'3' | b'4' | b'6')
            );
            if header_only && size != 0 {
                return Err(header_error(format!(
                    "a {} entry declares {size} bytes of data",
                    kind_name(kind)
                )));
            }
            if kind == EntryKind::Other(b'S') {
                self.skip_sparse_extensions(header, offset)?;
            }
            let mode = header.mode().unwrap_or(0o644);
            let mtime = header.mtime().unwrap_or(0);
            self.remaining = size;
            self.padding = padding(size);
            return Ok(Some(Entry {
                kind,
                path,
                link,
                mode,
                mtime,
            }));
        }
    }

    /// A GNU sparse header may be followed by extension blocks of the
    /// sparse map; they are framing, not data.
    fn skip_sparse_extensions(&mut self, header: &Header, offset: u64) -> Result<(), TarError> {
        let Some(gnu) = header.as_gnu() else {
            return Err(TarError::Header {
                offset,
                message: "a sparse entry without a GNU header".to_string(),
            });
        };
        let mut extended = gnu.is_extended();
        let mut blocks = 0;
        while extended {
            blocks += 1;
            if blocks > 4096 {
                return Err(TarError::Header {
                    offset,
                    message: "more than 4096 sparse map blocks".to_string(),
                });
            }
            let mut block = [0u8; BLOCK as usize];
            if !self.read_block(&mut block)? {
                return Err(TarError::Truncated {
                    offset: self.offset,
                });
            }
            extended = block[504] != 0;
        }
        Ok(())
    }

    /// After the first zero block: the second one must follow, and only
    /// zeros after it (writers pad to their record size).
    fn finish_archive(&mut self) -> Result<(), TarError> {
        self.finished = true;
        let marker_offset = self.offset - BLOCK;
        let mut zeros_after = 0u64;
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let read = match self.inner.read(&mut scratch) {
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            };
            if read == 0 {
                break;
            }
            if let Some(position) = scratch[..read].iter().position(|byte| *byte != 0) {
                return Err(TarError::TrailingData {
                    offset: self.offset + position as u64,
                });
            }
            self.offset += read as u64;
            zeros_after += read as u64;
        }
        if zeros_after < BLOCK {
            return Err(TarError::NoEndMarker {
                offset: marker_offset,
            });
        }
        Ok(())
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

fn trim_nul(mut data: Vec<u8>) -> Vec<u8> {
    while data.last() == Some(&0) {
        data.pop();
    }
    data
}

fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// The stored checksum must equal the sum of the header's bytes with the
/// checksum field read as spaces (POSIX ustar; some old writers summed
/// signed bytes, which we also accept).
fn check_checksum(header: &Header, offset: u64) -> Result<(), TarError> {
    let bytes = header.as_bytes();
    let stored = header.cksum().map_err(|error| TarError::Header {
        offset,
        message: format!("checksum field: {error}"),
    })?;
    let field = 148..156;
    let unsigned: u32 = bytes
        .iter()
        .enumerate()
        .map(|(index, byte)| {
            if field.contains(&index) {
                u32::from(b' ')
            } else {
                u32::from(*byte)
            }
        })
        .sum();
    let signed: i64 = bytes
        .iter()
        .enumerate()
        .map(|(index, byte)| {
            if field.contains(&index) {
                i64::from(b' ')
            } else {
                i64::from(*byte as i8)
            }
        })
        .sum();
    if stored == unsigned || i64::from(stored) == signed {
        Ok(())
    } else {
        Err(TarError::Header {
            offset,
            message: format!("checksum {stored} does not match the header's {unsigned}"),
        })
    }
}

/// Every pax record must be `LENGTH KEY=VALUE\n` with the right length.
fn check_pax(data: &[u8]) -> Result<(), String> {
    for record in PaxExtensions::new(data) {
        record.map_err(|error| format!("pax header: {error}"))?;
    }
    Ok(())
}

fn entry_kind(kind: EntryType, block: &[u8; 512]) -> EntryKind {
    match kind {
        EntryType::Regular => EntryKind::File,
        EntryType::Directory => EntryKind::Directory,
        EntryType::Symlink => EntryKind::Symlink,
        EntryType::Link => EntryKind::HardLink,
        _ => EntryKind::Other(block[156]),
    }
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "regular file",
        EntryKind::Directory => "directory",
        EntryKind::Symlink => "symbolic link",
        EntryKind::HardLink => "hard link",
        EntryKind::Other(b'3') => "character device",
        EntryKind::Other(b'4') => "block device",
        EntryKind::Other(b'6') => "fifo",
        EntryKind::Other(_) => "special",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks a whole stream, checking it is one complete archive; returns
    /// how many entries it has.
    fn check_stream(reader: impl Read) -> Result<u64, TarError> {
        let mut tar = TarReader::new(reader);
        let mut entries = 0;
        while tar.next_entry()?.is_some() {
            entries += 1;
        }
        Ok(entries)
    }

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn counts_entries_of_a_complete_archive() {
        let long = "d/".repeat(80) + "file";
        let bytes = archive(&[("a", b"hello"), (&long, b"x")]);
        assert_eq!(check_stream(&bytes[..]).unwrap(), 2);
        let mut reader = TarReader::new(&bytes[..]);
        reader.next_entry().unwrap();
        let second = reader.next_entry().unwrap().unwrap();
        assert_eq!(second.path, long.as_bytes());
    }

    #[test]
    fn refuses_a_stream_that_stops_at_an_entry_boundary() {
        let bytes = archive(&[("a", b"hello")]);
        let cut = &bytes[..1024];
        assert!(matches!(
            check_stream(cut),
            Err(TarError::NoEndMarker { offset: 1024 })
        ));
        let one_zero_block = &bytes[..1536];
        assert!(matches!(
            check_stream(one_zero_block),
            Err(TarError::NoEndMarker { offset: 1024 })
        ));
    }

    #[test]
    fn refuses_truncated_data_bad_checksums_and_trailing_bytes() {
        let bytes = archive(&[("a", &[7u8; 600])]);
        assert!(matches!(
            check_stream(&bytes[..900]),
            Err(TarError::Truncated { .. })
        ));
        let mut corrupt = bytes.clone();
        corrupt[0] ^= 1;
        assert!(matches!(
            check_stream(&corrupt[..]),
            Err(TarError::Header { offset: 0, .. })
        ));
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(b"junk");
        assert!(matches!(
            check_stream(&trailing[..]),
            Err(TarError::TrailingData { .. })
        ));
    }

    #[test]
    fn refuses_oversized_extension_headers() {
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::GNULongName);
        header.set_size(u64::MAX / 2);
        header.set_cksum();
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(&[0; 1024]);
        let error = check_stream(&bytes[..]).unwrap_err();
        assert!(error.to_string().contains("extension header of"), "{error}");
    }

    #[test]
    fn refuses_data_on_header_only_entries() {
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Directory);
        header.set_path("dir/").unwrap();
        header.set_size(512);
        header.set_cksum();
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(&[0; 512 + 1024]);
        let error = check_stream(&bytes[..]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("directory entry declares 512 bytes"),
            "{error}"
        );
    }
}
