use super::common::*;
use crate::on_both_backends;

/// Ids of a village, household, member, scheme year, enrolment and design inside a town,
/// looked up (or, for the design, made) as the system.
struct Entities {
    village: String,
    household: i64,
    member: i64,
    year: i64,
    enrolment: i64,
    design: i64,
    /// A receipt above the review amount, held for a second manager.
    pending: i64,
    /// A hospital of the county register (the demo county's for both towns; the walk puts the
    /// outside one in another county, see `other_county_hospital`).
    hospital: i64,
    /// A claim filed in the town, and one of its documents.
    claim: i64,
    document: i64,
    /// The town's payout: an approved batch, its first line (paid, then recovered), a dismissed
    /// objection to it, the line's card and its member, and the recovery.
    payout: super::payout::PayoutIds,
}

async fn entities_in(t: &TestApp, village: &str) -> Entities {
    let mut conn = t.app.db.acquire().await.unwrap();
    let all = store::Scope::all();
    let hh = store::roster::village_households(&mut conn, &all, village, 0, 1)
        .await
        .unwrap();
    let household = hh[0].id;
    let members = store::roster::household_members(&mut conn, &all, household)
        .await
        .unwrap();
    let year = store::years::list(&mut conn, &all)
        .await
        .unwrap()
        .into_iter()
        .find(|y| village.starts_with(&y.pool_code) && y.previous_year_id.is_some())
        .expect("the demo opens this year for every town")
        .id;
    let enrolment = store::enrolment::for_village(&mut conn, year, village)
        .await
        .unwrap()[0]
        .id;
    let county = domain::RegionCode::parse(&village[..6]).unwrap();
    let hospital = store::hospitals::list(&mut conn, &all, &county)
        .await
        .unwrap()[0]
        .id
        .get();
    drop(conn);
    let (claim, document) = super::claims::claim_in(&t.app, &village[..9]).await;
    let payout = super::payout::payout_in(&t.app, &village[..9]).await;
    let system = app::Actor::system();
    let design = t
        .app
        .run_design(
            &system.scheme_manager().unwrap(),
            &system,
            year,
            app::design::DesignParams::default(),
        )
        .await
        .unwrap();
    let held = t
        .app
        .record_receipt(
            &system.scheme_manager().unwrap(),
            &system,
            year,
            t.app.today(),
            app::fund::Receipt::Donation {
                donor_name: domain::Line::parse("某基金会", 60).unwrap(),
                organisation: true,
                amount: domain::Fen::from_yuan(200_000),
            },
        )
        .await
        .unwrap();
    let app::fund::Recorded::AwaitingReview {
        pending_id: pending,
    } = held
    else {
        panic!("200,000 yuan is above the default review amount");
    };
    Entities {
        village: village.to_string(),
        household,
        member: members[0].id,
        year,
        enrolment,
        design,
        pending,
        hospital,
        claim,
        document,
        payout,
    }
}

/// A hospital on the register of a county other than the demo county's (a county register is
/// shared by all its towns, so the towns of one county cannot hide their hospitals from each
/// other).
async fn other_county_hospital(t: &TestApp) -> i64 {
    let mut conn = t.app.db.acquire().await.unwrap();
    store::regions::insert(
        &mut conn,
        &store::regions::NewRegion {
            code: "370305",
            name: "临淄区",
            level: "county",
            parent_code: None,
            is_virtual: false,
        },
        &t.app.now_text(),
    )
    .await
    .unwrap();
    drop(conn);
    let system = app::Actor::system();
    t.app
        .add_hospital(
            &system.hospital_keeper().unwrap(),
            &system,
            &domain::RegionCode::parse("370305").unwrap(),
            &app::HospitalInput {
                name: domain::HospitalName::parse("临淄区人民医院").unwrap(),
                level: domain::HospitalLevel::Secondary,
                designated: true,
                location: domain::HospitalLocation::InProvince,
                active: true,
            },
        )
        .await
        .unwrap()
        .get()
}

fn fill(template: &str, e: &Entities, job: i64) -> String {
    let id = if template.contains("households") {
        e.household
    } else {
        e.member
    };
    let p = &e.payout;
    // A card decision names the card's member.
    let member = if template.contains("{card}") {
        p.card_member
    } else {
        e.member
    };
    template
        .replace("{batch}", &p.batch.to_string())
        .replace("{line}", &p.line.to_string())
        .replace("{objection}", &p.objection.to_string())
        .replace("{card}", &p.card.to_string())
        .replace("{recovery}", &p.recovery.to_string())
        .replace("{code}", &e.village)
        .replace("{job}", &job.to_string())
        .replace("{year}", &e.year.to_string())
        .replace("{enrolment}", &e.enrolment.to_string())
        .replace("{design}", &e.design.to_string())
        .replace("{pending}", &e.pending.to_string())
        .replace("{hospital}", &e.hospital.to_string())
        .replace("{claim}", &e.claim.to_string())
        .replace("{document}", &e.document.to_string())
        .replace("{member}", &member.to_string())
        .replace("{action}", "reward")
        .replace("{id}", &id.to_string())
}

/// Every route that names a region, household, member or job answers 404 when the thing lies
/// outside the caller's area, and is found inside it (so the 404s prove the check, not a broken
/// route). The route list is `web::entity_routes()`, derived from the table the router is built
/// from.
async fn every_entity_route_hides_other_areas(backend: Backend) {
    let t = TestApp::spawn(backend, 400).await;
    t.app.load_demo_years().await.unwrap();
    // Approved claims in both towns, for a payout batch in each.
    t.app.load_demo_claims(20).await.unwrap();
    let inside = entities_in(&t, "370323104202").await; // 大张庄镇
    let mut outside = entities_in(&t, "370323105201").await; // 中庄镇
    outside.hospital = other_county_hospital(&t).await;

    // An import job of each town, so the job route has something on both sides.
    let town = t.login("town").await;
    let town2 = t.login("town2").await;
    let bad = app::import::roster_xlsx(&[]).unwrap();
    let job_of = |page: Page| page.url.rsplit('/').next().unwrap().parse::<i64>().unwrap();
    let own_job = job_of(town.import("a.xlsx", bad.clone()).await);
    let other_job = job_of(town2.import("b.xlsx", bad).await);

    let csrf = town.csrf().await;
    let routes = web::entity_routes();
    let mut checked = 0;
    for (method, template) in &routes {
        for (target, job, expect_ok) in [(&outside, other_job, false), (&inside, own_job, true)] {
            let path = fill(template, target, job);
            let status = match method.as_str() {
                "GET" => town
                    .http
                    .get(town.url(&path))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
                "POST" => town.post_form(&path, &[("csrf", &csrf)]).await.status,
                m => panic!("unexpected method {m}"),
            };
            if expect_ok {
                // Inside the area the route works, or the role is refused (403) or the request
                // judged (422) — anything but "not found".
                assert!(
                    matches!(status, 200 | 403 | 422),
                    "{method} {path} inside the area: {status}"
                );
            } else {
                assert_eq!(status, 404, "{method} {path} outside the area must be 404");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * 2);

    // A village clerk is confined to the village: the neighbouring village of the same town is
    // as invisible as another town.
    let clerk = t.login("clerk").await;
    for path in [
        format!("/regions/{}", inside.village),
        format!("/households/{}", inside.household),
        format!("/members/{}", inside.member),
        format!("/years/{}/villages/{}", inside.year, inside.village),
        format!("/enrolments/{}", inside.enrolment),
        "/regions/370323104".to_string(),
    ] {
        assert_eq!(clerk.get(&path).await.status, 404, "clerk {path}");
    }
    // Ids that do not exist at all look exactly the same.
    assert_eq!(town.get("/members/999999999").await.status, 404);
    assert_eq!(town.get("/members/abc").await.status, 404);
    // Search never crosses the boundary either.
    let outsider = t
        .app
        .reveal_member(&app::Actor::system(), outside.member)
        .await
        .unwrap();
    let found = town.get(&format!("/search?q={}", outsider.id_number)).await;
    assert!(!found.has(&format!("/members/{}\"", outside.member)));
    assert!(town2
        .get(&format!("/search?q={}", outsider.id_number))
        .await
        .has(&format!("/members/{}\"", outside.member)));
}

/// Without a session every page sends the visitor to the login page, and the API says 401.
async fn anonymous_visitors_see_nothing(backend: Backend) {
    let t = TestApp::spawn(backend, 100).await;
    let c = t.client();
    let nobody = Entities {
        village: "370323104201".into(),
        household: 1,
        member: 1,
        year: 1,
        enrolment: 1,
        design: 1,
        pending: 1,
        hospital: 1,
        claim: 1,
        document: 1,
        payout: super::payout::PayoutIds {
            batch: 1,
            line: 1,
            objection: 1,
            card: 1,
            card_member: 1,
            recovery: 1,
        },
    };
    for (_, template) in web::entity_routes()
        .into_iter()
        .filter(|(m, _)| m == axum::http::Method::GET)
    {
        let path = fill(template, &nobody, 1);
        let p = c.get(&path).await;
        if path.starts_with("/api/") {
            assert_eq!(p.status, 401, "{path}");
        } else {
            assert!(p.url.ends_with("/login"), "{path} went to {}", p.url);
        }
    }
}

on_both_backends!(
    every_entity_route_hides_other_areas,
    anonymous_visitors_see_nothing
);
