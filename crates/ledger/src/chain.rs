//! The posting hash chain.
//!
//! Each stored posting carries the hash of the one before it in its pool and its own hash over
//! every stored field. Changing any byte of any posting, deleting one, inserting one or
//! reordering them breaks the chain from that point on, and [`Verifier`] names the first broken
//! posting.
//!
//! The hashes are keyed (HMAC-SHA256 with a [`ChainKey`] that lives with the installation's
//! key, never in the database): whoever holds only the database cannot change an amount and
//! recompute every later hash and the head, because they cannot compute a single valid hash.
//! The chain head (the last hash) is printed on every public notice as well, so that whoever
//! keeps an old notice can check that the ledger still contains the history it summarised,
//! even against someone who holds the key too.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The secret the chain's hashes are keyed with. Derived from the installation's master key by
/// the application; 32 bytes.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    pub fn new(bytes: [u8; 32]) -> ChainKey {
        ChainKey(bytes)
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

/// The `prev_hash` of a pool's first posting.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A posting exactly as stored: every column, so that every column is covered by the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPosting {
    /// Position in the pool's chain, from 1 without gaps.
    pub seq: i64,
    pub pool_code: String,
    pub entry_no: i64,
    pub line_no: i64,
    pub year_id: i64,
    pub kind: String,
    pub effective_date: String,
    pub recorded_at: String,
    pub recorded_by: String,
    pub account: String,
    pub amount_fen: i64,
    pub memo: String,
    pub reference: String,
    /// 0 when the entry reverses nothing.
    pub reverses_entry: i64,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredPosting {
    /// The hash this posting must carry given its fields and `prev_hash`.
    ///
    /// Fields are length-prefixed so that no two different postings share an encoding (moving a
    /// character from the memo to the reference changes the hash).
    pub fn compute_hash(&self, key: &ChainKey) -> String {
        let mut h = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC takes any key");
        h.update(b"shouwang-ledger-v2");
        let mut field = |bytes: &[u8]| {
            h.update(&(bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        field(self.prev_hash.as_bytes());
        field(&self.seq.to_be_bytes());
        field(self.pool_code.as_bytes());
        field(&self.entry_no.to_be_bytes());
        field(&self.line_no.to_be_bytes());
        field(&self.year_id.to_be_bytes());
        field(self.kind.as_bytes());
        field(self.effective_date.as_bytes());
        field(self.recorded_at.as_bytes());
        field(self.recorded_by.as_bytes());
        field(self.account.as_bytes());
        field(&self.amount_fen.to_be_bytes());
        field(self.memo.as_bytes());
        field(self.reference.as_bytes());
        field(&self.reverses_entry.to_be_bytes());
        hex::encode(h.finalize().into_bytes())
    }

    /// Fills in `prev_hash` and `hash`; what the store calls just before inserting.
    pub fn seal(&mut self, prev_hash: &str, key: &ChainKey) {
        self.prev_hash = prev_hash.to_string();
        self.hash = self.compute_hash(key);
    }
}

/// Where and why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pool {pool_code}: first broken posting is seq {seq}: {reason}")]
pub struct Break {
    pub pool_code: String,
    pub seq: i64,
    pub reason: BreakReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakReason {
    #[error("posting seq {expected} is missing or out of order")]
    Gap { expected: i64 },
    #[error("prev_hash does not match the hash of the posting before it")]
    PrevHash,
    #[error("the stored hash does not match the posting's contents (the posting was changed)")]
    Hash,
    #[error("entry {entry_no} does not balance (sum {sum} fen)")]
    Unbalanced { entry_no: i64, sum: i64 },
    #[error("account code {0:?} is not in the chart of accounts")]
    UnknownAccount(String),
    #[error("the pool's recorded chain head {recorded} does not match the last posting {actual}")]
    Head { recorded: String, actual: String },
    #[error("the posting belongs to pool {0}")]
    WrongPool(String),
    /// A money-bearing row kept beside the chain (an enrolment's total, a donation's donor and
    /// amount) disagrees with the ledger entry it cites.
    #[error("{table} record {id} disagrees with its ledger entry {entry_no}")]
    RecordDisagrees {
        table: &'static str,
        id: i64,
        entry_no: i64,
    },
}

/// What an intact chain proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub pool_code: String,
    pub postings: i64,
    pub entries: i64,
    pub head: String,
}

/// Checks one pool's postings, fed in `seq` order, without holding them in memory.
pub struct Verifier {
    key: ChainKey,
    pool_code: String,
    expected_seq: i64,
    prev_hash: String,
    entry: Option<(i64, i64, i64)>, // (entry_no, first seq, running sum)
    entries: i64,
}

impl Verifier {
    pub fn new(pool_code: &str, key: &ChainKey) -> Verifier {
        Verifier {
            key: key.clone(),
            pool_code: pool_code.to_string(),
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            entry: None,
            entries: 0,
        }
    }

    fn broken(&self, seq: i64, reason: BreakReason) -> Break {
        Break {
            pool_code: self.pool_code.clone(),
            seq,
            reason,
        }
    }

    pub fn push(&mut self, p: &StoredPosting) -> Result<(), Break> {
        if p.pool_code != self.pool_code {
            return Err(self.broken(p.seq, BreakReason::WrongPool(p.pool_code.clone())));
        }
        if p.seq != self.expected_seq {
            return Err(self.broken(
                self.expected_seq,
                BreakReason::Gap {
                    expected: self.expected_seq,
                },
            ));
        }
        if p.prev_hash != self.prev_hash {
            return Err(self.broken(p.seq, BreakReason::PrevHash));
        }
        if p.compute_hash(&self.key) != p.hash {
            return Err(self.broken(p.seq, BreakReason::Hash));
        }
        if crate::Account::parse(&p.account).is_none() {
            return Err(self.broken(p.seq, BreakReason::UnknownAccount(p.account.clone())));
        }
        match self.entry {
            Some((no, first, sum)) if no == p.entry_no => {
                // Amounts near i64::MAX can only come from tampering: a break, not a wrap.
                let Some(sum) = sum.checked_add(p.amount_fen) else {
                    let reason = BreakReason::Unbalanced { entry_no: no, sum };
                    return Err(self.broken(first, reason));
                };
                self.entry = Some((no, first, sum));
            }
            _ => {
                self.close_entry()?;
                self.entry = Some((p.entry_no, p.seq, p.amount_fen));
                self.entries += 1;
            }
        }
        self.expected_seq += 1;
        self.prev_hash.clone_from(&p.hash);
        Ok(())
    }

    fn close_entry(&mut self) -> Result<(), Break> {
        if let Some((no, first, sum)) = self.entry.take() {
            if sum != 0 {
                return Err(self.broken(first, BreakReason::Unbalanced { entry_no: no, sum }));
            }
        }
        Ok(())
    }

    /// Ends the check; `recorded_head` is the head the pool's head row says it has (None when
    /// the pool has no head row, i.e. no postings were ever made).
    pub fn finish(mut self, recorded_head: Option<&str>) -> Result<Verified, Break> {
        self.close_entry()?;
        let actual = self.prev_hash.clone();
        let recorded = recorded_head.unwrap_or(GENESIS);
        if recorded != actual {
            return Err(self.broken(
                self.expected_seq - 1,
                BreakReason::Head {
                    recorded: recorded.to_string(),
                    actual,
                },
            ));
        }
        Ok(Verified {
            pool_code: self.pool_code,
            postings: self.expected_seq - 1,
            entries: self.entries,
            head: actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> ChainKey {
        ChainKey::new([7; 32])
    }

    fn chain(n: usize) -> Vec<StoredPosting> {
        let mut out: Vec<StoredPosting> = Vec::new();
        let mut prev = GENESIS.to_string();
        for i in 0..n {
            // Entries of two lines: +a / −a.
            let entry_no = (i / 2 + 1) as i64;
            let amount = ((i / 2) as i64 * 137 + 100) * if i % 2 == 0 { 1 } else { -1 };
            let mut p = StoredPosting {
                seq: i as i64 + 1,
                pool_code: "370323104".into(),
                entry_no,
                line_no: (i % 2) as i64 + 1,
                year_id: 1,
                kind: "donation".into(),
                effective_date: "2024-01-05".into(),
                recorded_at: "2024-01-05T08:00:00.000Z".into(),
                recorded_by: "town".into(),
                account: if i % 2 == 0 { "1001" } else { "4001.charity" }.into(),
                amount_fen: amount,
                memo: format!("捐赠 {i}"),
                reference: String::new(),
                reverses_entry: 0,
                prev_hash: String::new(),
                hash: String::new(),
            };
            p.seal(&prev, &key());
            prev = p.hash.clone();
            out.push(p);
        }
        out
    }

    fn verify(ps: &[StoredPosting], head: Option<&str>) -> Result<Verified, Break> {
        let mut v = Verifier::new("370323104", &key());
        for p in ps {
            v.push(p)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let ps = chain(10);
        let head = ps.last().unwrap().hash.clone();
        let ok = verify(&ps, Some(&head)).unwrap();
        assert_eq!((ok.postings, ok.entries), (10, 5));
        assert_eq!(ok.head, head);
        assert!(verify(&[], None).is_ok());
    }

    #[test]
    fn deleting_the_last_posting_is_caught_by_the_head() {
        let ps = chain(10);
        let head = ps.last().unwrap().hash.clone();
        let err = verify(&ps[..8], Some(&head)).unwrap_err();
        assert!(matches!(err.reason, BreakReason::Head { .. }));
    }

    #[test]
    fn a_consistently_rewritten_chain_is_caught_by_a_published_head() {
        let mut ps = chain(6);
        let published = ps.last().unwrap().hash.clone();
        ps[2].amount_fen += 100;
        ps[3].amount_fen -= 100;
        let mut prev = GENESIS.to_string();
        for p in ps.iter_mut() {
            p.seal(&prev, &key());
            prev = p.hash.clone();
        }
        // Internally consistent again (possible only with the key), but no longer the chain
        // the notice published.
        let v = verify(&ps, Some(&prev)).unwrap();
        assert_ne!(v.head, published);
    }

    /// Someone holding the database but not the key changes an amount and recomputes every
    /// later hash and the head, with any key they can guess: the first changed posting fails.
    #[test]
    fn a_rewrite_without_the_key_is_caught_at_the_first_changed_posting() {
        let mut ps = chain(6);
        ps[2].amount_fen += 100;
        ps[3].amount_fen -= 100;
        let forged_key = ChainKey::new([0; 32]);
        let mut prev = ps[1].hash.clone();
        for p in ps[2..].iter_mut() {
            p.seal(&prev, &forged_key);
            prev = p.hash.clone();
        }
        let err = verify(&ps, Some(&prev)).unwrap_err();
        assert_eq!((err.seq, err.reason), (3, BreakReason::Hash));
    }

    proptest! {
        /// Any single changed byte in any field of any posting is detected, at that posting.
        #[test]
        fn any_changed_byte_is_detected(index in 0usize..12, field in 0usize..16, byte in 0usize..64, delta in 1u8..=255) {
            let mut ps = chain(12);
            let head = ps.last().unwrap().hash.clone();
            let p = &mut ps[index];
            let flip_str = |s: &mut String| {
                let mut b = std::mem::take(s).into_bytes();
                if b.is_empty() { b.push(delta); } else { let i = byte % b.len(); b[i] = b[i].wrapping_add(delta); }
                *s = String::from_utf8_lossy(&b).into_owned();
            };
            let flip_int = |x: &mut i64| *x ^= 1i64 << (byte % 63);
            match field {
                0 => flip_int(&mut p.seq),
                1 => flip_str(&mut p.pool_code),
                2 => flip_int(&mut p.entry_no),
                3 => flip_int(&mut p.line_no),
                4 => flip_int(&mut p.year_id),
                5 => flip_str(&mut p.kind),
                6 => flip_str(&mut p.effective_date),
                7 => flip_str(&mut p.recorded_at),
                8 => flip_str(&mut p.recorded_by),
                9 => flip_str(&mut p.account),
                10 => flip_int(&mut p.amount_fen),
                11 => flip_str(&mut p.memo),
                12 => flip_str(&mut p.reference),
                13 => flip_int(&mut p.reverses_entry),
                14 => flip_str(&mut p.prev_hash),
                _ => flip_str(&mut p.hash),
            }
            let err = verify(&ps, Some(&head)).unwrap_err();
            prop_assert_eq!(err.seq, index as i64 + 1, "{}", err);
        }
    }
}
