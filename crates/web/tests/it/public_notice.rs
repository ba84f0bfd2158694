//! The payout's public side: `/public`, a pool's page, a notice (masked names, no DRG unless the
//! rules say so), the village sheet, the QR codes and the objection form with its throttle.

use crate::common::{Backend, TestApp, TownYear};
use crate::on_both_backends;
use app::payout::CardInput;
use app::Actor;

const POOL: &str = "370323104";

/// A 16-digit card number passing the Luhn check, distinct per `n`.
fn card_number(n: usize) -> String {
    payout::card::with_check_digit(&format!("622848{n:09}"))
}

/// The demo county with demo claims, a card for every member with an approved claim of the
/// town's pool, and a batch of them on notice from today. Returns the batch number and the
/// full names of its members (which the notice must not show).
async fn batch_on_notice(w: &TownYear) -> (String, Vec<String>) {
    let app = &w.t.app;
    app.load_demo_claims(40).await.expect("demo claims");
    let system = Actor::system();
    let officer = system.payout_officer().unwrap();
    let keeper = system.card_keeper().unwrap();
    let today = app.today();
    let years: Vec<i64> = app
        .years(&system)
        .await
        .unwrap()
        .iter()
        .filter(|y| y.pool_code == POOL)
        .map(|y| y.id)
        .collect();
    for year in years {
        let preview = app.batch_preview(&officer, year, today).await.unwrap();
        if preview.without_card.is_empty() && preview.lines == 0 {
            continue;
        }
        let mut names = Vec::new();
        for (i, e) in preview.without_card.iter().enumerate() {
            let card = CardInput {
                bank_name: "农村信用社".into(),
                card_number: card_number(i + 1),
                ..Default::default()
            };
            app.record_card(&keeper, &system, e.member_id, &card)
                .await
                .expect("card");
            names.push(e.name.clone());
        }
        let id = app
            .create_batch(&officer, &system, year, today)
            .await
            .expect("batch");
        let view = app.batch(&system, id).await.unwrap();
        return (view.batch.batch_no, names);
    }
    panic!("no approved demo claim in pool {POOL}");
}

async fn objections(app: &app::App) -> usize {
    let actor = Actor {
        user_id: None,
        username: "reviewer".into(),
        display_name: "审核员".into(),
        role: domain::Role::Reviewer,
        region: domain::RegionCode::parse("370323").ok(),
        ip: "test".into(),
    };
    let reviewer = actor.claim_reviewer().unwrap();
    app.objections(&reviewer).await.unwrap().len()
}

async fn notice_public_and_objections(backend: Backend) {
    let w = TownYear::spawn(backend, 300).await;
    let (batch_no, names) = batch_on_notice(&w).await;
    let resident = w.t.client();

    // The front door lists the pool; the pool's page lists the notice as running.
    let r = resident
        .http
        .get(resident.url("/public"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    let body = r.text().await.unwrap();
    assert!(body.contains(&format!("href=\"/public/pools/{POOL}\"")));
    let pool = resident.get(&format!("/public/pools/{POOL}")).await;
    assert_eq!(pool.status, 200);
    assert!(pool.has(&format!("href=\"/public/notices/{batch_no}\"")));
    assert!(pool.has("公示中"));
    assert!(pool.has(&format!("/public/pools/{POOL}/qr.svg")));

    // The notice: masked names, no DRG (the template's rules do not publish it), the chain head.
    let notice =
        w.t.app
            .payout_notice(&batch_no, app::payout::NoticeSelect::Page(1))
            .await
            .unwrap();
    let page = resident.get(&format!("/public/notices/{batch_no}")).await;
    assert_eq!(page.status, 200);
    assert!(page.has("医疗互助金发放公示（批次"));
    assert!(page.has(&format!("hash={}", notice.batch.chain_head)));
    assert!(page.has("/public/verify"));
    assert!(page.has("村委会或乡镇医保办"));
    for l in &notice.lines {
        assert!(page.has(&l.name_masked), "{}", l.name_masked);
        assert!(l.drg_name.is_none());
    }
    for n in &names {
        assert!(!page.has(&format!(">{n}<")), "full name {n} on the notice");
    }
    assert!(!page.has("病种"));
    assert!(page.has(&format!("/public/notices/{batch_no}/lines/1/object")));
    assert!(page.has(&format!("合计 {} 元", notice.total)));
    // A page number out of range or not a number shows the nearest page, not an error.
    for q in ["?page=99", "?page=x", "?page=0"] {
        let p = resident
            .get(&format!("/public/notices/{batch_no}{q}"))
            .await;
        assert_eq!(p.status, 200, "{q}");
        assert!(
            p.has(&format!("/public/notices/{batch_no}/lines/1/object")),
            "{q}"
        );
    }

    // The village sheet for the notice board.
    let (village, village_name) = notice.villages[0].clone();
    let sheet = resident
        .get(&format!("/public/notices/{batch_no}/villages/{village}"))
        .await;
    assert_eq!(sheet.status, 200);
    assert!(sheet.has("村委会（盖章）") && sheet.has(&village_name));
    assert!(sheet.has(&format!("/public/notices/{batch_no}/qr.svg")));
    assert!(sheet.has("/public/sheet.css") && !sheet.has("<nav"));
    let css = resident.get("/public/sheet.css").await;
    assert!(css.has("size: A4"));
    assert_eq!(
        resident
            .get(&format!("/public/notices/{batch_no}/villages/370323999999"))
            .await
            .status,
        404
    );

    // QR codes are SVG images.
    for path in [
        format!("/public/pools/{POOL}/qr.svg"),
        format!("/public/notices/{batch_no}/qr.svg"),
    ] {
        let r = resident.http.get(resident.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert!(r.text().await.unwrap().contains("<svg"), "{path}");
    }

    // Unknown batch, line or pool: 404.
    for path in [
        "/public/notices/370323104-209901-9".to_string(),
        "/public/notices/370323104-209901-9/qr.svg".to_string(),
        format!("/public/notices/{batch_no}/lines/99999/object"),
        format!("/public/notices/{batch_no}/lines/x/object"),
        "/public/pools/999999".to_string(),
    ] {
        assert_eq!(resident.get(&path).await.status, 404, "{path}");
    }

    // Objections: a bad phone is refused next to its field, with the input kept, and nothing
    // is stored.
    let form = format!("/public/notices/{batch_no}/lines/1/object");
    let get = resident.get(&form).await;
    assert_eq!(get.status, 200);
    assert!(get.has("name=\"phone\""));
    let bad = resident
        .post_form(&form, &[("phone", "12345"), ("text", "此人并未住院")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.has("id=\"phone-error\"") && bad.has("手机号码"));
    assert!(bad.has("此人并未住院") && bad.has("value=\"12345\""));
    assert_eq!(objections(&w.t.app).await, 0);
    let empty = resident
        .post_form(&form, &[("phone", ""), ("text", "")])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.has("请填写手机号码"));

    // A valid one is stored and numbered.
    let ok = resident
        .post_form(&form, &[("phone", "13800138000"), ("text", "此人并未住院")])
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.has("异议已提交") && ok.has("id=\"objection-no\""));
    assert_eq!(objections(&w.t.app).await, 1);

    // Three a day from one phone; the fourth is refused and not stored.
    for _ in 0..2 {
        let p = resident
            .post_form(&form, &[("phone", "138 0013 8000"), ("text", "金额不对")])
            .await;
        assert_eq!(p.status, 200, "{}", p.body);
    }
    let fourth = resident
        .post_form(&form, &[("phone", "13800138000"), ("text", "金额不对")])
        .await;
    assert_eq!(fourth.status, 409);
    assert!(fourth.has("提交过于频繁"));
    assert_eq!(objections(&w.t.app).await, 3);

    // A burst of parallel submissions does not get past the throttle either.
    let burst = resident
        .post_form_parallel(6, &form, &[("phone", "13700137000"), ("text", "金额不对")])
        .await;
    let statuses: Vec<u16> = burst.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(objections(&w.t.app).await, 6);

    // After the notice period: the same notice refuses objections (a server whose clock is two
    // months on, on the same database).
    let url = w.t.app.db.pool().connect_options().database_url.to_string();
    let db = store::Db::connect(&url).await.unwrap();
    let later = app::App::new(db, w.t.app.keys.clone()).with_clock(app::Clock::fixed(
        chrono::Utc::now() + chrono::Duration::days(60),
    ));
    let later = TestApp::serve(later).await;
    let c = later.client();
    let page = c.get(&format!("/public/notices/{batch_no}")).await;
    assert_eq!(page.status, 200);
    assert!(page.has("公示已结束") && !page.has("我有异议"));
    let closed = c.get(&form).await;
    assert!(closed.has("公示期已结束") && !closed.has("name=\"phone\""));
    let refused = c
        .post_form(&form, &[("phone", "13900139000"), ("text", "此人并未住院")])
        .await;
    assert_eq!(refused.status, 409);
    assert!(refused.has("公示期已结束"));
    assert_eq!(objections(&w.t.app).await, 6);
}

on_both_backends!(notice_public_and_objections);
