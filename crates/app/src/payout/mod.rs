//! The monthly payout (每月发放): batch, public notice and objections, four-eyes approval with
//! its ledger postings, the bank's file, the bank's results, and recovery of subsidies obtained
//! by fraud. Money moves only here and only in transactions that either complete or leave
//! nothing behind; see `batch` for why every posting happens exactly once.
//!
//! Files: `cards` (members' bank cards), `batch` (gathering, approval, postings), `file` (the
//! bank's batch file), `results` (paid and failed lines), `objections` (the public's objections
//! to a notice), `recovery` (追回).

mod batch;
mod cards;
mod file;
mod objections;
mod recovery;
mod results;

pub use batch::BatchPreview;
pub use cards::{CardInput, CardView};
pub use file::BankFile;
pub use objections::{NoticeLine, NoticeSelect, NoticeView, ObjectionInput, PoolNotices};
pub use recovery::RecoveryView;
pub use results::{LineOutcome, ResultsSummary};

use chrono::NaiveDate;
use domain::{BatchStatus, Fen, LineState, ObjectionStatus};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Lines a batch page shows at a time.
pub const LINES_PER_PAGE: i64 = 200;

/// A batch as its page shows it.
#[derive(Debug, Clone)]
pub struct BatchView {
    pub batch: store::payout::Batch,
    pub year_label: String,
    /// One page of the lines in the viewer's area (`page`, from 0; `pages` in all).
    pub lines: Vec<store::payout::Line>,
    pub page: u32,
    pub pages: u32,
    pub villages: Vec<VillageLines>,
    pub objections: Vec<store::payout::Objection>,
    pub open_objections: usize,
    /// Live lines (pending or paid) and their money: what the batch pays.
    pub count: usize,
    pub total: Fen,
    /// The first day it may be approved.
    pub approvable_from: NaiveDate,
    pub notice_running: bool,
}

/// One village's lines of a batch by state.
#[derive(Debug, Clone, Default)]
pub struct VillageLines {
    pub village_code: String,
    pub village_name: String,
    pub pending: (i64, Fen),
    pub paid: (i64, Fen),
    pub failed: (i64, Fen),
    pub removed: (i64, Fen),
}

impl BatchView {
    fn new(
        batch: store::payout::Batch,
        lines: Vec<store::payout::Line>,
        totals: Vec<store::payout::VillageTotal>,
        objections: Vec<store::payout::Objection>,
        year_label: String,
        today: NaiveDate,
    ) -> BatchView {
        let mut villages: Vec<VillageLines> = Vec::new();
        for t in totals {
            if villages
                .last()
                .is_none_or(|v| v.village_code != t.village_code)
            {
                villages.push(VillageLines {
                    village_code: t.village_code.clone(),
                    village_name: t.village_name.clone(),
                    ..Default::default()
                });
            }
            let v = villages.last_mut().expect("pushed");
            let slot = match t.state {
                LineState::Pending => &mut v.pending,
                LineState::Paid => &mut v.paid,
                LineState::Failed => &mut v.failed,
                LineState::Removed => &mut v.removed,
            };
            *slot = (t.lines, t.total);
        }
        // What the batch pays: its live lines (pending or paid), from the village totals.
        let count: i64 = villages.iter().map(|v| v.pending.0 + v.paid.0).sum();
        let total = Fen::checked_sum(villages.iter().flat_map(|v| [v.pending.1, v.paid.1]))
            .unwrap_or(Fen(0));
        let all: i64 = villages
            .iter()
            .map(|v| v.pending.0 + v.paid.0 + v.failed.0 + v.removed.0)
            .sum();
        let approvable_from = batch.notice_end.succ_opt().unwrap_or(batch.notice_end);
        BatchView {
            open_objections: objections
                .iter()
                .filter(|o| o.status == ObjectionStatus::Open)
                .count(),
            count: usize::try_from(count).unwrap_or(0),
            total,
            page: 0,
            pages: u32::try_from((all + LINES_PER_PAGE - 1) / LINES_PER_PAGE)
                .unwrap_or(1)
                .max(1),
            approvable_from,
            notice_running: batch.status == BatchStatus::Noticed && today <= batch.notice_end,
            batch,
            year_label,
            lines,
            villages,
            objections,
        }
    }
}

/// Places in the payout's transactions where a test can make the next step fail, as a crash
/// there would: the crash tests (`tests/payout_crash.rs`) arm one at random and check that the
/// retried operation completes with nothing lost and nothing paid twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    BatchCreate,
    BatchLines,
    ApproveTransition,
    ApprovePosted,
    ApproveCommit,
    FileRender,
    ResultLine,
    ResultsCommit,
}

/// A countdown shared by the clones of one `App`: armed with `n`, the `n`-th failure point
/// reached fails. Unarmed (the default, and always outside tests) it does nothing.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<AtomicI64>);

impl Faults {
    /// Fails the `n`-th failure point reached from now (1 = the next one).
    pub fn arm(&self, n: i64) {
        self.0.store(n, Ordering::SeqCst);
    }
    pub fn disarm(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
    /// Whether the armed failure has not fired yet.
    pub fn armed(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
    fn hit(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > 0).then(|| n - 1)
            })
            .is_ok_and(|before| before == 1)
    }
}

impl crate::App {
    /// Fails here if a test armed this failure point's turn.
    pub(crate) fn fail_at(&self, point: FailPoint) -> crate::AppResult<()> {
        if self.faults().hit() {
            return Err(crate::AppError::Internal(anyhow::anyhow!(
                "injected failure at {point:?}"
            )));
        }
        Ok(())
    }
}
