//! The demo's month of payout: claims filed and approved some three weeks ago went into last
//! month's batch, which was noticed, approved by the county (a second person), sent to the bank
//! and came back with one failed line — that member brought a new card, which a reviewer
//! confirmed, and the claim is carried into this month's batch, on notice now. Everything runs
//! through the real use cases on a clock set back in time, so the history, the ledger and the
//! SMS outbox look as they would after a real month.

use crate::access::Actor;
use crate::demo::TOWNS;
use crate::demo_claims::demo_stays;
use crate::payout::{CardInput, LineOutcome};
use crate::{App, AppResult, Clock};
use chrono::{NaiveDate, TimeZone, Utc};
use domain::{LineState, RegionCode, Role};

/// Days before today on which last month's claims were filed and decided.
const FILED_DAYS_AGO: i64 = 24;

fn staff(username: &str, role: Role, region: &str) -> Actor {
    Actor {
        user_id: None,
        username: username.into(),
        display_name: role.label_zh().into(),
        role,
        region: RegionCode::parse(region).ok(),
        ip: "demo".into(),
    }
}

/// A card number of the demo (Luhn-valid): `622848` + 12 digits from `n` + the check digit.
fn demo_card(n: u64) -> String {
    payout::card::with_check_digit(&format!("622848{n:012}"))
}

impl App {
    /// Loads the demo payout once (nothing when a batch exists). `skip` members of each town
    /// already have this month's demo claims; last month's are filed for the next `per_town`.
    /// Returns how many batches were created.
    pub async fn load_demo_payout(&self, per_town: usize, skip: usize) -> AppResult<usize> {
        let mut conn = self.db.acquire().await?;
        if !store::payout::batches(&mut conn, &store::Scope::all(), 1)
            .await?
            .is_empty()
        {
            return Ok(0);
        }
        drop(conn);
        let stays = demo_stays().await?;
        let then = self.at(self.today() - chrono::Days::new(FILED_DAYS_AGO as u64));
        let mut batches = 0;
        for (t, (town, _)) in TOWNS.iter().enumerate() {
            let part =
                &stays[(t * stays.len() / TOWNS.len())..((t + 1) * stays.len() / TOWNS.len())];
            then.demo_claims_for_town(town, part, per_town, skip)
                .await?;
            batches += self.demo_town_payout(town, t).await?;
        }
        Ok(batches)
    }

    /// The app as it was at 10:00 (Beijing) on `day`.
    fn at(&self, day: NaiveDate) -> App {
        let at = Utc.from_utc_datetime(&day.and_hms_opt(2, 0, 0).expect("valid time"));
        self.clone().with_clock(Clock::fixed(at))
    }

    async fn demo_town_payout(&self, town: &str, t: usize) -> AppResult<usize> {
        let admin = staff(if t == 0 { "town" } else { "town2" }, Role::TownAdmin, town);
        let county = staff("county", Role::CountyAdmin, crate::demo::COUNTY.0);
        let reviewer = staff("reviewer", Role::Reviewer, crate::demo::COUNTY.0);
        let officer = admin.payout_officer().expect("town admins pay");
        let approver = county.payout_officer().expect("county admins pay");
        let today = self.today();
        let then = self.at(today - chrono::Days::new(FILED_DAYS_AGO as u64 - 1));
        let Some(year_id) = self.demo_cards(&then, town).await? else {
            return Ok(0);
        };
        let Ok(batch) = then
            .create_batch(&officer, &admin, year_id, then.today())
            .await
        else {
            return Ok(0);
        };
        let view = then.batch(&admin, batch).await?;
        let approve_on = view.approvable_from;
        if approve_on + chrono::Days::new(3) > today {
            return Ok(1);
        }
        let on = self.at(approve_on);
        on.approve_batch(&approver, &county, batch, view.batch.revision)
            .await?;
        let back = self.at(approve_on + chrono::Days::new(1));
        let outcomes: Vec<_> = view
            .lines
            .iter()
            .filter(|l| l.state == LineState::Pending)
            .enumerate()
            .map(|(i, l)| {
                let o = if i == 0 {
                    LineOutcome::Failed("账户已冻结".into())
                } else {
                    LineOutcome::Paid
                };
                (l.id, o)
            })
            .collect();
        back.record_results(&approver, &county, batch, &outcomes)
            .await?;
        // The member of the failed line brings a new card; a reviewer confirms the change.
        if let Some(failed) = view.lines.iter().find(|l| l.state == LineState::Pending) {
            let keeper = admin.card_keeper().expect("admins keep cards");
            let card = CardInput {
                bank_name: "中国邮政储蓄银行".into(),
                card_number: demo_card(500_000 + failed.member_id as u64),
                ..Default::default()
            };
            let next = self.at(approve_on + chrono::Days::new(2));
            next.record_card(&keeper, &admin, failed.member_id, &card)
                .await?;
            let reviewing = reviewer.claim_reviewer().expect("reviewer");
            for c in next.pending_cards(&reviewing).await? {
                next.decide_card(&reviewing, &reviewer, c.id, true, "已核对本人身份证和新卡")
                    .await?;
            }
        }
        // This month: cards for the claims approved since, and the batch on notice.
        self.demo_cards(self, town).await?;
        self.create_batch(&officer, &admin, year_id, today).await?;
        Ok(2)
    }

    /// Gives every member of the town's approved claims (decided by `app`'s day) a card;
    /// returns the year of those claims.
    async fn demo_cards(&self, app: &App, town: &str) -> AppResult<Option<i64>> {
        let system = Actor::system();
        let keeper = system.card_keeper().expect("system keeps cards");
        let mut conn = self.db.acquire().await?;
        let day = app.today();
        let Some((year_id, _)) = store::claims::year_covering(
            &mut conn,
            &format!("{town}201"),
            day - chrono::Days::new(20),
        )
        .await?
        else {
            return Ok(None);
        };
        let waiting = store::payout::eligible(&mut conn, year_id, day).await?;
        drop(conn);
        for e in waiting.iter().filter(|e| e.card_id.is_none()) {
            let card = CardInput {
                bank_name: "沂源农商银行".into(),
                card_number: demo_card(e.member_id as u64),
                ..Default::default()
            };
            app.record_card(&keeper, &system, e.member_id, &card)
                .await?;
        }
        Ok(Some(year_id))
    }
}
