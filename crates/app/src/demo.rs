//! The demo county: one county, two towns, twenty villages plus the virtual village 幸福社区,
//! about 10,000 residents from the synthetic-population generator, and one login per role.

use crate::crypto::HashKind;
use crate::enrol::{BulkHousehold, BulkOutcome, PaymentMethod};
use crate::fund::Receipt;
use crate::import::GoodRow;
use crate::{Actor, App, AppResult};
use domain::{AuditAction, RegionCode, Role, SpecialStatus};
use store::regions::NewRegion;

pub const COUNTY: (&str, &str) = ("370323", "沂源县");
pub const TOWNS: [(&str, &str); 2] = [("370323104", "大张庄镇"), ("370323105", "中庄镇")];
pub const VIRTUAL_VILLAGE: (&str, &str) = ("370323104999", "幸福社区");
const VILLAGES: [&str; 20] = [
    "东里村",
    "西河村",
    "南峪村",
    "北岭村",
    "王家庄村",
    "李家沟村",
    "张家坪村",
    "刘家峪村",
    "石桥村",
    "柳树沟村",
    "杏山村",
    "桃园村",
    "青龙村",
    "大坪村",
    "小河村",
    "马家庄村",
    "赵家岭村",
    "孙家峪村",
    "黄土崖村",
    "泉头村",
];
/// The demo accounts' shared password. Demo only: printed at start-up.
pub const DEMO_PASSWORD: &str = "shouwang2026";

#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub region: String,
}

/// Village codes and names of the demo county (ordinary villages only).
pub fn demo_villages() -> Vec<(String, String, &'static str)> {
    VILLAGES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (town, _) = TOWNS[i / 10];
            (format!("{town}{:03}", 201 + i % 10), name.to_string(), town)
        })
        .collect()
}

impl App {
    /// Loads the demo county into an empty database. Returns `None` if the database already
    /// holds regions (so restarting with `--demo` never duplicates or overwrites anything).
    pub async fn load_demo(&self, members: usize, seed: u64) -> AppResult<Option<Vec<DemoLogin>>> {
        let mut conn = self.db.acquire().await?;
        if store::regions::count(&mut conn).await? > 0 {
            return Ok(None);
        }
        drop(conn);
        let now = self.now_text();
        let villages = demo_villages();
        let per_village = members * 97 / 100 / villages.len();
        let mut spec = sim::PopulationSpec {
            seed,
            villages: villages
                .iter()
                .map(|(code, _, _)| sim::VillageSpec {
                    code: code.clone(),
                    members: per_village,
                })
                .collect(),
        };
        spec.villages.push(sim::VillageSpec {
            code: VIRTUAL_VILLAGE.0.into(),
            members: members * 3 / 100,
        });
        let households = tokio::task::spawn_blocking(move || sim::generate_population(&spec))
            .await
            .map_err(|e| crate::AppError::Internal(e.into()))?;

        let mut tx = self.db.begin_write().await?;
        let region = |code, name, level, parent, is_virtual| NewRegion {
            code,
            name,
            level,
            parent_code: parent,
            is_virtual,
        };
        store::regions::insert(
            &mut tx,
            &region(COUNTY.0, COUNTY.1, "county", None, false),
            &now,
        )
        .await?;
        for (code, name) in TOWNS {
            store::regions::insert(
                &mut tx,
                &region(code, name, "town", Some(COUNTY.0), false),
                &now,
            )
            .await?;
        }
        for (code, name, town) in &villages {
            store::regions::insert(
                &mut tx,
                &region(code, name, "village", Some(town), false),
                &now,
            )
            .await?;
        }
        store::regions::insert(
            &mut tx,
            &region(
                VIRTUAL_VILLAGE.0,
                VIRTUAL_VILLAGE.1,
                "village",
                Some(TOWNS[0].0),
                true,
            ),
            &now,
        )
        .await?;

        let mut new_households = Vec::new();
        let mut rows = Vec::new();
        let mut numbers: std::collections::HashMap<String, usize> = Default::default();
        let since = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
        for h in households {
            let n = numbers.entry(h.village_code.clone()).or_default();
            *n += 1;
            let no = format!("{:04}", n);
            let is_virtual = h.village_code == VIRTUAL_VILLAGE.0;
            new_households.push((h.village_code.clone(), no.clone(), None));
            for p in h.members {
                let mut statuses = p.statuses;
                // The county places poverty-monitored people in the virtual village.
                if is_virtual
                    && !statuses
                        .iter()
                        .any(|(s, _)| *s == SpecialStatus::PovertyMonitored)
                {
                    statuses.push((SpecialStatus::PovertyMonitored, since));
                }
                rows.push(GoodRow {
                    village_code: h.village_code.clone(),
                    household_no: no.clone(),
                    address: None,
                    name: p.name,
                    id_hash: self.keys.hash(HashKind::IdNumber, p.id_number.as_str()),
                    id: p.id_number,
                    relation: p.relation,
                    phone: p.phone,
                    insurance: p.insurance,
                    statuses,
                });
            }
        }
        let ids = store::roster::insert_households(&mut tx, &new_households, &now).await?;
        let members: Vec<_> = rows
            .iter()
            .map(|g| {
                g.to_new_member(
                    &self.keys,
                    ids[&(g.village_code.clone(), g.household_no.clone())],
                )
            })
            .collect();
        store::roster::insert_members(&mut tx, &members, &now).await?;
        crate::hospitals::insert_demo_hospitals(
            &mut tx,
            &RegionCode::parse(COUNTY.0).expect("demo codes are valid"),
            &now,
        )
        .await?;
        self.audit(
            &mut tx,
            &Actor::system(),
            "",
            AuditAction::DemoLoad,
            "demo",
            &format!("{}人", members.len()),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;

        let code = |c: &str| RegionCode::parse(c).expect("demo codes are valid");
        let first_village = &villages[0].0;
        let logins: Vec<(&str, &str, Role, Option<RegionCode>)> = vec![
            ("admin", "系统管理员", Role::SystemAdmin, None),
            (
                "county",
                "县医保办",
                Role::CountyAdmin,
                Some(code(COUNTY.0)),
            ),
            (
                "town",
                "大张庄镇管理员",
                Role::TownAdmin,
                Some(code(TOWNS[0].0)),
            ),
            (
                "town2",
                "中庄镇管理员",
                Role::TownAdmin,
                Some(code(TOWNS[1].0)),
            ),
            (
                "clerk",
                "东里村经办员",
                Role::VillageClerk,
                Some(code(first_village)),
            ),
            ("coder", "平台编码员", Role::Coder, Some(code(COUNTY.0))),
            (
                "reviewer",
                "平台审核员",
                Role::Reviewer,
                Some(code(COUNTY.0)),
            ),
            ("auditor", "县审计员", Role::Auditor, Some(code(COUNTY.0))),
        ];
        let mut out = Vec::new();
        for (username, display, role, region) in logins {
            self.create_user(username, display, DEMO_PASSWORD, role, region.as_ref())
                .await?;
            out.push(DemoLogin {
                username: username.into(),
                role,
                region: region
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "全部".into()),
            });
        }
        Ok(Some(out))
    }
}

impl App {
    /// A scheme year per demo town so every page has something to show: last year (open,
    /// enrolled, a donation) and this year, whose payment window is open today, with most
    /// households renewed, one village left below the 80% threshold, payers' transfers and the
    /// government reward booked. Claims and designs are left for the user to run.
    pub async fn load_demo_years(&self) -> AppResult<()> {
        use chrono::{Datelike, Days};
        let system = Actor::system();
        let mgr = system.scheme_manager().expect("system manages");
        let w = system.enroller().expect("system enrols");
        if !self.years(&system).await?.is_empty() {
            return Ok(());
        }
        let today = self.today();
        let year = if today.month() >= 10 {
            today.year() + 1
        } else {
            today.year()
        };
        for (town, town_name) in TOWNS {
            let mut last = scheme::template("yiyuan-dazhangzhuang", year - 1)
                .expect("template")
                .rules;
            last.programme_name = format!("{town_name}“沂源红”乡村公益医疗互助");
            let last_id = self
                .open_year(
                    &mgr,
                    &system,
                    town,
                    &format!("{}年度", year - 1),
                    "yiyuan-dazhangzhuang",
                    last.clone(),
                    None,
                )
                .await?;
            let mut rules = last.next_year();
            rules.payment_window_start = rules.payment_window_start.min(today - Days::new(20));
            rules.payment_window_end = rules
                .payment_window_end
                .max(today + Days::new(30))
                .min(rules.period_end);
            let this_id = self
                .open_year(
                    &mgr,
                    &system,
                    town,
                    &format!("{year}年度"),
                    "yiyuan-dazhangzhuang",
                    rules,
                    Some(last_id),
                )
                .await?;
            let mut conn = self.db.acquire().await?;
            let town_scope = store::Scope::region(&RegionCode::parse(town).expect("demo code"));
            let lines =
                store::enrolment::roster_lines(&mut conn, &town_scope, None, &today.to_string())
                    .await?;
            drop(conn);
            let mut households: Vec<(String, String)> = lines
                .iter()
                .map(|l| (l.village_code.clone(), l.household_no.clone()))
                .collect();
            households.dedup();
            // Deterministic choice: most households joined last year and renewed; the fourth
            // village of each town stays below the threshold this year.
            let low_village = format!("{town}204");
            let pick = |i: usize, village: &str, share: usize| {
                village == VIRTUAL_VILLAGE.0 || (i * 37 % 100) < share
            };
            let as_bulk = |keep: &dyn Fn(usize, &str) -> bool| -> Vec<BulkHousehold> {
                households
                    .iter()
                    .enumerate()
                    .filter(|(i, (v, _))| keep(*i, v))
                    .map(|(i, (v, no))| BulkHousehold {
                        row: i + 2,
                        village_code: v.clone(),
                        household_no: no.clone(),
                        method: PaymentMethod::Cash,
                        payment_reference: String::new(),
                        left_out: Vec::new(),
                    })
                    .collect()
            };
            let last_list = as_bulk(&|i, v| pick(i, v, 85));
            let this_list = as_bulk(&|i, v| {
                if v == low_village {
                    pick(i, v, 70)
                } else {
                    pick(i, v, 92)
                }
            });
            let last_day = last.payment_window_start;
            for (id, list, on, enforce) in [
                (last_id, last_list, last_day, false),
                (this_id, this_list, today, true),
            ] {
                if list.is_empty() {
                    continue;
                }
                match self
                    .enrol_bulk_on(&w, &system, id, &list, on, enforce, true)
                    .await?
                {
                    BulkOutcome::Enrolled { .. } => {}
                    BulkOutcome::Refused(errors) => {
                        return Err(crate::AppError::Internal(anyhow::anyhow!(
                            "demo enrolment refused: {:?}",
                            errors.first()
                        )))
                    }
                }
            }
            self.record_receipt(
                &mgr,
                &system,
                this_id,
                today,
                Receipt::Donation {
                    donor_name: domain::Line::parse(&format!("{town_name}爱心企业联合会"), 60)
                        .expect("demo donor name"),
                    organisation: true,
                    amount: domain::Fen::from_yuan(20_000),
                },
            )
            .await?;
            self.accrue_reward(&mgr, &system, this_id).await?;
        }
        Ok(())
    }
}
