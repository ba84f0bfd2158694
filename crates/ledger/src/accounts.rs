//! The fund's chart of accounts.
//!
//! Numbered like a Chinese government-fund chart (1xxx assets, 2xxx liabilities, 3xxx net assets,
//! 4xxx income, 5xxx expenditure) so that an auditor reads the trial balance without a legend.
//! Contributions and their receivables are split by payer because the public notice and the
//! government reward claim both need "how much came from whom".

use scheme::Payer;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountKind {
    Asset,
    Liability,
    NetAssets,
    Income,
    Expense,
}

impl AccountKind {
    /// Debit-normal accounts show a positive balance when debits exceed credits.
    pub fn debit_normal(self) -> bool {
        matches!(self, AccountKind::Asset | AccountKind::Expense)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            AccountKind::Asset => "资产",
            AccountKind::Liability => "负债",
            AccountKind::NetAssets => "净资产",
            AccountKind::Income => "收入",
            AccountKind::Expense => "支出",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Account {
    /// The pooled bank account (基金专户).
    FundBank,
    /// Money a payer has committed but not yet transferred to the fund.
    Receivable(Payer),
    /// Subsidies found fraudulent and to be recovered from the member.
    RecoveryReceivable,
    /// Subsidies decided but not yet paid to members' bank cards.
    SubsidyPayable,
    ServiceFeePayable,
    /// Surplus carried over from earlier years (and the opening balance of a fund that moved
    /// to Shouwang mid-life).
    Reserve,
    Contributions(Payer),
    Interest,
    Recoveries,
    Subsidies,
    ServiceFees,
}

impl Account {
    pub fn code(self) -> String {
        match self {
            Account::FundBank => "1001".into(),
            Account::Receivable(p) => format!("1131.{}", p.code()),
            Account::RecoveryReceivable => "1221".into(),
            Account::SubsidyPayable => "2201".into(),
            Account::ServiceFeePayable => "2202".into(),
            Account::Reserve => "3001".into(),
            Account::Contributions(p) => format!("4001.{}", p.code()),
            Account::Interest => "4101".into(),
            Account::Recoveries => "4201".into(),
            Account::Subsidies => "5001".into(),
            Account::ServiceFees => "5101".into(),
        }
    }

    /// The inverse of [`Account::code`]; `None` for anything not in the chart, so a tampered or
    /// mistyped account code never silently becomes a real account.
    pub fn parse(code: &str) -> Option<Account> {
        let (head, sub) = match code.split_once('.') {
            Some((h, s)) => (h, Some(s)),
            None => (code, None),
        };
        let payer = || sub.and_then(Payer::from_code);
        Some(match (head, sub) {
            ("1001", None) => Account::FundBank,
            ("1131", Some(_)) => Account::Receivable(payer()?),
            ("1221", None) => Account::RecoveryReceivable,
            ("2201", None) => Account::SubsidyPayable,
            ("2202", None) => Account::ServiceFeePayable,
            ("3001", None) => Account::Reserve,
            ("4001", Some(_)) => Account::Contributions(payer()?),
            ("4101", None) => Account::Interest,
            ("4201", None) => Account::Recoveries,
            ("5001", None) => Account::Subsidies,
            ("5101", None) => Account::ServiceFees,
            _ => return None,
        })
    }

    pub fn kind(self) -> AccountKind {
        match self {
            Account::FundBank | Account::Receivable(_) | Account::RecoveryReceivable => {
                AccountKind::Asset
            }
            Account::SubsidyPayable | Account::ServiceFeePayable => AccountKind::Liability,
            Account::Reserve => AccountKind::NetAssets,
            Account::Contributions(_) | Account::Interest | Account::Recoveries => {
                AccountKind::Income
            }
            Account::Subsidies | Account::ServiceFees => AccountKind::Expense,
        }
    }

    pub fn name_zh(self) -> String {
        match self {
            Account::FundBank => "基金专户存款".into(),
            Account::Receivable(p) => format!("应收筹资款—{}", p.label_zh()),
            Account::RecoveryReceivable => "应收追回款".into(),
            Account::SubsidyPayable => "应付互助金".into(),
            Account::ServiceFeePayable => "应付服务费".into(),
            Account::Reserve => "累计结余".into(),
            Account::Contributions(p) => format!("筹资收入—{}", p.label_zh()),
            Account::Interest => "利息收入".into(),
            Account::Recoveries => "追回收入".into(),
            Account::Subsidies => "互助金支出".into(),
            Account::ServiceFees => "服务费支出".into(),
        }
    }

    /// Every account of the chart, in code order (payer sub-accounts in payer order).
    pub fn chart() -> Vec<Account> {
        let mut all = vec![Account::FundBank];
        all.extend(Payer::ALL.iter().map(|p| Account::Receivable(*p)));
        all.extend([
            Account::RecoveryReceivable,
            Account::SubsidyPayable,
            Account::ServiceFeePayable,
            Account::Reserve,
        ]);
        all.extend(Payer::ALL.iter().map(|p| Account::Contributions(*p)));
        all.extend([
            Account::Interest,
            Account::Recoveries,
            Account::Subsidies,
            Account::ServiceFees,
        ]);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_code_parses_back_to_itself() {
        for a in Account::chart() {
            assert_eq!(Account::parse(&a.code()), Some(a), "{}", a.code());
        }
    }

    #[test]
    fn codes_outside_the_chart_are_refused() {
        for bad in [
            "",
            "1001.x",
            "1131",
            "1131.nobody",
            "4001.",
            "9999",
            "1001 ",
        ] {
            assert_eq!(Account::parse(bad), None, "{bad:?}");
        }
    }
}
