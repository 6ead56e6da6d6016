//! Verifying blobs as streams: a blob is never held in memory whole.
//!
//! A layer is read once: one thread reads the file and hashes the
//! compressed bytes, and hands them in chunks to the decompressor, whose
//! output is hashed (the `diff_id`) and walked as a tar stream. The two
//! halves (hashing compressed bytes; inflating and hashing what comes out)
//! cost about the same, so on two cores this takes the time of the slower
//! one, and memory stays at a few chunks whatever the layer size. The
//! reading thread always reads to the end, even when decoding failed, so a
//! corrupt blob is reported as a digest mismatch (the root cause) rather
//! than as whatever the decompressor made of it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use crate::registry::digest::{DigestAlgorithm, DigestHasher};
use crate::registry::Digest;
use crate::spec::media_type::{
    DOCKER_FOREIGN_LAYER_GZIP, DOCKER_LAYER, DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD, OCI_NONDISTRIBUTABLE_LAYER, OCI_NONDISTRIBUTABLE_LAYER_GZIP,
    OCI_NONDISTRIBUTABLE_LAYER_ZSTD,
};

use super::tar::{TarError, TarReader};

/// How much the reading thread reads at once.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the threads (so at most ~2 MiB buffered).
const CHUNKS_IN_FLIGHT: usize = 6;

/// Where a layout keeps blob `digest`, relative to the layout
/// (image-layout.md: `blobs/ALG/HEX`).
pub fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

/// How a layer's tar stream is stored, by its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Plain,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Plain => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// The layer media types that hold a tar stream (image-spec
/// media-types.md and layer.md, including the deprecated
/// non-distributable ones, and Docker's image manifest v2.2), with how the
/// stream is compressed; `None` for anything else (an attestation's
/// in-toto statement, an artifact's file), which is checked as a blob.
pub fn layer_compression(media_type: &str) -> Option<Compression> {
    match media_type {
        OCI_LAYER | OCI_NONDISTRIBUTABLE_LAYER | DOCKER_LAYER => Some(Compression::Plain),
        OCI_LAYER_GZIP
        | OCI_NONDISTRIBUTABLE_LAYER_GZIP
        | DOCKER_LAYER_GZIP
        | DOCKER_FOREIGN_LAYER_GZIP => Some(Compression::Gzip),
        OCI_LAYER_ZSTD | OCI_NONDISTRIBUTABLE_LAYER_ZSTD => Some(Compression::Zstd),
        _ => None,
    }
}

/// The digest and length of a whole stream.
pub fn hash_stream(mut reader: impl Read, algorithm: DigestAlgorithm) -> io::Result<(Digest, u64)> {
    let mut hasher = DigestHasher::new(algorithm);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        total += read as u64;
    }
    Ok((hasher.finish(), total))
}

/// What reading a layer found.
#[derive(Debug)]
pub struct LayerReading {
    /// The digest and length of the stored (compressed) bytes.
    pub digest: Digest,
    pub size: u64,
    /// What its content is, or why it is not a tar stream.
    pub content: Result<LayerContent, LayerError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerContent {
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    pub entries: u64,
}

#[derive(Debug)]
pub enum LayerError {
    /// The decompressor refused the bytes.
    Decompress {
        compression: Compression,
        error: io::Error,
    },
    /// The uncompressed bytes are not one complete tar stream.
    Tar(TarError),
}

impl std::fmt::Display for LayerError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerError::Decompress { compression, error } => {
                write!(
                    formatter,
                    "{} decompression failed: {error}",
                    compression.name()
                )
            }
            LayerError::Tar(error) => write!(formatter, "not a complete tar stream: {error}"),
        }
    }
}

/// Reads a layer once: hashes it with `algorithm`, decompresses it and
/// walks its tar stream. Only reading the file itself fails the call.
pub fn read_layer(
    file: File,
    algorithm: DigestAlgorithm,
    compression: Compression,
) -> io::Result<LayerReading> {
    if compression == Compression::Plain && algorithm == DigestAlgorithm::Sha256 {
        // The stored bytes are the tar stream: one hash serves both.
        let mut hashing = Hashing::new(BufReader::with_capacity(CHUNK, file));
        let content = walk(&mut hashing);
        let drained = io::copy(&mut hashing, &mut io::sink());
        let (digest, size) = hashing.finish();
        drained?;
        let content = content.map(|entries| LayerContent {
            diff_id: digest.clone(),
            uncompressed_size: size,
            entries,
        });
        return Ok(LayerReading {
            digest,
            size,
            content,
        });
    }
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        let (recycle, recycled) = mpsc::channel();
        let reader = scope.spawn(move || read_and_forward(file, algorithm, sender, recycled));
        let content = decode(
            ChannelReader {
                receiver,
                recycle,
                current: Vec::new(),
                position: 0,
            },
            compression,
        );
        let (digest, size) = match reader.join() {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::other("the reading thread panicked")),
        };
        Ok(LayerReading {
            digest,
            size,
            content,
        })
    })
}

/// The reading half: every byte of the file is hashed; chunks go to the
/// decoder until it hangs up (it stops early only on an error).
fn read_and_forward(
    mut file: File,
    algorithm: DigestAlgorithm,
    sender: SyncSender<Vec<u8>>,
    recycled: Receiver<Vec<u8>>,
) -> io::Result<(Digest, u64)> {
    let mut hasher = DigestHasher::new(algorithm);
    let mut total = 0u64;
    let mut forwarding = true;
    loop {
        let mut buffer = recycled.try_recv().unwrap_or_default();
        buffer.resize(CHUNK, 0);
        let read = loop {
            match file.read(&mut buffer) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if read == 0 {
            break;
        }
        buffer.truncate(read);
        hasher.update(&buffer);
        total += read as u64;
        if forwarding && sender.send(buffer).is_err() {
            forwarding = false;
        }
    }
    Ok((hasher.finish(), total))
}

/// The decoding half.
fn decode(input: ChannelReader, compression: Compression) -> Result<LayerContent, LayerError> {
    let decompress_error = |error| LayerError::Decompress { compression, error };
    let decoder: Box<dyn Read> = match compression {
        Compression::Plain => Box::new(input),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(decompress_error)?)
        }
    };
    let mut hashing = Hashing::new(decoder);
    let entries = match walk(&mut hashing) {
        Ok(entries) => entries,
        Err(LayerError::Tar(TarError::Io(error))) if compression != Compression::Plain => {
            return Err(decompress_error(error))
        }
        Err(error) => return Err(error),
    };
    let (diff_id, uncompressed_size) = hashing.finish();
    Ok(LayerContent {
        diff_id,
        uncompressed_size,
        entries,
    })
}

/// Walks the tar stream to its end (through the zeros after the marker,
/// so every uncompressed byte is hashed).
fn walk(reader: &mut dyn Read) -> Result<u64, LayerError> {
    let mut tar = TarReader::new(BufReader::with_capacity(CHUNK, reader));
    let mut entries = 0;
    while tar.next_entry().map_err(LayerError::Tar)?.is_some() {
        entries += 1;
    }
    Ok(entries)
}

/// Hashes (sha256: the diff_id algorithm) and counts what passes through.
struct Hashing<R> {
    inner: R,
    hasher: DigestHasher,
    count: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hasher: DigestHasher::new(DigestAlgorithm::Sha256),
            count: 0,
        }
    }

    fn finish(self) -> (Digest, u64) {
        (self.hasher.finish(), self.count)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.count += read as u64;
        Ok(read)
    }
}

/// The chunks from the reading thread as one stream.
struct ChannelReader {
    receiver: Receiver<Vec<u8>>,
    recycle: Sender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
}

impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.position == self.current.len() {
            match self.receiver.recv() {
                Ok(next) => {
                    let used = std::mem::replace(&mut self.current, next);
                    let _ = self.recycle.send(used);
                    self.position = 0;
                }
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.current.len());
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn tar_bytes(content: &[u8]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, "file", content).unwrap();
        builder.into_inner().unwrap()
    }

    fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let handle = File::open(file.path()).unwrap();
        (file, handle)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_zstd_and_plain_layers_give_the_same_diff_id() {
        let tar = tar_bytes(&[42u8; 300_000]);
        let expected = Digest::sha256_of(&tar);
        let zstd = zstd::encode_all(&tar[..], 3).unwrap();
        for (bytes, compression) in [
            (tar.clone(), Compression::Plain),
            (gzip(&tar), Compression::Gzip),
            (zstd, Compression::Zstd),
        ] {
            let (_keep, file) = file_with(&bytes);
            let reading = read_layer(file, DigestAlgorithm::Sha256, compression).unwrap();
            assert_eq!(reading.digest, Digest::sha256_of(&bytes));
            assert_eq!(reading.size, bytes.len() as u64);
            let content = reading.content.unwrap();
            assert_eq!(content.diff_id, expected, "{compression:?}");
            assert_eq!(content.entries, 1);
        }
    }

    #[test]
    fn a_truncated_gzip_stream_is_a_decompression_error() {
        let compressed = gzip(&tar_bytes(&[1u8; 100_000]));
        let cut = &compressed[..compressed.len() - 10];
        let (_keep, file) = file_with(cut);
        let reading = read_layer(file, DigestAlgorithm::Sha256, Compression::Gzip).unwrap();
        assert_eq!(reading.digest, Digest::sha256_of(cut));
        let error = reading.content.unwrap_err();
        assert!(error.to_string().contains("gzip"), "{error}");
    }

    #[test]
    fn garbage_is_refused_but_fully_hashed() {
        let garbage = vec![7u8; 3 * CHUNK + 5];
        let (_keep, file) = file_with(&garbage);
        let reading = read_layer(file, DigestAlgorithm::Sha512, Compression::Gzip).unwrap();
        assert_eq!(reading.size, garbage.len() as u64);
        assert_eq!(
            reading.digest,
            Digest::compute(DigestAlgorithm::Sha512, &garbage)
        );
        assert!(matches!(
            reading.content,
            Err(LayerError::Decompress { .. })
        ));
    }

    /// Every layer type the spec module names is read as a tar stream with
    /// the compression its name says; other types are plain blobs.
    #[test]
    fn each_layer_media_type_has_its_compression() {
        use crate::spec::media_type as mt;
        for (media_type, compression) in [
            (mt::OCI_LAYER, Some(Compression::Plain)),
            (mt::OCI_NONDISTRIBUTABLE_LAYER, Some(Compression::Plain)),
            (mt::DOCKER_LAYER, Some(Compression::Plain)),
            (mt::OCI_LAYER_GZIP, Some(Compression::Gzip)),
            (mt::OCI_NONDISTRIBUTABLE_LAYER_GZIP, Some(Compression::Gzip)),
            (mt::DOCKER_LAYER_GZIP, Some(Compression::Gzip)),
            (mt::DOCKER_FOREIGN_LAYER_GZIP, Some(Compression::Gzip)),
            (mt::OCI_LAYER_ZSTD, Some(Compression::Zstd)),
            (mt::OCI_NONDISTRIBUTABLE_LAYER_ZSTD, Some(Compression::Zstd)),
            (mt::IN_TOTO, None),
            (mt::OCI_EMPTY, None),
        ] {
            assert_eq!(layer_compression(media_type), compression, "{media_type}");
        }
    }
}
