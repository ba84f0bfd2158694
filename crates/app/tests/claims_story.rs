//! Claims end to end, on SQLite and on PostgreSQL: a clerk files a claim with three photos, the
//! checks at intake refuse what they must with reasons, duplicates are flagged, the coder codes
//! and the grouper and the subsidy function decide the amount, the reviewer (never the coder)
//! approves, the SMS wait in the outbox; documents are encrypted and seen only in the area; the
//! clock stops while documents are awaited; two reviewers at once → one decision; the deadline
//! skips a holiday.
//!
//! PostgreSQL must be running at 127.0.0.1:5432 with trust auth (or set SHOUWANG_TEST_PG_URL).

use app::claims::{CodingInput, ReviewDecision, StayInput, Upload};
use app::{Actor, App, AppError, PiiKeys};
use chrono::{Days, NaiveDate};
use domain::{ClaimId, ClaimStatus, DocumentRole, DuplicateKind, Fen, Proposal, RegionCode, Role};
use store::sqlx_reexport as sqlx;
use store::Backend;

const TOWN: &str = "370323104";
const OTHER_TOWN: &str = "370323105";
const COUNTY: &str = "370323";

struct World {
    app: App,
    url: String,
    year_id: i64,
    hospital_id: i64,
    /// An enrolled member of the town with a phone, and the village clerk's actor.
    member_id: i64,
    clerk: Actor,
    coder: Actor,
    reviewer: Actor,
    /// A diagnosis code whose DRG has an amount in the published table.
    dx: String,
}

fn actor(username: &str, role: Role, region: &str) -> Actor {
    Actor {
        user_id: None,
        username: username.into(),
        display_name: username.into(),
        role,
        region: Some(RegionCode::parse(region).unwrap()),
        ip: "127.0.0.1".into(),
    }
}

fn png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(40, 30, |x, y| {
        image::Rgb([seed, (x * 6) as u8, (y * 8) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn uploads(seed: u8) -> Vec<Upload> {
    DocumentRole::REQUIRED
        .into_iter()
        .enumerate()
        .map(|(i, role)| Upload {
            role,
            bytes: png(seed.wrapping_mul(3).wrapping_add(i as u8)),
        })
        .collect()
}

async fn world(backend: Backend) -> World {
    let url = store::testing::fresh_database(backend)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432)");
    let app = App::new(
        store::Db::connect(&url).await.expect("connect and migrate"),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(400, 11)
        .await
        .unwrap()
        .expect("empty database");
    app.load_demo_years().await.unwrap();
    let admission = app.today() - Days::new(20);
    let mut conn = app.db.acquire().await.unwrap();
    let (member_id, village): (i64, String) = sqlx::query_as(
        "SELECT m.id, m.village_code FROM members m JOIN enrolment_members e ON e.member_id = m.id \
         JOIN scheme_years y ON y.id = e.year_id WHERE e.active = 1 AND e.included = 1 AND e.insurance = 'resident' \
         AND m.phone_cipher IS NOT NULL AND m.village_code LIKE $1 AND m.village_code NOT LIKE $2 \
         AND y.period_start <= $3 AND y.period_end >= $3 ORDER BY m.id LIMIT 1",
    )
    .bind(format!("{TOWN}%"))
    .bind(format!("{TOWN}204%"))
    .bind(admission.to_string())
    .fetch_one(&mut *conn)
    .await
    .expect("an enrolled member with a phone");
    let (year_id,): (i64,) = sqlx::query_as(
        "SELECT id FROM scheme_years WHERE pool_code = $1 AND period_start <= $2 AND period_end >= $2",
    )
    .bind(TOWN)
    .bind(admission.to_string())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let now = app.now_text();
    let (hospital_id,): (i64,) = sqlx::query_as(
        "INSERT INTO hospitals (county_code, name, level, designated, location, active, created_at, \
         updated_at) VALUES ($1, '测试县人民医院', 'secondary', 1, 'in_province', 1, $2, $2) \
         ON CONFLICT (county_code, name) DO UPDATE SET active = 1 RETURNING id",
    )
    .bind(COUNTY)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let dx = publish_table(&app, year_id).await;
    World {
        app,
        url,
        year_id,
        hospital_id,
        member_id,
        clerk: actor("clerk", Role::VillageClerk, &village),
        coder: actor("coder", Role::Coder, COUNTY),
        reviewer: actor("reviewer", Role::Reviewer, COUNTY),
        dx,
    }
}

/// Runs the one-click design for the year, publishes it, and returns a diagnosis whose DRG (for
/// a man of the member's kind, seven days) has an amount in the table.
async fn publish_table(app: &App, year_id: i64) -> String {
    let system = Actor::system();
    let mgr = system.scheme_manager().unwrap();
    let design = app
        .run_design(&mgr, &system, year_id, app::design::DesignParams::default())
        .await
        .unwrap();
    app.submit_design(&mgr, &system, year_id, design)
        .await
        .unwrap();
    let approver = actor("county", Role::CountyAdmin, COUNTY);
    app.decide_design(
        &approver.design_approver().unwrap(),
        &approver,
        year_id,
        design,
        true,
        "",
    )
    .await
    .unwrap();
    let (_, lines) = app
        .published_table(&system, year_id, "")
        .await
        .unwrap()
        .expect("published");
    let amounts: std::collections::HashMap<String, i64> =
        lines.into_iter().map(|l| (l.drg, l.amount_fen)).collect();
    let g = drg::Grouper::load(&drg::Version::chs_drg_2_0()).unwrap();
    for term in [
        "肺炎",
        "脑梗死",
        "胆囊",
        "心绞痛",
        "骨折",
        "支气管",
        "高血压",
        "糖尿病",
    ] {
        for hit in g.search(term, 200) {
            let drg::SearchHit::Diagnosis { code, .. } = hit else {
                continue;
            };
            let ok = [1u8, 2].iter().all(|&sex| {
                let o = g.group_fast(&drg::Stay {
                    sex: Some(sex),
                    age_years: Some(50),
                    los_days: Some(20),
                    discharge_mode: Some(1),
                    principal_dx: code.clone(),
                    ..Default::default()
                });
                o.status == drg::Status::Grouped
                    && amounts.get(g.drg_code(&o).as_ref()).is_some_and(|a| *a > 0)
            });
            if ok {
                return code;
            }
        }
    }
    panic!("no common diagnosis groups into the published table");
}

impl World {
    fn stay(&self, settlement: &str) -> StayInput {
        let today = self.app.today();
        StayInput {
            hospital_id: self.hospital_id,
            admission: today - Days::new(20),
            discharge: today - Days::new(10),
            insurance: None,
            total: Fen::from_yuan(20_000),
            basic: Fen::from_yuan(12_000),
            serious: Fen::ZERO,
            assistance: Fen::ZERO,
            settlement_no: settlement.into(),
        }
    }

    async fn file(&self, settlement: &str, seed: u8) -> Result<ClaimId, AppError> {
        self.app
            .file_claim(
                &self.clerk.claim_intake().unwrap(),
                &self.clerk,
                self.member_id,
                self.stay(settlement),
                uploads(seed),
            )
            .await
    }

    async fn revision(&self, id: ClaimId) -> i64 {
        self.app
            .claim(&self.coder, id)
            .await
            .unwrap()
            .claim
            .revision
    }

    async fn code_and_propose(&self, id: ClaimId) -> app::claims::Evaluation {
        let coding = CodingInput::parse(&self.dx, "", "", "1", &[]).unwrap();
        let c = self.coder.claim_coder().unwrap();
        let rev = self.revision(id).await;
        let eval = self
            .app
            .code_claim(&c, &self.coder, id, rev, &coding)
            .await
            .unwrap();
        let rev = self.revision(id).await;
        self.app
            .propose_claim(&c, &self.coder, id, rev, Proposal::Subsidy, "")
            .await
            .unwrap();
        eval
    }

    async fn sms_templates(&self, id: ClaimId) -> Vec<String> {
        let mut conn = self.app.db.acquire().await.unwrap();
        sqlx::query_scalar("SELECT template FROM sms_outbox WHERE subject = $1 ORDER BY id")
            .bind(format!("claim:{id}"))
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    }

    async fn claims_count(&self) -> i64 {
        let mut conn = self.app.db.acquire().await.unwrap();
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM claims")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }

    async fn finish(self) {
        self.app.db.close().await;
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

async fn intake_coding_review_and_sms(backend: Backend) {
    let w = world(backend).await;
    let id = w.file("JS-0001", 1).await.expect("filed");
    let view = w.app.claim(&w.coder, id).await.unwrap();
    assert_eq!(view.claim.status, ClaimStatus::Received);
    assert_eq!(view.claim.application_no.len(), 14);
    assert_eq!(view.documents.len(), 3);
    assert_eq!(view.claim.money.out_of_pocket, Fen::from_yuan(8_000));
    assert!(view.flags.is_empty(), "{:?}", view.flags);
    assert_eq!(w.sms_templates(id).await, ["claim_received"]);

    let eval = w.code_and_propose(id).await;
    assert!(eval.grouped, "{:?}", eval.group_reason);
    assert!(eval.amount() >= Fen::from_yuan(300), "{eval:?}");
    assert!(!eval.trace.is_empty() && !eval.steps_zh.is_empty());

    // The coder cannot review; a coder who also held a reviewer role would be refused too.
    assert!(w.coder.claim_reviewer().is_none());
    let mut coder_as_reviewer = w.reviewer.clone();
    coder_as_reviewer.username = "coder".into();
    let rev = w.revision(id).await;
    let r = coder_as_reviewer.claim_reviewer().unwrap();
    let err = w
        .app
        .review_claim(&r, &coder_as_reviewer, id, rev, ReviewDecision::Approve)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden), "{err:?}");

    let r = w.reviewer.claim_reviewer().unwrap();
    let to = w
        .app
        .review_claim(&r, &w.reviewer, id, rev, ReviewDecision::Approve)
        .await
        .unwrap();
    assert_eq!(to, ClaimStatus::Approved);
    let view = w.app.claim(&w.clerk, id).await.unwrap();
    assert_eq!(view.claim.amount, eval.amount());
    assert_eq!(view.claim.decided_by.as_deref(), Some("reviewer"));
    assert_eq!(
        w.sms_templates(id).await,
        ["claim_received", "claim_approved"]
    );
    let kinds: Vec<_> = view.events.iter().map(|e| e.kind.code()).collect();
    assert_eq!(kinds, ["received", "coded", "proposed", "approved"]);

    // A decided claim changes only through a recorded re-opening.
    let c = w.coder.claim_coder().unwrap();
    let coding = CodingInput::parse(&w.dx, "", "", "1", &[]).unwrap();
    let rev = w.revision(id).await;
    assert!(matches!(
        w.app.code_claim(&c, &w.coder, id, rev, &coding).await,
        Err(AppError::Conflict(_))
    ));
    let reopener = w.reviewer.claim_reopener().unwrap();
    assert!(matches!(
        w.app
            .reopen_claim(&reopener, &w.reviewer, id, rev, "  ")
            .await,
        Err(AppError::Invalid(_))
    ));
    w.app
        .reopen_claim(&reopener, &w.reviewer, id, rev, "结算单金额更正")
        .await
        .unwrap();
    let view = w.app.claim(&w.coder, id).await.unwrap();
    assert_eq!(view.claim.status, ClaimStatus::Received);
    assert_eq!(view.claim.amount, Fen::ZERO);
    assert_eq!(view.events.last().unwrap().note, "结算单金额更正");
    w.finish().await;
}

async fn intake_refuses_with_reasons_and_writes_nothing(backend: Backend) {
    let w = world(backend).await;
    let intake = w.clerk.claim_intake().unwrap();
    let mut stay = w.stay("JS-0002");
    stay.basic = Fen::from_yuan(17_500) + Fen(1); // out of pocket 2,499.99: below 2,500
    let mut docs = uploads(2);
    docs.retain(|u| u.role != DocumentRole::CostList);
    let err = w
        .app
        .file_claim(&intake, &w.clerk, w.member_id, stay, docs)
        .await
        .unwrap_err();
    let AppError::Invalid(msg) = err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("缺少住院费用清单"), "{msg}");
    assert!(msg.contains("未达到起付线"), "{msg}");

    let mut stay = w.stay("JS-0003");
    stay.discharge = w.app.today() + Days::new(1);
    let err = w
        .app
        .file_claim(&intake, &w.clerk, w.member_id, stay, uploads(3))
        .await;
    assert!(matches!(err, Err(AppError::Invalid(m)) if m.contains("不能晚于今天")));

    let mut stay = w.stay("JS-0004");
    stay.admission = NaiveDate::from_ymd_opt(2001, 1, 1).unwrap();
    let err = w
        .app
        .file_claim(&intake, &w.clerk, w.member_id, stay, uploads(4))
        .await;
    assert!(matches!(err, Err(AppError::Invalid(m)) if m.contains("不在任何互助年度")));

    let mut bad = uploads(5);
    bad[0].bytes = b"<html>not a photo</html>".to_vec();
    let err = w
        .app
        .file_claim(&intake, &w.clerk, w.member_id, w.stay("JS-0005"), bad)
        .await;
    assert!(matches!(err, Err(AppError::Invalid(m)) if m.contains("出院记录")));

    // A clerk of another village does not find the member.
    let other = actor("other", Role::VillageClerk, &format!("{OTHER_TOWN}201"));
    let err = w
        .app
        .file_claim(
            &other.claim_intake().unwrap(),
            &other,
            w.member_id,
            w.stay("JS-0006"),
            uploads(6),
        )
        .await;
    assert!(matches!(err, Err(AppError::NotFound)));
    assert_eq!(w.claims_count().await, 0);
    w.finish().await;
}

async fn duplicates_are_flagged_not_dropped(backend: Backend) {
    let w = world(backend).await;
    let first = w.file("JS-0100", 7).await.unwrap();
    // The same stay again, the same settlement number and the same photos.
    let second = w.file("JS-0100", 7).await.unwrap();
    let view = w.app.claim(&w.coder, second).await.unwrap();
    let kinds: std::collections::HashSet<_> = view.flags.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            DuplicateKind::OverlappingStay,
            DuplicateKind::SameSettlementNo,
            DuplicateKind::SameDocument
        ]
        .into_iter()
        .collect()
    );
    assert!(view.flags.iter().all(|f| f.other == first));
    w.finish().await;
}

async fn documents_are_encrypted_and_seen_only_in_the_area(backend: Backend) {
    let w = world(backend).await;
    let id = w.file("JS-0200", 9).await.unwrap();
    let view = w.app.claim(&w.coder, id).await.unwrap();
    let doc = &view.documents[0];
    let (bytes, mime) = w
        .app
        .claim_document(&w.coder, id, doc.id, false)
        .await
        .unwrap();
    assert_eq!(mime, "image/png");
    assert!(bytes.starts_with(b"\x89PNG"));
    let (thumb, mime) = w
        .app
        .claim_document(&w.coder, id, doc.id, true)
        .await
        .unwrap();
    assert_eq!(mime, "image/jpeg");
    assert!(!thumb.is_empty());
    let stored = std::fs::read(
        std::env::temp_dir()
            .join("shouwang-documents")
            .join(&doc.object_name),
    );
    if let Ok(raw) = stored {
        assert!(!raw.windows(4).any(|w| w == b"IHDR"), "stored in the clear");
    }
    let outsider = actor("outsider", Role::Coder, "370324");
    assert!(matches!(
        w.app.claim_document(&outsider, id, doc.id, false).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        w.app.claim(&outsider, id).await,
        Err(AppError::NotFound)
    ));
    w.finish().await;
}

async fn the_clock_stops_while_documents_are_awaited(backend: Backend) {
    let w = world(backend).await;
    let id = w.file("JS-0300", 11).await.unwrap();
    let c = w.coder.claim_coder().unwrap();
    let rev = w.revision(id).await;
    w.app
        .request_claim_documents(&c, &w.coder, id, rev, "请补交加盖医院公章的费用清单")
        .await
        .unwrap();
    let view = w.app.claim(&w.clerk, id).await.unwrap();
    assert_eq!(view.claim.status, ClaimStatus::AwaitingDocuments);
    assert!(view.days_left.is_none());
    let left = view.claim.days_left_paused.expect("the clock stopped");
    assert_eq!(
        w.sms_templates(id).await,
        ["claim_received", "documents_requested"]
    );
    let more = vec![Upload {
        role: DocumentRole::CostList,
        bytes: png(200),
    }];
    w.app
        .add_claim_documents(&w.clerk.claim_intake().unwrap(), &w.clerk, id, more)
        .await
        .unwrap();
    let view = w.app.claim(&w.clerk, id).await.unwrap();
    assert_eq!(view.claim.status, ClaimStatus::Received);
    assert_eq!(view.documents.len(), 4);
    assert_eq!(view.days_left, Some(i64::from(left)));
    w.finish().await;
}

async fn two_reviewers_at_once_one_decision(backend: Backend) {
    let w = world(backend).await;
    let id = w.file("JS-0400", 13).await.unwrap();
    w.code_and_propose(id).await;
    let rev = w.revision(id).await;
    let a = actor("reviewer-a", Role::Reviewer, COUNTY);
    let b = actor("reviewer-b", Role::Reviewer, COUNTY);
    let (ra, rb) = (a.claim_reviewer().unwrap(), b.claim_reviewer().unwrap());
    let (x, y) = tokio::join!(
        w.app
            .review_claim(&ra, &a, id, rev, ReviewDecision::Approve),
        w.app
            .review_claim(&rb, &b, id, rev, ReviewDecision::Refuse("重复申请".into())),
    );
    let wins = [x.is_ok(), y.is_ok()].iter().filter(|o| **o).count();
    assert_eq!(wins, 1, "{x:?} {y:?}");
    assert!(matches!(x.err().or(y.err()), Some(AppError::Conflict(_))));
    let view = w.app.claim(&w.coder, id).await.unwrap();
    assert!(view.claim.status.is_decided());
    let decisions = view.events.iter().filter(|e| e.to.is_decided()).count();
    assert_eq!(decisions, 1);
    w.finish().await;
}

/// Received on the last working day before the National Day holiday, the five working days
/// run past it (the year's calendar, not calendar days).
async fn the_deadline_skips_a_holiday(backend: Backend) {
    let mut w = world(backend).await;
    let year = w.app.year(&w.coder, w.year_id).await.unwrap();
    let cal = &year.rules.calendar;
    let received = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
    let due = cal.add_working_days(received, year.rules.decision_working_days);
    // 1–7 October 2026 are holidays and 10 October a working Saturday (国务院办公厅通知).
    assert!((1..=7).all(|d| !cal.is_working_day(NaiveDate::from_ymd_opt(2026, 10, d).unwrap())));
    assert!(due > NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(), "{due}");
    let at = received.and_hms_opt(2, 0, 0).unwrap().and_utc(); // 10:00 in Shanghai
    w.app = w.app.clone().with_clock(app::Clock::fixed(at));
    let mut stay = w.stay("JS-0500");
    stay.admission = NaiveDate::from_ymd_opt(2026, 9, 10).unwrap();
    stay.discharge = NaiveDate::from_ymd_opt(2026, 9, 20).unwrap();
    let covered =
        year.rules.period_start <= stay.admission && stay.admission <= year.rules.period_end;
    if covered {
        let id = w
            .app
            .file_claim(
                &w.clerk.claim_intake().unwrap(),
                &w.clerk,
                w.member_id,
                stay,
                uploads(15),
            )
            .await
            .unwrap();
        let view = w.app.claim(&w.coder, id).await.unwrap();
        assert_eq!(view.claim.due_on, due);
        assert_eq!(
            view.days_left,
            Some(i64::from(year.rules.decision_working_days))
        );
    }
    w.finish().await;
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(store::Backend::Sqlite).await }) *
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(store::Backend::Postgres).await }) *
        }
    };
}

on_both!(
    intake_coding_review_and_sms,
    intake_refuses_with_reasons_and_writes_nothing,
    duplicates_are_flagged_not_dropped,
    documents_are_encrypted_and_seen_only_in_the_area,
    the_clock_stops_while_documents_are_awaited,
    two_reviewers_at_once_one_decision,
    the_deadline_skips_a_holiday,
);
