//! Checking and cleaning one upload: type by content, size and pixel limits, EXIF stripped
//! with the orientation applied, thumbnail, SHA-256 of the original.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// Largest single upload accepted, in bytes (10 MB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Largest total of one claim's documents, in bytes (60 MB). Enforced by the caller, who knows
/// what the claim already holds.
pub const MAX_CLAIM_BYTES: usize = 60 * 1024 * 1024;
/// Longest side of an image, in pixels, checked from the header before decoding.
pub const MAX_IMAGE_SIDE: u32 = 12_000;
/// Most pixels in an image (80 megapixels), checked from the header before decoding.
pub const MAX_IMAGE_PIXELS: u64 = 80_000_000;
/// Thumbnails are JPEGs at most this wide (and at most three times as tall).
pub const THUMBNAIL_WIDTH: u32 = 320;
/// The decoded buffer may not exceed this (80 MP of 16-bit RGB would; 8-bit RGBA does not).
const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;
const JPEG_QUALITY: u8 = 90;
const THUMBNAIL_QUALITY: u8 = 80;

/// What a document is, decided by its content, never by its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Jpeg,
    Png,
    Pdf,
}

impl DocumentKind {
    pub fn mime(self) -> &'static str {
        match self {
            DocumentKind::Jpeg => "image/jpeg",
            DocumentKind::Png => "image/png",
            DocumentKind::Pdf => "application/pdf",
        }
    }

    /// File extension without the dot, for download names.
    pub fn extension(self) -> &'static str {
        match self {
            DocumentKind::Jpeg => "jpg",
            DocumentKind::Png => "png",
            DocumentKind::Pdf => "pdf",
        }
    }

    /// The kind stored in a database column (`"jpeg"`, `"png"`, `"pdf"`).
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Jpeg => "jpeg",
            DocumentKind::Png => "png",
            DocumentKind::Pdf => "pdf",
        }
    }

    /// The inverse of [`DocumentKind::as_str`].
    pub fn parse(s: &str) -> Option<DocumentKind> {
        match s {
            "jpeg" => Some(DocumentKind::Jpeg),
            "png" => Some(DocumentKind::Png),
            "pdf" => Some(DocumentKind::Pdf),
            _ => None,
        }
    }

    /// Sniffs the kind from the first bytes (magic numbers). `None` for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<DocumentKind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(DocumentKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(DocumentKind::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(DocumentKind::Pdf)
        } else {
            None
        }
    }
}

/// A checked and cleaned upload, ready to be stored.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub kind: DocumentKind,
    /// The bytes to store: images re-encoded without any metadata (orientation applied to the
    /// pixels); PDFs as uploaded.
    pub bytes: Vec<u8>,
    /// A JPEG at most [`THUMBNAIL_WIDTH`] wide, for images; `None` for PDFs (the UI shows an icon).
    pub thumbnail: Option<Vec<u8>>,
    /// SHA-256 of the ORIGINAL upload, lower-case hex (64 characters), for duplicate detection.
    pub sha256: String,
    /// 1 for images; for PDFs the page count read from the page tree, 0 when it could not be
    /// read cheaply (compressed object streams).
    pub pages: u32,
    /// Width and height after orientation, for images.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Why an upload was refused. [`DocumentError::message_zh`] is the clerk's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("empty upload")]
    Empty,
    #[error("upload larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("not a JPEG, PNG or PDF file")]
    UnknownType,
    #[error("file is corrupt or truncated")]
    Corrupt,
    #[error("image dimensions exceed {MAX_IMAGE_SIDE} px a side or {MAX_IMAGE_PIXELS} pixels")]
    TooManyPixels,
    #[error("image could not be re-encoded: {0}")]
    Processing(String),
}

impl DocumentError {
    /// A plain Chinese message for the clerk who uploaded the file.
    pub fn message_zh(&self) -> String {
        match self {
            DocumentError::Empty => "文件是空的，请重新选择".to_string(),
            DocumentError::TooLarge { limit } => {
                format!("文件超过 {} MB，请压缩或分页拍摄后再上传", limit / (1024 * 1024))
            }
            DocumentError::UnknownType => "文件不是 JPG、PNG 或 PDF 格式".to_string(),
            DocumentError::Corrupt => "文件已损坏或不完整，无法打开，请重新拍摄或导出".to_string(),
            DocumentError::TooManyPixels => format!(
                "图片尺寸过大（超过 {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} 像素或 8000 万像素），请缩小后再上传"
            ),
            DocumentError::Processing(_) => "图片处理失败，请重试或换一张照片".to_string(),
        }
    }
}

/// Checks and cleans one upload. CPU-bound (decodes and re-encodes images): call it in
/// `tokio::task::spawn_blocking`.
pub fn prepare(upload: &[u8]) -> Result<Prepared, DocumentError> {
    if upload.is_empty() {
        return Err(DocumentError::Empty);
    }
    if upload.len() > MAX_FILE_BYTES {
        return Err(DocumentError::TooLarge {
            limit: MAX_FILE_BYTES,
        });
    }
    let kind = DocumentKind::sniff(upload).ok_or(DocumentError::UnknownType)?;
    let sha256 = sha256_hex(upload);
    match kind {
        DocumentKind::Pdf => {
            check_pdf(upload)?;
            Ok(Prepared {
                kind,
                bytes: upload.to_vec(),
                thumbnail: None,
                sha256,
                pages: pdf_pages(upload),
                width: None,
                height: None,
            })
        }
        DocumentKind::Jpeg | DocumentKind::Png => {
            if kind == DocumentKind::Jpeg && !jpeg_is_complete(upload) {
                return Err(DocumentError::Corrupt);
            }
            let (img, upright) = decode_oriented(upload, kind)?;
            // An upright JPEG (most phone photos) loses its metadata segments losslessly: no
            // re-encoding, which took most of the ~4 s a 12-megapixel photo used to cost.
            let lossless = (kind == DocumentKind::Jpeg && upright)
                .then(|| strip_jpeg_metadata(upload))
                .flatten();
            let bytes = match lossless {
                Some(b) => b,
                None => encode_clean(&img, kind)?,
            };
            let thumbnail = thumbnail(&img)?;
            Ok(Prepared {
                kind,
                bytes,
                thumbnail: Some(thumbnail),
                sha256,
                pages: 1,
                width: Some(img.width()),
                height: Some(img.height()),
            })
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Decodes an image after checking its declared dimensions against the limits, and applies
/// its EXIF orientation to the pixels; also says whether the pixels were already upright.
fn decode_oriented(
    bytes: &[u8],
    kind: DocumentKind,
) -> Result<(DynamicImage, bool), DocumentError> {
    let format = match kind {
        DocumentKind::Jpeg => ImageFormat::Jpeg,
        _ => ImageFormat::Png,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(DocumentError::Corrupt);
    }
    if w > MAX_IMAGE_SIDE
        || h > MAX_IMAGE_SIDE
        || u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS
        || decoder.total_bytes() > MAX_DECODED_BYTES
    {
        return Err(DocumentError::TooManyPixels);
    }
    // A broken EXIF block is no reason to refuse a legible photo: it is dropped anyway.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    img.apply_orientation(orientation);
    Ok((
        img,
        orientation == image::metadata::Orientation::NoTransforms,
    ))
}

/// The JPEG without its metadata, byte for byte otherwise: every APP1–APP13 and APP15 segment
/// (EXIF with GPS, XMP, ICC, IPTC, vendor data) and every comment before the scan is dropped,
/// as is anything after the end-of-image marker; APP0 (JFIF) and APP14 (Adobe: how to read the
/// colours) and the coding segments are kept. `None` when the structure is not the expected
/// one: the caller then re-encodes the pixels.
fn strip_jpeg_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    loop {
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        while *bytes.get(i)? == 0xFF {
            i += 1;
        }
        let marker = bytes[i];
        i += 1;
        if matches!(marker, 0x00 | 0x01 | 0xD0..=0xD9) {
            return None; // no standalone marker belongs before the first scan
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        let end = i
            .checked_add(len)
            .filter(|e| len >= 2 && *e <= bytes.len())?;
        if !matches!(marker, 0xE1..=0xED | 0xEF | 0xFE) {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
        if marker == 0xDA {
            // The entropy-coded data escapes 0xFF as FF 00 and restarts as FF D0–D7, so the
            // first FF D9 is the end of the image.
            let rest = &bytes[i..];
            let eoi = rest.windows(2).position(|w| w == [0xFF, 0xD9])?;
            out.extend_from_slice(&rest[..eoi + 2]);
            return Some(out);
        }
    }
}

fn image_error(e: image::ImageError) -> DocumentError {
    match e {
        image::ImageError::Limits(_) => DocumentError::TooManyPixels,
        _ => DocumentError::Corrupt,
    }
}

/// Re-encodes the pixels alone: nothing of the original's metadata (EXIF with GPS, XMP, IPTC,
/// comments, PNG text chunks, trailing data) survives.
fn encode_clean(img: &DynamicImage, kind: DocumentKind) -> Result<Vec<u8>, DocumentError> {
    let mut out = Vec::new();
    let result = match kind {
        DocumentKind::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            match img {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {
                    img.write_with_encoder(encoder)
                }
                _ => DynamicImage::ImageRgb8(flatten(img)).write_with_encoder(encoder),
            }
        }
        _ => img.write_with_encoder(PngEncoder::new_with_quality(
            &mut out,
            CompressionType::Default,
            FilterType::Adaptive,
        )),
    };
    result.map_err(|e| DocumentError::Processing(e.to_string()))?;
    Ok(out)
}

/// A JPEG at most [`THUMBNAIL_WIDTH`] wide and three times that tall.
fn thumbnail(img: &DynamicImage) -> Result<Vec<u8>, DocumentError> {
    let max_h = THUMBNAIL_WIDTH * 3;
    let small = if img.width() > THUMBNAIL_WIDTH || img.height() > max_h {
        img.thumbnail(THUMBNAIL_WIDTH, max_h)
    } else {
        img.clone()
    };
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(flatten(&small))
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY))
        .map_err(|e| DocumentError::Processing(e.to_string()))?;
    Ok(out)
}

/// 8-bit RGB, transparent areas over white (a scanned page with alpha stays legible).
fn flatten(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])])
    })
}

/// Whether a JPEG reaches its end-of-image marker. The decoder is lenient and would paint a
/// truncated photo's missing half grey; a claim document must be whole. Walks the marker
/// segments (so an EXIF thumbnail's own EOI inside APP1 does not count) and the entropy-coded
/// data after each SOS (where 0xFF is always followed by 0x00 or a restart marker).
fn jpeg_is_complete(b: &[u8]) -> bool {
    let n = b.len();
    let mut i = 2; // after SOI
    loop {
        if i + 1 >= n || b[i] != 0xFF {
            return false;
        }
        let marker = b[i + 1];
        match marker {
            0xFF => {
                i += 1; // fill byte
                continue;
            }
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => {
                i += 2;
                continue;
            }
            _ => {}
        }
        if i + 3 >= n {
            return false;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if len < 2 {
            return false;
        }
        i += 2 + len;
        if marker == 0xDA {
            // Entropy-coded data up to the next real marker.
            loop {
                if i + 1 >= n {
                    return false;
                }
                if b[i] == 0xFF {
                    let m = b[i + 1];
                    if m == 0x00 || (0xD0..=0xD7).contains(&m) {
                        i += 2;
                        continue;
                    }
                    if m == 0xFF {
                        i += 1;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
        }
    }
}

/// A PDF must carry its end-of-file marker near the end (a truncated download does not).
fn check_pdf(b: &[u8]) -> Result<(), DocumentError> {
    let tail = &b[b.len().saturating_sub(1024)..];
    if find(tail, b"%%EOF").is_none() {
        return Err(DocumentError::Corrupt);
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn is_pdf_delimiter(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | b'\x0c'
            | b'\0'
            | b'/'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'('
            | b')'
            | b'%'
    )
}

fn is_pdf_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

/// Page count from the uncompressed page tree: the largest `/Count` of a `/Type /Pages` node
/// (the root's), else the number of `/Type /Page` leaves; 0 when neither is visible (the tree
/// sits in compressed object streams). A heuristic, for display only.
fn pdf_pages(b: &[u8]) -> u32 {
    let mut leaves: u32 = 0;
    let mut root_count: Option<u32> = None;
    let mut i = 0;
    while let Some(off) = find(&b[i..], b"/Type") {
        let mut j = i + off + 5;
        i = j;
        while j < b.len() && is_pdf_space(b[j]) {
            j += 1;
        }
        let rest = &b[j..];
        let name_end = |len: usize| rest.len() == len || is_pdf_delimiter(rest[len]);
        if rest.starts_with(b"/Pages") && name_end(6) {
            // The dictionary's /Count, within a small window around /Type.
            let lo = (i - 5).saturating_sub(512);
            let hi = (j + 512).min(b.len());
            if let Some(count) = dict_count(&b[lo..hi]) {
                root_count = Some(root_count.map_or(count, |c| c.max(count)));
            }
        } else if rest.starts_with(b"/Page") && name_end(5) {
            leaves = leaves.saturating_add(1);
        }
    }
    root_count.unwrap_or(leaves)
}

fn dict_count(window: &[u8]) -> Option<u32> {
    let off = find(window, b"/Count")?;
    let mut j = off + 6;
    while j < window.len() && is_pdf_space(window[j]) {
        j += 1;
    }
    let digits: Vec<u8> = window[j..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .take(9)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_is_by_content() {
        assert_eq!(DocumentKind::sniff(b"%PDF-1.7\n"), Some(DocumentKind::Pdf));
        assert_eq!(DocumentKind::sniff(b"<!DOCTYPE html>"), None);
        assert_eq!(DocumentKind::sniff(&[0xFF, 0xD8]), None);
        for k in [DocumentKind::Jpeg, DocumentKind::Png, DocumentKind::Pdf] {
            assert_eq!(DocumentKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn pdf_page_count_prefers_the_root_count() {
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj\n\
                    2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n3 0 obj << /Type/Page >> endobj\n\
                    4 0 obj << /Type /Outlines /Count 7 >> endobj\n%%EOF\n";
        assert_eq!(pdf_pages(pdf), 2);
        assert_eq!(
            pdf_pages(b"%PDF-1.5 /Type /Page /Type /Page /Type /Page"),
            3
        );
        assert_eq!(pdf_pages(b"%PDF-1.5 nothing visible"), 0);
    }

    #[test]
    fn messages_are_chinese_and_specific() {
        assert_eq!(
            DocumentError::UnknownType.message_zh(),
            "文件不是 JPG、PNG 或 PDF 格式"
        );
        assert!(DocumentError::TooLarge {
            limit: MAX_FILE_BYTES
        }
        .message_zh()
        .contains("10 MB"));
    }
}
