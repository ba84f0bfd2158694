//! Claim documents: photos and PDFs of 出院记录, 住院费用清单 and 医保结算单.
//!
//! Two halves, used one after the other by the caller:
//!
//! - [`prepare`] (CPU-bound, pure: run it in `spawn_blocking`) checks an upload by its content
//!   (JPEG, PNG or PDF; images must decode), refuses oversized files and decompression bombs
//!   before decoding, re-encodes images with their EXIF orientation applied to the pixels (so
//!   GPS position, camera serials and every other metadata segment are gone while the photo
//!   still stands the right way up), makes a JPEG thumbnail for the workbench and hashes the
//!   original bytes (SHA-256, hex) for duplicate detection.
//! - [`DocumentStore`] keeps the cleaned bytes (and thumbnails) AES-256-GCM encrypted in a blob
//!   store: a local directory beside the database, or S3-compatible object storage for
//!   deployments with several app servers. Each object has its own random 96-bit nonce and is
//!   bound to its name as associated data, so blobs cannot be swapped or copied under another
//!   name.
//!
//! Documents are sensitive personal information (PIPL): object names are random
//! ([`new_object_name`]) and never carry personal data.

mod prepare;
mod store;

pub use prepare::{
    prepare, DocumentError, DocumentKind, Prepared, MAX_CLAIM_BYTES, MAX_FILE_BYTES,
    MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, THUMBNAIL_WIDTH,
};
pub use store::{new_object_name, DocumentStore, S3Config, StoreError};
