//! Parallel requests at every "post what is still due" action: each books its money once, on
//! SQLite and on PostgreSQL (where, before the pool lock, ten parallel requests booked the
//! service fee five times, the reward ten times and the same remittance nine times).

use super::common::*;
use crate::on_both_backends;
use app::Actor;
use domain::Fen;
use ledger::Account;
use scheme::Payer;

/// As many as the PostgreSQL pool has connections, so that all of them are in flight at once.
const PARALLEL: usize = 16;

type World = TownYear;

async fn world(backend: Backend) -> World {
    TownYear::spawn(backend, 400).await
}

impl World {
    /// The account's balance from this year's postings (`this_year`) or the pool's whole books.
    async fn balance_in(&self, account: Account, this_year: bool) -> Fen {
        let sys = Actor::system();
        let far = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        self.t
            .app
            .trial_balance(&sys.fund_reader().unwrap(), self.year, far, this_year)
            .await
            .unwrap()
            .balance_of(account)
    }

    async fn balance(&self, account: Account) -> Fen {
        self.balance_in(account, true).await
    }

    async fn verify(&self) {
        for v in self.t.app.verify_ledgers().await.unwrap() {
            v.unwrap();
        }
    }
}

fn yuan_text(f: Fen) -> String {
    format!("{}.{:02}", f.fen() / 100, f.fen() % 100)
}

async fn service_fee_is_charged_once(backend: Backend) {
    let w = world(backend).await;
    // The 沂源 template takes no service fee; this pool pays 3% of what it raises.
    let sys = Actor::system();
    let mut rules = w.t.app.year(&sys, w.year).await.unwrap().rules;
    rules.service_fee = scheme::ServiceFee::Percent { basis_points: 300 };
    w.t.app
        .change_rules(
            &sys.scheme_manager().unwrap(),
            &sys,
            w.year,
            rules,
            "支付平台服务费",
        )
        .await
        .unwrap();
    let due =
        w.t.app
            .money_available(&Actor::system(), w.year)
            .await
            .unwrap()
            .service_fee;
    assert!(due.fen() > 0, "the demo year owes a service fee");
    let path = format!("/years/{}/fund/service-fee", w.year);
    for p in w
        .town
        .post_form_parallel(PARALLEL, &path, &[("csrf", &w.csrf)])
        .await
    {
        assert_eq!(p.status, 200, "{}", p.body);
    }
    assert_eq!(w.balance(Account::ServiceFees).await, due);
    w.verify().await;
}

async fn reward_is_accrued_once(backend: Backend) {
    let w = world(backend).await;
    let gov = Account::Contributions(Payer::Government);
    let booked = w.balance(gov).await;
    assert!(booked.fen() > 0, "the demo books a reward");
    let sys = Actor::system();
    let figures = w.t.app.year_figures(&sys, w.year).await.unwrap();
    assert_eq!(figures.pool.reward_total, booked);
    let path = format!("/years/{}/fund/reward", w.year);
    // One more household makes the reward grow; then ten requests at once accrue it.
    enrol_one_more(&w).await;
    let due =
        w.t.app
            .year_figures(&sys, w.year)
            .await
            .unwrap()
            .pool
            .reward_total;
    assert!(due > booked, "one more household raises the reward");
    for p in w
        .town
        .post_form_parallel(PARALLEL, &path, &[("csrf", &w.csrf)])
        .await
    {
        assert_eq!(p.status, 200, "{}", p.body);
    }
    assert_eq!(w.balance(gov).await, due);
    w.verify().await;
}

/// Enrols the first household of the pool that has not joined this year (through the app, as
/// a clerk's bulk upload would).
async fn enrol_one_more(w: &World) {
    let sys = Actor::system();
    let scope = store::Scope::region(&domain::RegionCode::parse("370323104").unwrap());
    let mut conn = w.t.app.db.acquire().await.unwrap();
    let enrolled: std::collections::HashSet<i64> =
        store::enrolment::enrolled_households(&mut conn, w.year, &scope)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
    let today = w.t.app.today().to_string();
    let line = store::enrolment::roster_lines(&mut conn, &scope, None, &today)
        .await
        .unwrap()
        .into_iter()
        .find(|l| !enrolled.contains(&l.household_id))
        .expect("a household not yet enrolled");
    drop(conn);
    let list = vec![app::enrol::BulkHousehold {
        row: 2,
        village_code: line.village_code,
        household_no: line.household_no,
        method: app::enrol::PaymentMethod::Cash,
        payment_reference: String::new(),
        left_out: Vec::new(),
    }];
    let outcome =
        w.t.app
            .enrol_bulk(&sys.enroller().unwrap(), &sys, w.year, &list)
            .await
            .unwrap();
    assert!(matches!(outcome, app::enrol::BulkOutcome::Enrolled { .. }));
}

async fn a_remittance_of_what_is_owed_is_accepted_once(backend: Backend) {
    let w = world(backend).await;
    let receivable = Account::Receivable(Payer::County);
    // What the county owes over all years: a remittance may settle last year's arrears too.
    let owed = w.balance_in(receivable, false).await;
    assert!(owed.fen() > 0, "the county owes its share");
    let today = w.t.app.today().to_string();
    let amount = yuan_text(owed);
    let path = format!("/years/{}/fund/receipts", w.year);
    let pages = w
        .town
        .post_form_parallel(
            PARALLEL,
            &path,
            &[
                ("csrf", &w.csrf),
                ("kind", "remittance"),
                ("payer", "county"),
                ("amount", &amount),
                ("date", &today),
            ],
        )
        .await;
    let accepted = pages.iter().filter(|p| p.status == 200).count();
    assert_eq!(
        accepted,
        1,
        "statuses {:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    assert!(pages
        .iter()
        .filter(|p| p.status != 200)
        .all(|p| p.status == 422 && p.has("超出应收")));
    assert_eq!(w.balance_in(receivable, false).await, Fen(0));
    w.verify().await;
}

on_both_backends!(
    service_fee_is_charged_once,
    reward_is_accrued_once,
    a_remittance_of_what_is_owed_is_accepted_once,
);
