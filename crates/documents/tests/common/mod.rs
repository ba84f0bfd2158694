//! Test fixtures built in code: JPEG and PNG with EXIF (orientation 6, GPS, a description),
//! a small PDF.

#![allow(dead_code)]

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, Rgb, RgbImage};

/// The marker put in the EXIF description and PNG text; must not survive cleaning.
pub const SECRET: &[u8] = b"SECRET-LOCATION-36.07N";
/// The GPS latitude rationals as stored (36/1, 7/1, 4321/100), big-endian.
pub const GPS_LAT: [u8; 24] = [
    0, 0, 0, 36, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0x10, 0xE1, 0, 0, 0, 100,
];

/// A landscape picture, left half red and right half blue.
pub fn red_blue(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    })
}

pub fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img.clone())
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))
        .unwrap();
    out
}

pub fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_with_encoder(PngEncoder::new(&mut out)).unwrap();
    out
}

/// A big-endian TIFF block: IFD0 with ImageDescription, Orientation and a GPS IFD pointer;
/// the GPS IFD with latitude ref and latitude.
pub fn tiff_exif(orientation: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"MM\0\x2a");
    t.extend_from_slice(&8u32.to_be_bytes());
    let desc_len = SECRET.len() as u32 + 1;
    let ifd0_end = 8 + 2 + 3 * 12 + 4;
    let desc_off = ifd0_end;
    let gps_off = desc_off + desc_len;
    let lat_off = gps_off + 2 + 2 * 12 + 4;
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&typ.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&3u16.to_be_bytes());
    entry(&mut t, 0x010E, 2, desc_len, desc_off.to_be_bytes());
    let o = orientation.to_be_bytes();
    entry(&mut t, 0x0112, 3, 1, [o[0], o[1], 0, 0]);
    entry(&mut t, 0x8825, 4, 1, gps_off.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len() as u32, desc_off);
    t.extend_from_slice(SECRET);
    t.push(0);
    assert_eq!(t.len() as u32, gps_off);
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, lat_off.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len() as u32, lat_off);
    t.extend_from_slice(&GPS_LAT);
    t
}

/// The JPEG with an APP1 Exif segment spliced in right after SOI.
pub fn jpeg_with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let tiff = tiff_exif(orientation);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    [&jpeg[..2], &app1[..], &jpeg[2..]].concat()
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(&(data.len() as u32).to_be_bytes());
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc32(&[&kind[..], data].concat()).to_be_bytes());
    c
}

/// The PNG with tEXt and eXIf chunks spliced in after IHDR (before IDAT, as the spec wants).
pub fn png_with_metadata(png: &[u8], orientation: u16) -> Vec<u8> {
    let after_ihdr = 8 + 25;
    assert_eq!(&png[12..16], b"IHDR");
    let text = png_chunk(b"tEXt", &[&b"Comment\0"[..], SECRET].concat());
    let exif = png_chunk(b"eXIf", &tiff_exif(orientation));
    [&png[..after_ihdr], &text[..], &exif[..], &png[after_ihdr..]].concat()
}

/// A PNG header declaring `w`×`h` pixels, with a token IDAT: a decompression bomb's shape.
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    [
        &b"\x89PNG\r\n\x1a\n"[..],
        &png_chunk(b"IHDR", &ihdr),
        &png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        &png_chunk(b"IEND", &[]),
    ]
    .concat()
}

/// A three-page PDF (uncompressed page tree).
pub fn pdf_three_pages() -> Vec<u8> {
    let mut s = String::from("%PDF-1.4\n%\u{e2}\u{e3}\n");
    s.push_str("1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
    s.push_str("2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >> endobj\n");
    for n in 3..=5 {
        s.push_str(&format!(
            "{n} 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
        ));
    }
    s.push_str("trailer << /Root 1 0 R >>\n%%EOF\n");
    s.into_bytes()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
