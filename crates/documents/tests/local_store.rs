//! `DocumentStore::local`: round trip, ciphertext at rest, tampering, moved blobs, wrong key.

mod common;

use common::contains;
use documents::{new_object_name, DocumentStore, StoreError};
use std::path::{Path, PathBuf};

const KEY: [u8; 32] = [0x42; 32];

fn plaintext() -> Vec<u8> {
    // Distinctive and long enough that no ciphertext window matches by chance.
    (0..20_000u32)
        .flat_map(|i| format!("出院记录 患者 {i};").into_bytes())
        .collect()
}

fn file_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[tokio::test]
async fn round_trip_and_ciphertext_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = DocumentStore::local(&dir.path().join("documents"), KEY).unwrap();
    let root = dir.path().join("documents");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&root).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let name = new_object_name();
    let data = plaintext();
    store.put(&name, &data).await.unwrap();
    assert_eq!(store.get(&name).await.unwrap(), data);

    let on_disk = std::fs::read(file_of(&root, &name)).unwrap();
    assert!(on_disk.starts_with(b"SWD1"));
    assert_eq!(on_disk.len(), data.len() + 4 + 12 + 16);
    assert!(!contains(&on_disk, &data[..64]), "plaintext on disk");
    assert!(!contains(&on_disk, "出院记录".as_bytes()));

    // Same plaintext again: a fresh nonce, so different bytes.
    let other = new_object_name();
    store.put(&other, &data).await.unwrap();
    let on_disk2 = std::fs::read(file_of(&root, &other)).unwrap();
    assert_ne!(on_disk[4..16], on_disk2[4..16], "nonce reused");

    // Empty documents round-trip too (thumbnails of nothing are never stored, but still).
    store.put("doc/empty", b"").await.unwrap();
    assert_eq!(store.get("doc/empty").await.unwrap(), b"");

    // Overwrite, delete, delete again, missing.
    store.put(&name, b"v2").await.unwrap();
    assert_eq!(store.get(&name).await.unwrap(), b"v2");
    store.delete(&name).await.unwrap();
    assert!(matches!(store.get(&name).await, Err(StoreError::NotFound)));
    store.delete(&name).await.unwrap();
    assert!(matches!(
        store.get("doc/never/was").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.put("../escape", b"x").await,
        Err(StoreError::BadName(_))
    ));
}

#[tokio::test]
async fn tampered_moved_or_foreign_blobs_fail_to_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let store = DocumentStore::local(&root, KEY).unwrap();
    let data = plaintext();
    store.put("doc/a", &data).await.unwrap();
    let blob = std::fs::read(file_of(&root, "doc/a")).unwrap();

    // One flipped bit anywhere: in the nonce, the ciphertext, the tag.
    for at in [5, 100, blob.len() - 1] {
        let mut bad = blob.clone();
        bad[at] ^= 0x01;
        std::fs::write(file_of(&root, "doc/t"), &bad).unwrap();
        assert!(
            matches!(store.get("doc/t").await, Err(StoreError::Decrypt)),
            "flip at {at}"
        );
    }
    // Truncated, and a file that is not ours at all.
    std::fs::write(file_of(&root, "doc/t"), &blob[..blob.len() / 2]).unwrap();
    assert!(matches!(store.get("doc/t").await, Err(StoreError::Decrypt)));
    std::fs::write(file_of(&root, "doc/t"), b"SWD1").unwrap();
    assert!(matches!(store.get("doc/t").await, Err(StoreError::Decrypt)));

    // A valid blob copied under another name (swapping two claims' documents) is refused.
    std::fs::write(file_of(&root, "doc/b"), &blob).unwrap();
    assert!(matches!(store.get("doc/b").await, Err(StoreError::Decrypt)));
    assert_eq!(store.get("doc/a").await.unwrap(), data);

    // Another key.
    let other = DocumentStore::local(&root, [0x43; 32]).unwrap();
    assert!(matches!(other.get("doc/a").await, Err(StoreError::Decrypt)));
}
