//! Trial balance and fund position from per-account sums (the database does the summing).

use crate::accounts::{Account, AccountKind};
use domain::Fen;
use serde::Serialize;

/// One account's totals up to a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountTotal {
    pub account: Account,
    pub debits: Fen,
    pub credits: Fen,
}

impl AccountTotal {
    /// The balance on the account's normal side (a bank account's money, an income's takings).
    pub fn balance(&self) -> Fen {
        let net = self.debits - self.credits;
        if self.account.kind().debit_normal() {
            net
        } else {
            -net
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrialBalance {
    pub rows: Vec<AccountTotal>,
    pub total_debits: Fen,
    pub total_credits: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("account code {0:?} is not in the chart of accounts")]
    UnknownAccount(String),
    /// The sums do not fit in 64 bits: only a corrupted or attacked ledger gets here, and the
    /// trial balance says so instead of wrapping around or aborting.
    #[error("the ledger's totals exceed the range of a 64-bit amount in fen")]
    Overflow,
}

impl TrialBalance {
    /// Builds the trial balance from `(account code, debits, credits)` sums in fen. Accounts of
    /// the chart that saw no postings appear with zeros so the report always has the same shape.
    pub fn from_sums(
        sums: impl IntoIterator<Item = (String, i64, i64)>,
    ) -> Result<TrialBalance, BalanceError> {
        let mut rows: Vec<AccountTotal> = Account::chart()
            .into_iter()
            .map(|account| AccountTotal {
                account,
                debits: Fen(0),
                credits: Fen(0),
            })
            .collect();
        for (code, debits, credits) in sums {
            let account = Account::parse(&code).ok_or(BalanceError::UnknownAccount(code))?;
            let row = rows
                .iter_mut()
                .find(|r| r.account == account)
                .expect("the chart holds every parsable account");
            if debits < 0 || credits < 0 {
                return Err(BalanceError::Overflow);
            }
            row.debits = row
                .debits
                .checked_add(Fen(debits))
                .ok_or(BalanceError::Overflow)?;
            row.credits = row
                .credits
                .checked_add(Fen(credits))
                .ok_or(BalanceError::Overflow)?;
        }
        let total_debits =
            Fen::checked_sum(rows.iter().map(|r| r.debits)).ok_or(BalanceError::Overflow)?;
        let total_credits =
            Fen::checked_sum(rows.iter().map(|r| r.credits)).ok_or(BalanceError::Overflow)?;
        // Every balance and every total of balances is bounded by debits + credits; once that
        // fits, the arithmetic below cannot overflow.
        total_debits
            .checked_add(total_credits)
            .ok_or(BalanceError::Overflow)?;
        Ok(TrialBalance {
            rows,
            total_debits,
            total_credits,
        })
    }

    /// Debits equal credits: always true for a ledger whose entries each balance.
    pub fn is_balanced(&self) -> bool {
        self.total_debits == self.total_credits
    }

    pub fn total_of(&self, kind: AccountKind) -> Fen {
        self.rows
            .iter()
            .filter(|r| r.account.kind() == kind)
            .map(|r| r.balance())
            .sum()
    }

    pub fn balance_of(&self, account: Account) -> Fen {
        self.rows
            .iter()
            .find(|r| r.account == account)
            .map(|r| r.balance())
            .unwrap_or(Fen(0))
    }

    /// The fund's position: what it owns less what it owes. Equals the reserve carried over
    /// plus this period's income less expenditure.
    pub fn fund_balance(&self) -> Fen {
        self.total_of(AccountKind::Asset) - self.total_of(AccountKind::Liability)
    }

    /// Money in the bank account.
    pub fn cash(&self) -> Fen {
        self.balance_of(Account::FundBank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scheme::Payer;

    #[test]
    fn sums_beyond_64_bits_are_an_error_not_a_wrap() {
        let huge = i64::MAX - 5;
        let r = TrialBalance::from_sums(vec![
            ("1001".to_string(), huge, 0),
            ("2201".to_string(), 0, huge),
        ]);
        assert_eq!(r, Err(BalanceError::Overflow));
    }

    #[test]
    fn fund_balance_equals_reserve_plus_income_less_expenditure() {
        let tb = TrialBalance::from_sums([
            ("1001".to_string(), 1_000_000, 300_000),
            ("1131.town".to_string(), 200_000, 0),
            ("2201".to_string(), 50_000, 250_000),
            ("3001".to_string(), 0, 100_000),
            ("4001.personal".to_string(), 0, 700_000),
            ("4001.town".to_string(), 0, 200_000),
            ("4101".to_string(), 0, 0),
            ("5001".to_string(), 300_000, 0),
        ])
        .unwrap();
        assert!(tb.is_balanced());
        assert_eq!(tb.cash(), Fen(700_000));
        assert_eq!(
            tb.balance_of(Account::Receivable(Payer::Town)),
            Fen(200_000)
        );
        let income = tb.total_of(AccountKind::Income);
        let expense = tb.total_of(AccountKind::Expense);
        let reserve = tb.total_of(AccountKind::NetAssets);
        assert_eq!(tb.fund_balance(), reserve + income - expense);
        assert_eq!(tb.fund_balance(), Fen(700_000));
    }

    #[test]
    fn unknown_accounts_are_an_error_not_a_silent_row() {
        assert_eq!(
            TrialBalance::from_sums([("9999".to_string(), 1, 0)]),
            Err(BalanceError::UnknownAccount("9999".into()))
        );
    }
}
