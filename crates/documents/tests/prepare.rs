//! `prepare`: type by content, limits, EXIF stripped with orientation kept, thumbnails, hashes.

mod common;

use common::*;
use documents::{prepare, DocumentError, DocumentKind, MAX_FILE_BYTES};
use image::{DynamicImage, GenericImageView, ImageFormat, Rgba, RgbaImage};
use sha2::{Digest, Sha256};

fn hex_sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_reddish(p: Rgba<u8>) -> bool {
    p[0] > 150 && p[2] < 100
}

fn is_bluish(p: Rgba<u8>) -> bool {
    p[2] > 150 && p[0] < 100
}

/// Orientation 6 (rotate 90° clockwise to display): the 64×32 landscape with red left half
/// becomes a 32×64 portrait with red on top.
fn assert_rotated_upright(img: &DynamicImage) {
    assert_eq!(img.dimensions(), (32, 64));
    assert!(
        is_reddish(img.get_pixel(16, 8)),
        "{:?}",
        img.get_pixel(16, 8)
    );
    assert!(
        is_bluish(img.get_pixel(16, 56)),
        "{:?}",
        img.get_pixel(16, 56)
    );
}

#[test]
fn jpeg_with_exif_gps_is_stripped_and_turned_upright() {
    let upload = jpeg_with_exif(&jpeg(&red_blue(64, 32)), 6);
    // The fixture really carries what the cleaning must remove.
    assert!(contains(&upload, b"Exif\0\0") && contains(&upload, SECRET));
    assert!(contains(&upload, &GPS_LAT));
    // And image itself reads the orientation from it.
    let original = image::load_from_memory_with_format(&upload, ImageFormat::Jpeg).unwrap();
    assert_eq!(original.dimensions(), (64, 32));

    let p = prepare(&upload).unwrap();
    assert_eq!(p.kind, DocumentKind::Jpeg);
    assert_eq!((p.width, p.height), (Some(32), Some(64)));
    assert_eq!(p.pages, 1);
    assert_eq!(p.sha256, hex_sha256(&upload), "hash of the ORIGINAL upload");
    for needle in [&b"Exif"[..], SECRET, &GPS_LAT, b"MM\0\x2a", b"II\x2a\0"] {
        assert!(
            !contains(&p.bytes, needle),
            "{needle:?} left in the cleaned JPEG"
        );
    }
    assert!(!p.bytes.windows(2).any(|w| w == [0xFF, 0xE1]), "APP1 left");
    let cleaned = image::load_from_memory_with_format(&p.bytes, ImageFormat::Jpeg).unwrap();
    assert_rotated_upright(&cleaned);

    let thumb = p.thumbnail.expect("images have thumbnails");
    let t = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg).unwrap();
    assert_eq!(t.dimensions(), (32, 64), "small images are not enlarged");
    assert!(is_reddish(t.get_pixel(16, 8)));
}

#[test]
fn an_upright_jpeg_is_cleaned_without_re_encoding() {
    let plain = jpeg(&red_blue(64, 32));
    let mut upload = jpeg_with_exif(&plain, 1);
    upload.extend_from_slice(b"trailing data after the image");
    assert!(contains(&upload, &GPS_LAT) && contains(&upload, SECRET));
    let p = prepare(&upload).unwrap();
    for needle in [&b"Exif"[..], SECRET, &GPS_LAT, b"trailing data"] {
        assert!(
            !contains(&p.bytes, needle),
            "{needle:?} left in the cleaned JPEG"
        );
    }
    assert!(!p.bytes.windows(2).any(|w| w == [0xFF, 0xE1]), "APP1 left");
    // Lossless: the same pixels as the photo without its metadata, byte for byte the same scan.
    let before = image::load_from_memory_with_format(&plain, ImageFormat::Jpeg).unwrap();
    let after = image::load_from_memory_with_format(&p.bytes, ImageFormat::Jpeg).unwrap();
    assert_eq!(before.to_rgb8(), after.to_rgb8());
    assert!(
        p.bytes.len() <= plain.len() + 32,
        "{} vs {}",
        p.bytes.len(),
        plain.len()
    );
    assert_eq!((p.width, p.height), (Some(64), Some(32)));
    assert!(p.thumbnail.is_some());
}

#[test]
fn png_text_and_exif_chunks_are_removed_and_orientation_applied() {
    let upload = png_with_metadata(&png(&DynamicImage::ImageRgb8(red_blue(64, 32))), 6);
    assert!(contains(&upload, b"tEXt") && contains(&upload, b"eXIf"));
    let p = prepare(&upload).unwrap();
    assert_eq!(p.kind, DocumentKind::Png);
    assert_eq!(p.sha256, hex_sha256(&upload));
    for needle in [&b"tEXt"[..], b"eXIf", b"iTXt", b"zTXt", SECRET, &GPS_LAT] {
        assert!(
            !contains(&p.bytes, needle),
            "{needle:?} left in the cleaned PNG"
        );
    }
    let cleaned = image::load_from_memory_with_format(&p.bytes, ImageFormat::Png).unwrap();
    assert_rotated_upright(&cleaned);
    // PNG stays lossless: exact colours.
    assert_eq!(cleaned.get_pixel(16, 8), Rgba([220, 20, 20, 255]));
}

#[test]
fn thumbnails_are_jpegs_at_most_320_wide() {
    let big = jpeg(&red_blue(1600, 1000));
    let p = prepare(&big).unwrap();
    let t = image::load_from_memory_with_format(&p.thumbnail.unwrap(), ImageFormat::Jpeg).unwrap();
    assert_eq!(t.width(), 320);
    assert_eq!(t.height(), 200);

    // A long receipt: height capped too, width stays within 320.
    let tall = jpeg(&red_blue(400, 8000));
    let t = prepare(&tall).unwrap().thumbnail.unwrap();
    let t = image::load_from_memory(&t).unwrap();
    assert!(
        t.width() <= 320 && t.height() <= 960,
        "{:?}",
        t.dimensions()
    );

    // A transparent PNG is flattened over white.
    let clear = DynamicImage::ImageRgba8(RgbaImage::from_pixel(500, 100, Rgba([0, 0, 0, 0])));
    let p = prepare(&png(&clear)).unwrap();
    let t = image::load_from_memory(&p.thumbnail.unwrap()).unwrap();
    assert_eq!(t.width(), 320);
    let px = t.get_pixel(10, 10);
    assert!(px[0] > 240 && px[1] > 240 && px[2] > 240, "{px:?}");
}

#[test]
fn pdf_passes_unchanged_with_pages_counted() {
    let pdf = pdf_three_pages();
    let p = prepare(&pdf).unwrap();
    assert_eq!(p.kind, DocumentKind::Pdf);
    assert_eq!(p.kind.mime(), "application/pdf");
    assert_eq!(p.kind.extension(), "pdf");
    assert_eq!(p.bytes, pdf);
    assert_eq!(p.pages, 3);
    assert!(p.thumbnail.is_none());
    assert_eq!((p.width, p.height), (None, None));
    assert_eq!(p.sha256, hex_sha256(&pdf));
}

#[test]
fn refusals_name_the_reason() {
    assert_eq!(prepare(b"").unwrap_err(), DocumentError::Empty);

    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    assert_eq!(prepare(&random).unwrap_err(), DocumentError::UnknownType);

    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    let e = prepare(html).unwrap_err();
    assert_eq!(e, DocumentError::UnknownType, "an HTML file renamed .jpg");
    assert_eq!(e.message_zh(), "文件不是 JPG、PNG 或 PDF 格式");

    let photo = jpeg_with_exif(&jpeg(&red_blue(640, 480)), 1);
    let e = prepare(&photo[..photo.len() / 2]).unwrap_err();
    assert_eq!(e, DocumentError::Corrupt, "a truncated JPEG");
    assert!(e.message_zh().contains("损坏"));
    // Cut just before EOI: every scan there but the end.
    assert_eq!(
        prepare(&photo[..photo.len() - 2]).unwrap_err(),
        DocumentError::Corrupt
    );

    let png_ok = png(&DynamicImage::ImageRgb8(red_blue(200, 100)));
    assert_eq!(
        prepare(&png_ok[..png_ok.len() / 2]).unwrap_err(),
        DocumentError::Corrupt,
        "a truncated PNG"
    );

    let pdf = pdf_three_pages();
    assert_eq!(
        prepare(&pdf[..pdf.len() - 10]).unwrap_err(),
        DocumentError::Corrupt,
        "a PDF without %%EOF"
    );

    let mut big = jpeg(&red_blue(64, 32));
    big.resize(MAX_FILE_BYTES + 1, 0);
    let e = prepare(&big).unwrap_err();
    assert_eq!(
        e,
        DocumentError::TooLarge {
            limit: MAX_FILE_BYTES
        }
    );
    assert!(e.message_zh().contains("10 MB"));
}

#[test]
fn decompression_bombs_are_refused_before_decoding() {
    let t = std::time::Instant::now();
    for (w, h) in [(100_000, 100_000), (12_001, 10), (10_000, 9_000)] {
        let e = prepare(&png_header_only(w, h)).unwrap_err();
        assert_eq!(e, DocumentError::TooManyPixels, "{w}×{h}");
    }
    assert!(DocumentError::TooManyPixels.message_zh().contains("过大"));

    // A JPEG whose frame header claims 60000×60000.
    let mut j = jpeg(&red_blue(64, 32));
    let sof = j
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF0");
    j[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    assert_eq!(prepare(&j).unwrap_err(), DocumentError::TooManyPixels);
    assert!(t.elapsed().as_millis() < 2000, "nothing was decoded");
}

/// Measurement, not a check: `cargo test -p documents --test prepare -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_of_a_12_megapixel_photo() {
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 7;
        image::Rgb([
            (x / 16) as u8 ^ (v & 15) as u8,
            (y / 12) as u8,
            128 + (v & 7) as u8,
        ])
    });
    let plain = jpeg(&img);
    // Orientation 6 (held sideways: rotated and re-encoded), 1 (upright: metadata cut out).
    for orientation in [6, 1] {
        let upload = jpeg_with_exif(&plain, orientation);
        let t = std::time::Instant::now();
        let p = prepare(&upload).unwrap();
        println!(
            "12 MP JPEG, orientation {orientation}, {} KB in: prepare {:?}, cleaned {} KB, \
             thumbnail {} KB, {}x{}",
            upload.len() / 1024,
            t.elapsed(),
            p.bytes.len() / 1024,
            p.thumbnail.as_ref().unwrap().len() / 1024,
            p.width.unwrap(),
            p.height.unwrap()
        );
    }
}
