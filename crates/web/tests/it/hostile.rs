//! Input an attacker (or a slip of the finger) sends: oversized bodies and fields, absurd sums,
//! dates outside the year, hidden characters, NUL bytes, a rewritten ledger, and roles reaching
//! past what their job needs. Each is refused with a Chinese message and leaves the pool usable.

use super::common::*;
use crate::on_both_backends;
use app::Actor;
use chrono::Datelike;

type World = TownYear;

async fn world(backend: Backend) -> World {
    TownYear::spawn(backend, 300).await
}

impl World {
    async fn receipt(&self, kind: &str, amount: &str, date: &str, donor: &str) -> Page {
        self.town
            .post_form(
                &format!("/years/{}/fund/receipts", self.year),
                &[
                    ("csrf", &self.csrf),
                    ("kind", kind),
                    ("amount", amount),
                    ("date", date),
                    ("donor", donor),
                ],
            )
            .await
    }

    async fn verify_all(&self) -> Vec<Result<ledger::Verified, ledger::Break>> {
        self.t.app.verify_ledgers().await.unwrap()
    }

    /// Runs a statement behind the app's back (as someone holding the database would), with
    /// the year as `$1` and `n` as `$2`.
    async fn sql(&self, statement: &str, n: i64) {
        let mut conn = self.t.app.db.acquire().await.unwrap();
        store::sqlx_reexport::query(statement)
            .bind(self.year)
            .bind(n)
            .execute(&mut *conn)
            .await
            .unwrap();
    }

    /// The table of the first row `ledger verify` finds disagreeing with the chain.
    async fn first_disagreeing_table(&self) -> &'static str {
        let broken = self
            .verify_all()
            .await
            .into_iter()
            .find_map(|r| r.err())
            .expect("verify finds the changed row");
        match broken.reason {
            ledger::BreakReason::RecordDisagrees { table, .. } => table,
            other => panic!("expected a disagreeing record, got {other}"),
        }
    }
}

/// 92,233,720,368,547,758 yuan used to be accepted and then overflowed every page of the pool.
async fn absurd_amounts_and_dates_are_refused_and_the_pool_stays_usable(backend: Backend) {
    let w = world(backend).await;
    let today = w.t.app.today().to_string();
    let huge = w
        .receipt("donation", "92233720368547758", &today, "某人")
        .await;
    assert_eq!(huge.status, 422);
    assert!(huge.has("超出允许范围"), "{}", huge.body);
    let grouped = w.receipt("interest", "1,0,0", &today, "").await;
    assert_eq!(grouped.status, 422);
    assert!(grouped.has("应为金额"));
    for date in ["0001-01-01", "9999-12-31"] {
        let p = w.receipt("interest", "10", date, "").await;
        assert_eq!(p.status, 422, "{date}");
        assert!(p.has("到账日期应在"), "{date}: {}", p.body);
    }
    let fund = w.town.get(&format!("/years/{}/fund", w.year)).await;
    assert_eq!(fund.status, 200);
    assert_eq!(
        w.town
            .get(&format!("/years/{}/notice", w.year))
            .await
            .status,
        200
    );
    assert_eq!(
        w.town
            .get(&format!("/years/{}/reports", w.year))
            .await
            .status,
        200
    );
    for v in w.verify_all().await {
        v.unwrap();
    }
}

/// A million-character donor name went into the permanent ledger memo; a right-to-left
/// override made a name read differently on the public notice; a 50 MB form was read whole.
async fn fields_and_bodies_are_bounded(backend: Backend) {
    let w = world(backend).await;
    let today = w.t.app.today().to_string();
    let long = "张".repeat(61);
    let p = w.receipt("donation", "10", &today, &long).await;
    assert_eq!(p.status, 422);
    assert!(p.has("过长"));
    let rlo = w.receipt("donation", "10", &today, "张\u{202E}三").await;
    assert_eq!(rlo.status, 422);
    assert!(rlo.has("不可见或控制字符"));
    let zero_width = w.receipt("donation", "10", &today, "张\u{200B}三").await;
    assert_eq!(zero_width.status, 422);
    // A body beyond the form limit is refused before the handler reads it.
    let big = "x".repeat(web::FORM_BODY_LIMIT + 1);
    let r = w
        .town
        .http
        .post(w.town.url(&format!("/years/{}/fund/receipts", w.year)))
        .form(&[("csrf", w.csrf.as_str()), ("donor", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Nothing of it reached the ledger.
    let fund = w.town.get(&format!("/years/{}/fund", w.year)).await;
    assert!(!fund.has("张\u{202E}三") && !fund.has(&long));
}

/// PostgreSQL refuses NUL bytes in text; that used to surface as a 500.
async fn nul_bytes_are_bad_input_not_a_server_error(backend: Backend) {
    let w = world(backend).await;
    let search = w.town.get("/search?q=%E7%8E%8B%00").await;
    assert!(search.status < 500, "search with NUL: {}", search.status);
    let today = w.t.app.today().to_string();
    let donor = w.receipt("donation", "10", &today, "王\0丽").await;
    assert_eq!(donor.status, 422);
}

/// Coders, reviewers and auditors work from masked identifiers; revealing is for those who
/// must identify or call a resident.
async fn only_roles_that_need_it_may_reveal_identifiers(backend: Backend) {
    let t = TestApp::spawn(backend, 300).await;
    let clerk = t.login("clerk").await;
    let village = clerk.get("/regions/370323104201").await;
    let hh = village.first_id("/households/");
    let mid = clerk
        .get(&format!("/households/{hh}"))
        .await
        .first_id("/members/");
    for who in ["coder", "reviewer", "auditor"] {
        let c = t.login(who).await;
        let page = c.get(&format!("/members/{mid}")).await;
        assert_eq!(page.status, 200, "{who} sees the member");
        assert!(!page.has("/reveal\""), "{who} gets no reveal button");
        let csrf = c.csrf().await;
        let r = c
            .post_form(&format!("/members/{mid}/reveal"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, 403, "{who}");
    }
    let csrf = clerk.csrf().await;
    let shown = clerk
        .post_form(&format!("/members/{mid}/reveal"), &[("csrf", &csrf)])
        .await;
    assert_eq!(shown.status, 200);
}

/// A design priced under an older rules version is not submitted or published.
async fn a_design_under_old_rules_cannot_be_submitted(backend: Backend) {
    let w = world(backend).await;
    let sys = Actor::system();
    let run = w
        .town
        .post_form(
            &format!("/years/{}/design", w.year),
            &[
                ("csrf", &w.csrf),
                ("surplus", "5"),
                ("shortfall", "2.5"),
                ("weighting", "need"),
                ("rounding", "10"),
            ],
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    let design: i64 = run.url.rsplit('/').next().unwrap().parse().unwrap();
    let year = w.t.app.year(&sys, w.year).await.unwrap();
    let mut rules = year.rules.clone();
    rules.min_subsidy += domain::Fen::from_yuan(100);
    w.t.app
        .change_rules(
            &sys.scheme_manager().unwrap(),
            &sys,
            w.year,
            rules,
            "提高最低补助",
        )
        .await
        .unwrap();
    let submitted = w
        .town
        .post_form(
            &format!("/years/{}/designs/{design}/submit", w.year),
            &[("csrf", &w.csrf)],
        )
        .await;
    assert_eq!(submitted.status, 422);
    assert!(submitted.has("请按现行规则重新设计"), "{}", submitted.body);
}

/// Rows beside the chain (an enrolment's total, a donor's name) changed in the database are
/// found by `ledger verify`; a printed head is checked on a public page.
async fn money_rows_beside_the_chain_are_checked(backend: Backend) {
    let w = world(backend).await;
    for v in w.verify_all().await {
        v.unwrap();
    }
    let year = w.t.app.year(&Actor::system(), w.year).await.unwrap();
    let pool = year.row.pool_code.clone();
    let (seq, hash) =
        w.t.app
            .chain_head(&Actor::system(), w.year)
            .await
            .unwrap()
            .unwrap();
    // The public check of the printed head: matches, then a wrong hash does not.
    let ok =
        w.t.client()
            .get(&format!("/public/verify?pool={pool}&seq={seq}&hash={hash}"))
            .await;
    assert_eq!(ok.status, 200);
    assert!(ok.has("相符：第"), "{}", ok.body);
    let wrong = format!(
        "{}{}",
        &hash[..63],
        if hash.ends_with('0') { '1' } else { '0' }
    );
    let bad =
        w.t.client()
            .get(&format!(
                "/public/verify?pool={pool}&seq={seq}&hash={wrong}"
            ))
            .await;
    assert!(bad.has("不相符"));

    let enrolment = "UPDATE enrolments SET total_fen = total_fen + $2 \
        WHERE id = (SELECT MIN(id) FROM enrolments WHERE year_id = $1)";
    w.sql(enrolment, 100).await;
    assert_eq!(w.first_disagreeing_table().await, "enrolments");
    w.sql(enrolment, -100).await;
    w.sql(
        "UPDATE donations SET donor_name = '别人' WHERE year_id = $1 AND $2 = $2",
        0,
    )
    .await;
    assert_eq!(w.first_disagreeing_table().await, "donations");
}

/// A receipt above the pool's review amount waits for a second manager; its typist cannot
/// confirm it; another manager posts it once.
async fn a_large_receipt_needs_a_second_manager(backend: Backend) {
    let w = world(backend).await;
    let today = w.t.app.today().to_string();
    let held = w.receipt("donation", "150000", &today, "县慈善总会").await;
    assert_eq!(held.status, 200);
    assert!(held.has("已登记为待复核"), "{}", held.body);
    assert!(held.has("等待另一名管理员复核"));
    let sys = Actor::system();
    let reader = sys.fund_reader().unwrap();
    let pending = w.t.app.pending_receipts(&reader, w.year).await.unwrap();
    assert_eq!(pending.len(), 1);
    let id = pending[0].id;
    let path = format!("/years/{}/fund/pending/{id}/decide", w.year);
    let own = w
        .town
        .post_form(&path, &[("csrf", &w.csrf), ("decision", "confirm")])
        .await;
    assert_eq!(own.status, 422);
    assert!(own.has("另一名管理员复核"));
    // The county admin confirms; ten parallel confirmations post it once.
    let county = w.t.login("county").await;
    let csrf = county.csrf().await;
    let pages = county
        .post_form_parallel(5, &path, &[("csrf", &csrf), ("decision", "confirm")])
        .await;
    assert_eq!(pages.iter().filter(|p| p.status == 200).count(), 1);
    assert!(pages
        .iter()
        .all(|p| p.status == 200 || p.status == 409 || p.status == 404));
    let fund = w.town.get(&format!("/years/{}/fund", w.year)).await;
    assert!(fund.has("单位捐赠：县慈善总会") || fund.has("个人捐赠：县慈善总会"));
    assert!(w
        .t
        .app
        .pending_receipts(&reader, w.year)
        .await
        .unwrap()
        .is_empty());
    for v in w.verify_all().await {
        v.unwrap();
    }
}

/// Seeing a county pool's year (a town admin does) is not running it: the town admin cannot
/// submit its design. A fee the size that used to overflow the rules check is refused by size.
async fn a_town_admin_cannot_submit_a_county_design(backend: Backend) {
    let w = world(backend).await;
    let sys = Actor::system();
    let start = w.t.app.today().year() + 2;
    let rules = scheme::template("anji", start).unwrap().rules;
    let county_year =
        w.t.app
            .open_year(
                &sys.scheme_manager().unwrap(),
                &sys,
                "370323",
                &format!("{start}年度"),
                "anji",
                rules,
                None,
            )
            .await
            .unwrap();
    // A real design of the town's year, filed under the county year (as the county would have
    // run it once the county pool has money).
    let mgr = sys.scheme_manager().unwrap();
    let params = app::design::DesignParams::default();
    let town_design =
        w.t.app
            .run_design(&mgr, &sys, w.year, params)
            .await
            .unwrap();
    let mut conn = w.t.app.db.acquire().await.unwrap();
    let row = store::designs::get(&mut conn, w.year, town_design)
        .await
        .unwrap()
        .unwrap();
    let design = store::designs::insert(
        &mut conn,
        &store::designs::NewDesign {
            year_id: county_year,
            rules_version: 1,
            params_json: &row.params_json,
            summary_json: &row.summary_json,
            amounts_json: &row.amounts_json,
            by: "county",
            at: &row.created_at,
        },
    )
    .await
    .unwrap();
    drop(conn);
    let submitted = w
        .town
        .post_form(
            &format!("/years/{county_year}/designs/{design}/submit"),
            &[("csrf", &w.csrf)],
        )
        .await;
    assert_eq!(submitted.status, 403, "{}", submitted.body);

    // The rules form refuses a per-person fee beyond any programme's by size.
    let mut rules = w.t.app.year(&sys, w.year).await.unwrap().rules;
    rules.fee_per_person = domain::Fen::MAX_TYPED;
    rules.personal_part = domain::Fen::MAX_TYPED;
    let refused =
        w.t.app
            .change_rules(&sys.scheme_manager().unwrap(), &sys, w.year, rules, "试探")
            .await
            .unwrap_err();
    assert!(refused.to_string().contains("超出允许范围"), "{refused}");
}

on_both_backends!(
    a_town_admin_cannot_submit_a_county_design,
    a_large_receipt_needs_a_second_manager,
    absurd_amounts_and_dates_are_refused_and_the_pool_stays_usable,
    fields_and_bodies_are_bounded,
    nul_bytes_are_bad_input_not_a_server_error,
    only_roles_that_need_it_may_reveal_identifiers,
    a_design_under_old_rules_cannot_be_submitted,
    money_rows_beside_the_chain_are_checked,
);
