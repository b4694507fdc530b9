//! A layer's decompression on a thread of its own, handing chunks to the squash.
//!
//! gzip (RFC 1952) is read here, member by member, rather than through flate2's gzip
//! decoder: its header and trailer are parsed by [`read_member_header`] and
//! [`read_trailer`], the deflate data between them is inflated raw, and the CRC-32 and
//! size the trailer states are checked by the *reading* thread ([`Inflated`]) over the
//! chunks it receives. The inflater is the one busy thread of a squash (a 166 MB layer
//! inflates in about 0.6 s on one core while the reader waits); computing the CRC beside it
//! instead of on it, and inflating straight from the caller's buffered reader instead of
//! through a second buffer, take about a tenth off that critical path. Nothing is checked
//! less: every member's CRC-32 and ISIZE are compared, a stream cut short is an error,
//! and bytes after a member must be another member.

use std::io::{self, BufRead, Read};
use std::sync::mpsc;

use crate::manifest::Compression;

/// Bytes per chunk handed from the decompressing thread to the applying one.
const INFLATE_CHUNK: usize = 128 * 1024;
/// Chunks in flight per layer: the decompressor runs at most this far (2 MiB) ahead of the
/// tar reader, so limits checked on the reader's side (layer bytes, header allowance)
/// still bound what a decompression bomb can make the process hold.
const INFLATE_AHEAD: usize = 16;

/// What the decompressing thread sends.
enum Piece {
    /// Decompressed bytes.
    Data(Vec<u8>),
    /// The end of a gzip member: its trailer's CRC-32 and ISIZE (the size modulo 2^32),
    /// after every byte of the member's data was sent.
    MemberEnd { crc: u32, size: u32 },
}

/// Decompressed bytes of one layer, produced by a thread of [`spawn_inflate`].
pub(crate) struct Inflated {
    rx: mpsc::Receiver<io::Result<Piece>>,
    /// Spent chunks go back to the decompressor for reuse.
    spent: mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
    /// The CRC-32 and size of the current gzip member's data received so far.
    crc: crc32fast::Hasher,
    size: u64,
}

/// Decompresses `blob` on a scoped thread of its own. The thread stops at the end of the
/// stream, at the first error (which the reader then returns), or as soon as the reader is
/// dropped.
pub(crate) fn spawn_inflate<'scope, R: BufRead + Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    blob: R,
    compression: Compression,
) -> Inflated {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Piece>>(INFLATE_AHEAD);
    let (spent, recycled) = mpsc::channel::<Vec<u8>>();
    scope.spawn(move || {
        let mut out = Sender {
            tx: &tx,
            recycled: &recycled,
        };
        let result = match compression {
            Compression::Gzip => gunzip(blob, &mut out),
            Compression::None => out.copy(blob),
            Compression::Zstd => zstd::stream::read::Decoder::with_buffer(blob)
                .map_err(Stop::Failed)
                .and_then(|d| out.copy(d)),
        };
        if let Err(Stop::Failed(e)) = result {
            let _ = tx.send(Err(e));
        }
    });
    Inflated {
        rx,
        spent,
        buf: Vec::new(),
        pos: 0,
        crc: crc32fast::Hasher::new(),
        size: 0,
    }
}

/// Decompresses a whole layer blob as a squash does (the inflating thread, the checks on
/// the reading one) and returns the number of bytes it holds: the decompression floor
/// `vouch-bench sbom` compares a whole `vouch sbom` run against.
pub fn decompressed_size<R: BufRead + Send>(blob: R, compression: Compression) -> io::Result<u64> {
    std::thread::scope(|scope| {
        let mut r = spawn_inflate(scope, blob, compression);
        let mut total = 0u64;
        loop {
            let n = r.skip(usize::MAX)?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
        }
    })
}

/// Why the decompressing thread stopped early.
enum Stop {
    /// The reader was dropped: nobody wants the rest.
    Gone,
    /// An error, for the reader.
    Failed(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Self::Failed(e)
    }
}

/// The decompressing thread's end of the channel.
struct Sender<'a> {
    tx: &'a mpsc::SyncSender<io::Result<Piece>>,
    recycled: &'a mpsc::Receiver<Vec<u8>>,
}

impl Sender<'_> {
    /// An empty chunk of [`INFLATE_CHUNK`] bytes, reused when the reader gave one back.
    fn chunk(&self) -> Vec<u8> {
        let mut chunk = self.recycled.try_recv().unwrap_or_default();
        chunk.resize(INFLATE_CHUNK, 0);
        chunk
    }

    fn send(&mut self, piece: Piece) -> Result<(), Stop> {
        self.tx.send(Ok(piece)).map_err(|_| Stop::Gone)
    }

    /// Sends everything `r` reads, in whole chunks (decoders return a few bytes at a time
    /// near block ends).
    fn copy(&mut self, mut r: impl Read) -> Result<(), Stop> {
        loop {
            let mut chunk = self.chunk();
            let mut filled = 0;
            let end = loop {
                match r.read(&mut chunk[filled..]) {
                    Ok(0) => break true,
                    Ok(n) => {
                        filled += n;
                        if filled == chunk.len() {
                            break false;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // What was decompressed before the error is still handed over.
                        chunk.truncate(filled);
                        if filled > 0 {
                            self.send(Piece::Data(chunk))?;
                        }
                        return Err(Stop::Failed(e));
                    }
                }
            };
            chunk.truncate(filled);
            if filled > 0 {
                self.send(Piece::Data(chunk))?;
            }
            if end {
                return Ok(());
            }
        }
    }
}

/// Inflates every member of a gzip stream, sending its data and then its trailer.
fn gunzip<R: BufRead>(mut r: R, out: &mut Sender<'_>) -> Result<(), Stop> {
    let mut z = flate2::Decompress::new(false);
    let mut first = true;
    loop {
        // After a member, the end of the blob ends the stream; anything else must be the
        // next member (RFC 1952 §2.2), as gzip and Go's compress/gzip read it.
        if !first && r.fill_buf()?.is_empty() {
            return Ok(());
        }
        first = false;
        read_member_header(&mut r)?;
        z.reset(false);
        let mut chunk = out.chunk();
        let mut filled = 0;
        loop {
            let input = r.fill_buf()?;
            let eof = input.is_empty();
            let (in_before, out_before) = (z.total_in(), z.total_out());
            let status = z
                .decompress(input, &mut chunk[filled..], flate2::FlushDecompress::None)
                .map_err(|e| invalid(format!("gzip: corrupt deflate data: {e}")))?;
            let consumed = usize::try_from(z.total_in() - in_before).unwrap_or(usize::MAX);
            let produced = usize::try_from(z.total_out() - out_before).unwrap_or(usize::MAX);
            r.consume(consumed);
            filled += produced;
            let end = status == flate2::Status::StreamEnd;
            if filled == chunk.len() || (end && filled > 0) {
                chunk.truncate(filled);
                out.send(Piece::Data(chunk))?;
                chunk = out.chunk();
                filled = 0;
            }
            if end {
                break;
            }
            if eof && consumed == 0 && produced == 0 {
                return Err(Stop::Failed(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "gzip: the stream ends inside a member's deflate data",
                )));
            }
        }
        let (crc, size) = read_trailer(&mut r)?;
        out.send(Piece::MemberEnd { crc, size })?;
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// `FLG` bits (RFC 1952 §2.3.1).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0b1110_0000;

/// Reads and checks one member header (RFC 1952 §2.3): the magic, deflate as the method,
/// no reserved flag, and the optional extra field, name, comment and header CRC (the low
/// 16 bits of the CRC-32 of the header's bytes before it), which is checked.
fn read_member_header<R: BufRead>(r: &mut R) -> io::Result<()> {
    let mut header = Vec::with_capacity(10);
    let take = |r: &mut R, n: usize, header: &mut Vec<u8>| -> io::Result<()> {
        let at = header.len();
        header.resize(at + n, 0);
        r.read_exact(&mut header[at..])
            .map_err(|e| truncated(e, "header"))
    };
    // The magic first: bytes after a member that are not one are named as such, however
    // few they are.
    take(r, 2, &mut header)?;
    if header[..2] != [0x1f, 0x8b] {
        return Err(invalid(format!(
            "gzip: not a gzip member (magic {:02x} {:02x}, want 1f 8b)",
            header[0], header[1]
        )));
    }
    take(r, 8, &mut header)?;
    if header[2] != 8 {
        return Err(invalid(format!(
            "gzip: compression method {} (only 8, deflate, is defined)",
            header[2]
        )));
    }
    let flags = header[3];
    if flags & FRESERVED != 0 {
        return Err(invalid(format!(
            "gzip: reserved header flags set ({flags:#04x}); RFC 1952 requires an error"
        )));
    }
    if flags & FEXTRA != 0 {
        take(r, 2, &mut header)?;
        let n = usize::from(u16::from_le_bytes([header[10], header[11]]));
        take(r, n, &mut header)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            // Zero-terminated Latin-1 strings.
            let before = header.len();
            r.read_until(0, &mut header)?;
            if header.len() == before || header.last() != Some(&0) {
                return Err(truncated(
                    io::ErrorKind::UnexpectedEof.into(),
                    "header name or comment",
                ));
            }
        }
    }
    if flags & FHCRC != 0 {
        let mut stored = [0u8; 2];
        r.read_exact(&mut stored)
            .map_err(|e| truncated(e, "header CRC"))?;
        let computed = (crc32fast::hash(&header) & 0xffff) as u16;
        let stored = u16::from_le_bytes(stored);
        if stored != computed {
            return Err(invalid(format!(
                "gzip: header CRC16 is {stored:#06x}, the header's bytes give {computed:#06x}"
            )));
        }
    }
    Ok(())
}

/// A member's trailer (RFC 1952 §2.3): CRC-32 and ISIZE, little-endian.
fn read_trailer<R: BufRead>(r: &mut R) -> io::Result<(u32, u32)> {
    let mut t = [0u8; 8];
    r.read_exact(&mut t).map_err(|e| truncated(e, "trailer"))?;
    Ok((
        u32::from_le_bytes([t[0], t[1], t[2], t[3]]),
        u32::from_le_bytes([t[4], t[5], t[6], t[7]]),
    ))
}

fn truncated(e: io::Error, part: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("gzip: the stream ends inside a member's {part}"),
        )
    } else {
        e
    }
}

impl Inflated {
    /// Makes sure unread bytes are at hand; `false` at the end of the stream.
    pub(crate) fn fill(&mut self) -> io::Result<bool> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(Ok(Piece::Data(chunk))) => {
                    self.crc.update(&chunk);
                    self.size += chunk.len() as u64;
                    let old = std::mem::replace(&mut self.buf, chunk);
                    // The decompressor may have finished; then the chunk is just dropped.
                    let _ = self.spent.send(old);
                    self.pos = 0;
                }
                Ok(Ok(Piece::MemberEnd { crc, size })) => {
                    let got = std::mem::take(&mut self.crc).finalize();
                    // ISIZE is the size modulo 2^32 (RFC 1952 §2.3.1).
                    let got_size = (std::mem::take(&mut self.size) & 0xffff_ffff) as u32;
                    if got != crc {
                        return Err(invalid(format!(
                            "gzip: the data's CRC-32 is {got:08x}, the member's trailer says \
                             {crc:08x}"
                        )));
                    }
                    if got_size != size {
                        return Err(invalid(format!(
                            "gzip: the data is {got_size} bytes (modulo 2^32), the member's \
                             trailer says {size}"
                        )));
                    }
                }
                Ok(Err(e)) => return Err(e),
                // The thread is done: end of the stream.
                Err(_) => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Passes over up to `max` bytes without copying them; 0 at the end of the stream.
    pub(crate) fn skip(&mut self, max: usize) -> io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let n = max.min(self.buf.len() - self.pos);
        self.pos += n;
        Ok(n)
    }
}

impl Read for Inflated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write as _;

    use super::*;

    /// Everything `spawn_inflate` yields for `blob`, or its first error.
    fn inflate(blob: &[u8]) -> io::Result<Vec<u8>> {
        std::thread::scope(|s| {
            let mut r = spawn_inflate(s, io::BufReader::new(blob), Compression::Gzip);
            let mut out = Vec::new();
            r.read_to_end(&mut out)?;
            Ok(out)
        })
    }

    /// Pseudo-random but compressible data.
    fn data(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 7 < 3 {
                    b'a' + (x % 4) as u8
                } else {
                    (x >> 24) as u8
                }
            })
            .collect()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn members_with_every_optional_header_field_inflate_as_flate2_does() {
        let (a, b) = (data(700_000, 1), data(300_001, 2));
        let mut blob = flate2::GzBuilder::new()
            .filename("layer.tar")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4])
            .write(Vec::new(), flate2::Compression::best());
        blob.write_all(&a).unwrap();
        let mut blob = blob.finish().unwrap();
        blob.extend(gz(&b));
        blob.extend(gz(b"")); // an empty member
        let mut want = Vec::new();
        flate2::read::MultiGzDecoder::new(&blob[..])
            .read_to_end(&mut want)
            .unwrap();
        assert_eq!(want.len(), a.len() + b.len());
        assert_eq!(inflate(&blob).unwrap(), want);
    }

    #[test]
    fn a_header_crc_is_checked() {
        let body = gz(b"hello");
        // FHCRC set: the header's 10 bytes, then their CRC-32's low 16 bits.
        let mut header = body[..10].to_vec();
        header[3] |= FHCRC;
        let crc = (crc32fast::hash(&header) & 0xffff) as u16;
        let mut good = header.clone();
        good.extend(crc.to_le_bytes());
        good.extend(&body[10..]);
        assert_eq!(inflate(&good).unwrap(), b"hello");
        let mut bad = header;
        bad.extend((crc ^ 1).to_le_bytes());
        bad.extend(&body[10..]);
        let e = inflate(&bad).unwrap_err().to_string();
        assert!(e.contains("header CRC16"), "{e}");
    }

    #[test]
    fn every_damage_is_an_error_naming_what_is_wrong() {
        let plain = data(400_000, 3);
        let good = gz(&plain);
        let n = good.len();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "crc",
                {
                    let mut b = good.clone();
                    b[n - 8] ^= 0x01;
                    b
                },
                "CRC-32",
            ),
            (
                "isize",
                {
                    let mut b = good.clone();
                    b[n - 1] ^= 0x01;
                    b
                },
                "modulo 2^32",
            ),
            (
                "cut in the trailer",
                good[..n - 3].to_vec(),
                "member's trailer",
            ),
            ("cut in the data", good[..n / 2].to_vec(), "deflate data"),
            ("cut in the header", good[..6].to_vec(), "member's header"),
            (
                "magic",
                {
                    let mut b = good.clone();
                    b[0] = 0x1e;
                    b
                },
                "magic",
            ),
            (
                "method",
                {
                    let mut b = good.clone();
                    b[2] = 7;
                    b
                },
                "compression method",
            ),
            (
                "reserved flag",
                {
                    let mut b = good.clone();
                    b[3] |= 0x20;
                    b
                },
                "reserved",
            ),
            (
                "garbage after a member",
                {
                    let mut b = good.clone();
                    b.extend(b"not gzip");
                    b
                },
                "magic",
            ),
            (
                "a corrupt block",
                {
                    let mut b = good.clone();
                    // The first block's header: BTYPE 11 is reserved.
                    b[10] |= 0b110;
                    b
                },
                "corrupt deflate",
            ),
        ];
        assert_eq!(inflate(&good).unwrap(), plain);
        for (what, blob, want) in cases {
            let e = inflate(&blob).expect_err(what).to_string();
            assert!(e.contains(want), "{what}: {e}");
        }
    }

    #[test]
    fn an_uncompressed_or_zstd_layer_passes_through() {
        let plain = data(300_000, 4);
        let z = zstd::encode_all(&plain[..], 3).unwrap();
        for (c, blob) in [(Compression::None, plain.clone()), (Compression::Zstd, z)] {
            let got = std::thread::scope(|s| {
                let mut r = spawn_inflate(s, io::BufReader::new(&blob[..]), c);
                let mut out = Vec::new();
                r.read_to_end(&mut out).map(|_| out)
            });
            assert_eq!(got.unwrap(), plain);
        }
    }
}
