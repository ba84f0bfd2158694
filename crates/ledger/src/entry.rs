//! Journal entries: a set of postings that balance, built and checked before anything is stored.

use crate::accounts::Account;
use chrono::NaiveDate;
use domain::Fen;
use serde::{Deserialize, Serialize};

domain::coded_enum! {
    /// Why money moved. Stored with every posting so that reports never have to guess from memos.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum EntryKind {
        /// A household's enrolment: the personal part received, other payers' parts receivable.
        Enrolment => ("enrolment", "参保缴费"),
        /// A payer (collective, town, county, government) transferring what it owes.
        Remittance => ("remittance", "筹资到账"),
        /// The government reward earned by the final participation rate.
        Reward => ("reward", "政府奖补"),
        Donation => ("donation", "社会捐赠"),
        Interest => ("interest", "利息"),
        ServiceFee => ("service_fee", "服务费"),
        /// A decided subsidy (payable) or its payout to a bank card.
        Subsidy => ("subsidy", "互助金核定"),
        Payout => ("payout", "互助金发放"),
        Recovery => ("recovery", "违规追回"),
        /// The balance a fund brought with it when it moved to Shouwang.
        Opening => ("opening", "期初余额"),
        /// Year close: income and expenditure into the reserve.
        YearClose => ("year_close", "年度结转"),
        /// The exact negation of an earlier entry (clerical mistakes are reversed, never deleted).
        Reversal => ("reversal", "冲正"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("凭证没有分录")]
    Empty,
    #[error("分录金额不能为零（{0}）")]
    ZeroLine(String),
    #[error("借贷不平衡：借方合计与贷方合计相差 {0}")]
    Unbalanced(Fen),
    #[error("分录金额合计超出范围")]
    Overflow,
}

/// One line of an entry: positive amounts are debits, negative amounts credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub account: Account,
    pub amount: Fen,
}

/// A journal entry before it is stored. Build it with [`Entry::debit`] / [`Entry::credit`] and
/// call [`Entry::check`]; the store refuses entries that do not balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    pub effective_date: NaiveDate,
    pub memo: String,
    /// What the entry is about, e.g. `enrolment:42`, so reports can link back.
    pub reference: String,
    /// The entry number this one reverses, for [`EntryKind::Reversal`].
    pub reverses: Option<i64>,
    pub lines: Vec<Line>,
}

impl Entry {
    pub fn new(
        kind: EntryKind,
        effective_date: NaiveDate,
        memo: impl Into<String>,
        reference: impl Into<String>,
    ) -> Entry {
        Entry {
            kind,
            effective_date,
            memo: memo.into(),
            reference: reference.into(),
            reverses: None,
            lines: Vec::new(),
        }
    }

    /// Adds a debit line; zero amounts are skipped so callers can pass "whatever is due".
    pub fn debit(mut self, account: Account, amount: Fen) -> Entry {
        if amount.fen() != 0 {
            self.lines.push(Line { account, amount });
        }
        self
    }

    pub fn credit(mut self, account: Account, amount: Fen) -> Entry {
        if amount.fen() != 0 {
            self.lines.push(Line {
                account,
                amount: -amount,
            });
        }
        self
    }

    pub fn check(&self) -> Result<(), EntryError> {
        if self.lines.is_empty() {
            return Err(EntryError::Empty);
        }
        if let Some(l) = self.lines.iter().find(|l| l.amount.fen() == 0) {
            return Err(EntryError::ZeroLine(l.account.code()));
        }
        let sum =
            Fen::checked_sum(self.lines.iter().map(|l| l.amount)).ok_or(EntryError::Overflow)?;
        if sum.fen() != 0 {
            return Err(EntryError::Unbalanced(sum));
        }
        Ok(())
    }

    pub fn total_debits(&self) -> Fen {
        Fen(self
            .lines
            .iter()
            .map(|l| l.amount.fen())
            .filter(|a| *a > 0)
            .sum())
    }

    /// The entry that undoes `original` (entry number `number`): same accounts, amounts negated.
    pub fn reversal_of(
        original_lines: &[Line],
        number: i64,
        effective_date: NaiveDate,
        why: &str,
    ) -> Entry {
        Entry {
            kind: EntryKind::Reversal,
            effective_date,
            memo: format!("冲正第 {number} 号凭证：{why}"),
            reference: format!("entry:{number}"),
            reverses: Some(number),
            lines: original_lines
                .iter()
                .map(|l| Line {
                    account: l.account,
                    amount: -l.amount,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scheme::Payer;

    /// The codes and labels as they were written by hand before the macro: the codes are stored
    /// with every posting, so they must not move.
    #[test]
    fn entry_kind_codes_labels_and_order_are_unchanged() {
        let expected = [
            (EntryKind::Enrolment, "enrolment", "参保缴费"),
            (EntryKind::Remittance, "remittance", "筹资到账"),
            (EntryKind::Reward, "reward", "政府奖补"),
            (EntryKind::Donation, "donation", "社会捐赠"),
            (EntryKind::Interest, "interest", "利息"),
            (EntryKind::ServiceFee, "service_fee", "服务费"),
            (EntryKind::Subsidy, "subsidy", "互助金核定"),
            (EntryKind::Payout, "payout", "互助金发放"),
            (EntryKind::Recovery, "recovery", "违规追回"),
            (EntryKind::Opening, "opening", "期初余额"),
            (EntryKind::YearClose, "year_close", "年度结转"),
            (EntryKind::Reversal, "reversal", "冲正"),
        ];
        assert_eq!(EntryKind::ALL, expected.map(|(k, _, _)| k));
        for (kind, code, label) in expected {
            assert_eq!(kind.code(), code);
            assert_eq!(kind.label_zh(), label);
            assert_eq!(EntryKind::from_code(code), Some(kind));
        }
        assert_eq!(EntryKind::from_code("ServiceFee"), None);
    }

    fn d() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()
    }

    #[test]
    fn an_enrolment_entry_balances() {
        let e = Entry::new(EntryKind::Enrolment, d(), "张三户", "enrolment:1")
            .debit(Account::FundBank, Fen(12_000))
            .debit(Account::Receivable(Payer::Town), Fen(6_000))
            .credit(Account::Contributions(Payer::Personal), Fen(12_000))
            .credit(Account::Contributions(Payer::Town), Fen(6_000));
        assert_eq!(e.check(), Ok(()));
        assert_eq!(e.total_debits(), Fen(18_000));
    }

    #[test]
    fn unbalanced_and_empty_entries_are_refused() {
        let e = Entry::new(EntryKind::Donation, d(), "", "")
            .debit(Account::FundBank, Fen(100))
            .credit(Account::Contributions(Payer::Charity), Fen(99));
        assert_eq!(e.check(), Err(EntryError::Unbalanced(Fen(1))));
        let empty = Entry::new(EntryKind::Donation, d(), "", "").debit(Account::FundBank, Fen(0));
        assert_eq!(empty.check(), Err(EntryError::Empty));
    }

    #[test]
    fn a_reversal_cancels_the_original() {
        let e = Entry::new(EntryKind::Interest, d(), "", "")
            .debit(Account::FundBank, Fen(555))
            .credit(Account::Interest, Fen(555));
        let r = Entry::reversal_of(&e.lines, 7, d(), "录入错误");
        assert_eq!(r.check(), Ok(()));
        for (a, b) in e.lines.iter().zip(&r.lines) {
            assert_eq!(a.account, b.account);
            assert_eq!(a.amount.fen(), -b.amount.fen());
        }
        assert_eq!(r.reverses, Some(7));
    }

    #[test]
    fn every_kind_code_round_trips() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::from_code(k.code()), Some(k));
        }
    }
}
