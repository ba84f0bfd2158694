//! Reports of a scheme year: enrolment per village, money by payer, the books, the public
//! notice of contributions and donors; every table can leave as an .xlsx workbook.

use crate::access::{Actor, FundReader};
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use domain::Fen;
use ledger::{Account, EntryKind};
use scheme::Payer;

/// A value in a report table: typed so that the spreadsheet gets numbers, not text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Money(Fen),
    /// A rate in per mille, shown as a percentage.
    Permille(u32),
}

impl Cell {
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Money(f) => f.to_string(),
            Cell::Permille(p) => crate::format_permille(*p),
        }
    }
    pub fn is_number(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// One table of a report (one sheet of its workbook).
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    fn new(name: &str, headers: &[&str]) -> Sheet {
        Sheet {
            name: name.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// The sheets as an .xlsx file: money as numbers in yuan with two decimals, rates as
/// percentages, a bold header row, frozen.
pub fn workbook(sheets: &[Sheet]) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = Workbook::new();
        let head = Format::new().set_bold().set_background_color("#DCE6F1");
        let money = Format::new().set_num_format("#,##0.00");
        let pct = Format::new().set_num_format("0.0%");
        for s in sheets {
            let ws = wb.add_worksheet();
            ws.set_name(&s.name)?;
            for (c, h) in s.headers.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, h, &head)?;
                ws.set_column_width(c as u16, 14)?;
            }
            for (r, row) in s.rows.iter().enumerate() {
                let r = r as u32 + 1;
                for (c, cell) in row.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Cell::Text(t) => {
                            ws.write_string(r, c, t)?;
                        }
                        Cell::Int(n) => {
                            ws.write_number(r, c, *n as f64)?;
                        }
                        Cell::Money(f) => {
                            ws.write_number_with_format(r, c, f.fen() as f64 / 100.0, &money)?;
                        }
                        Cell::Permille(p) => {
                            ws.write_number_with_format(r, c, *p as f64 / 1000.0, &pct)?;
                        }
                    }
                }
            }
            ws.set_freeze_panes(1, 0)?;
        }
        wb.save_to_buffer()
    };
    build().map_err(|e| AppError::Internal(anyhow::anyhow!("xlsx: {e}")))
}

/// Money of one payer in the year: booked (due), still receivable, received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayerMoney {
    pub payer: Payer,
    pub booked: Fen,
    pub outstanding: Fen,
    pub received: Fen,
}

/// A donor as the public notice shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicDonor {
    pub name: String,
    pub amount: Fen,
    pub received_on: String,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub year: Year,
    pub villages: Vec<(String, u64, u64)>,
    pub payers: Vec<PayerMoney>,
    pub donors: Vec<PublicDonor>,
    pub total: Fen,
    pub enrolled: u64,
    pub chain_head: Option<(i64, String)>,
}

/// Personal names on public notices keep the surname only (张**); organisations are named in
/// full, as the programmes' own notices thank them by name.
pub fn mask_donor(name: &str, organisation: bool) -> String {
    let name = name.trim();
    if organisation {
        return name.to_string();
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

impl App {
    /// Enrolment per village the actor may see.
    pub async fn enrolment_sheet(&self, actor: &Actor, year_id: i64) -> AppResult<Sheet> {
        let f = self.year_figures(actor, year_id).await?;
        let mut s = Sheet::new(
            "参保情况",
            &[
                "村（社区）代码",
                "村（社区）",
                "户籍户数",
                "参保户数",
                "户籍人口",
                "参保人数",
                "参保率",
                "是否计入统筹",
                "应筹资金（元）",
            ],
        );
        for v in f.visible_villages() {
            let rec = f.recorded.get(&v.code).cloned().unwrap_or_default();
            s.rows.push(vec![
                Cell::Text(v.code.clone()),
                Cell::Text(v.name.clone()),
                Cell::Int(v.registered_households as i64),
                Cell::Int(v.enrolled_households as i64),
                Cell::Int(v.registered as i64),
                Cell::Int(v.enrolled as i64),
                Cell::Permille(v.rate_permille),
                Cell::Text(if v.counted { "计入" } else { "未达门槛" }.into()),
                Cell::Money(Fen(rec.due_personal
                    + rec.due_village
                    + rec.due_town
                    + rec.due_county
                    + rec.due_charity)),
            ]);
        }
        Ok(s)
    }

    /// What each payer owes for the year, what is still receivable, and what arrived.
    pub async fn money_by_payer(&self, r: &FundReader, year_id: i64) -> AppResult<Vec<PayerMoney>> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, r.scope(), year_id).await?;
        payer_money(&mut conn, &year).await
    }

    pub async fn money_sheet(&self, r: &FundReader, year_id: i64) -> AppResult<Sheet> {
        let rows = self.money_by_payer(r, year_id).await?;
        let mut s = Sheet::new(
            "筹资情况",
            &["出资方", "应筹（元）", "已到账（元）", "未到账（元）"],
        );
        for p in rows {
            s.rows.push(vec![
                Cell::Text(p.payer.label_zh().into()),
                Cell::Money(p.booked),
                Cell::Money(p.received),
                Cell::Money(p.outstanding),
            ]);
        }
        Ok(s)
    }

    /// The trial balance today and the whole journal of the year, for auditors.
    pub async fn ledger_sheets(&self, r: &FundReader, year_id: i64) -> AppResult<Vec<Sheet>> {
        let tb = self.trial_balance(r, year_id, self.today(), false).await?;
        let mut balance = Sheet::new(
            "试算平衡表",
            &[
                "科目代码",
                "科目名称",
                "类别",
                "借方合计（元）",
                "贷方合计（元）",
                "余额（元）",
            ],
        );
        for row in tb
            .rows
            .iter()
            .filter(|r| r.debits.fen() != 0 || r.credits.fen() != 0)
        {
            balance.rows.push(vec![
                Cell::Text(row.account.code()),
                Cell::Text(row.account.name_zh()),
                Cell::Text(row.account.kind().label_zh().into()),
                Cell::Money(row.debits),
                Cell::Money(row.credits),
                Cell::Money(row.balance()),
            ]);
        }
        let mut journal = Sheet::new(
            "记账明细",
            &[
                "序号",
                "凭证号",
                "日期",
                "类型",
                "科目代码",
                "科目名称",
                "借方（元）",
                "贷方（元）",
                "摘要",
                "记账人",
                "记账时间",
                "哈希",
            ],
        );
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, r.scope(), year_id).await?;
        let pool = year.row.pool_code.clone();
        let mut before = None;
        loop {
            let page = store::ledger::journal(&mut conn, &pool, year_id, before, 5_000).await?;
            let Some(last) = page.last() else { break };
            before = Some(last.seq);
            for p in &page {
                let account = Account::parse(&p.account);
                journal.rows.push(vec![
                    Cell::Int(p.seq),
                    Cell::Int(p.entry_no),
                    Cell::Text(p.effective_date.clone()),
                    Cell::Text(
                        EntryKind::from_code(&p.kind)
                            .map(|k| k.label_zh())
                            .unwrap_or("?")
                            .into(),
                    ),
                    Cell::Text(p.account.clone()),
                    Cell::Text(account.map(|a| a.name_zh()).unwrap_or_default()),
                    Cell::Money(Fen(p.amount_fen.max(0))),
                    Cell::Money(Fen((-p.amount_fen).max(0))),
                    Cell::Text(p.memo.clone()),
                    Cell::Text(p.recorded_by.clone()),
                    Cell::Text(crate::display_time(&p.recorded_at)),
                    Cell::Text(p.hash.clone()),
                ]);
            }
        }
        journal.rows.reverse();
        Ok(vec![balance, journal])
    }

    /// The public notice of the year's contributions and donors (公示): per village
    /// participation, money by payer, donors with personal names masked, and the ledger's chain
    /// head so that anyone keeping the notice can later detect a rewritten ledger.
    pub async fn public_notice(
        &self,
        r: &FundReader,
        actor: &Actor,
        year_id: i64,
    ) -> AppResult<Notice> {
        let figures = self.year_figures(actor, year_id).await?;
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, r.scope(), year_id).await?;
        let payers = payer_money(&mut conn, &year).await?;
        let donors = store::designs::donations(&mut conn, year_id)
            .await?
            .into_iter()
            .map(|d| PublicDonor {
                name: mask_donor(&d.donor_name, d.donor_kind == "organisation"),
                amount: Fen(d.amount_fen),
                received_on: d.received_on,
            })
            .collect();
        let chain_head = store::ledger::head(&mut conn, &year.row.pool_code).await?;
        Ok(Notice {
            villages: figures
                .pool
                .villages
                .iter()
                .filter(|v| v.counted)
                .map(|v| (v.name.clone(), v.enrolled_households, v.enrolled))
                .collect(),
            total: payers.iter().map(|p| p.booked).sum(),
            enrolled: figures.pool.enrolled,
            payers,
            donors,
            chain_head,
            year,
        })
    }
}

async fn payer_money(conn: &mut store::Conn, year: &Year) -> AppResult<Vec<PayerMoney>> {
    let tb = crate::fund::books(conn, year, true).await?;
    Ok(Payer::ALL
        .iter()
        .map(|p| {
            let booked = tb.balance_of(Account::Contributions(*p));
            let outstanding = tb.balance_of(Account::Receivable(*p));
            PayerMoney {
                payer: *p,
                booked,
                outstanding,
                received: booked - outstanding,
            }
        })
        .filter(|p| p.booked.fen() != 0 || p.outstanding.fen() != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn donors_who_are_people_keep_only_their_surname() {
        assert_eq!(mask_donor("张三", false), "张*");
        assert_eq!(mask_donor("欧阳小明", false), "欧***");
        assert_eq!(mask_donor("李", false), "李*");
        assert_eq!(
            mask_donor(" 沂源县爱心企业协会 ", true),
            "沂源县爱心企业协会"
        );
        assert_eq!(mask_donor("", false), "");
    }

    #[test]
    fn a_workbook_is_a_zip_with_every_sheet() {
        let mut s = Sheet::new("参保情况", &["村", "人数", "参保率", "金额"]);
        s.rows.push(vec![
            Cell::Text("东里村".into()),
            Cell::Int(90),
            Cell::Permille(799),
            Cell::Money(Fen(450_000)),
        ]);
        let bytes = workbook(&[
            s.clone(),
            Sheet {
                name: "第二页".into(),
                ..s
            },
        ])
        .unwrap();
        assert_eq!(&bytes[..2], b"PK");
        use calamine::Reader;
        let mut wb: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(
            wb.sheet_names(),
            vec!["参保情况".to_string(), "第二页".to_string()]
        );
        let range = wb.worksheet_range("参保情况").unwrap();
        assert_eq!(range.get_value((1, 3)).unwrap().to_string(), "4500");
        assert_eq!(range.get_value((1, 2)).unwrap().to_string(), "0.799");
    }
}
