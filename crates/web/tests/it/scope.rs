use super::common::*;
use crate::on_both_backends;

/// Ids of a village, household and member inside `region`, looked up as the system.
async fn entities_in(t: &TestApp, village: &str) -> (String, i64, i64) {
    let mut conn = t.app.db.acquire().await.unwrap();
    let all = store::Scope::all();
    let hh = store::roster::village_households(&mut conn, &all, village, 0, 1)
        .await
        .unwrap();
    let household = hh[0].id;
    let members = store::roster::household_members(&mut conn, &all, household)
        .await
        .unwrap();
    (village.to_string(), household, members[0].id)
}

fn fill(template: &str, code: &str, household: i64, member: i64, job: i64) -> String {
    let id = if template.contains("households") {
        household
    } else {
        member
    };
    template
        .replace("{code}", code)
        .replace("{job}", &job.to_string())
        .replace("{id}", &id.to_string())
}

/// Every route that names a region, household, member or job answers 404 when the thing lies
/// outside the caller's area, and is found inside it (so the 404s prove the check, not a broken
/// route). The route list is `web::ENTITY_ROUTES`, the same one the router is documented by.
async fn every_entity_route_hides_other_areas(backend: Backend) {
    let t = TestApp::spawn(backend, 400).await;
    let inside = entities_in(&t, "370323104202").await; // 大张庄镇
    let outside = entities_in(&t, "370323105201").await; // 中庄镇

    // An import job of each town, so the job route has something on both sides.
    let town = t.login("town").await;
    let town2 = t.login("town2").await;
    let bad = app::import::roster_xlsx(&[]).unwrap();
    let job_of = |page: Page| page.url.rsplit('/').next().unwrap().parse::<i64>().unwrap();
    let own_job = job_of(town.import("a.xlsx", bad.clone()).await);
    let other_job = job_of(town2.import("b.xlsx", bad).await);

    let csrf = town.csrf().await;
    let mut checked = 0;
    for (method, template) in web::ENTITY_ROUTES {
        for (target, job, expect_ok) in [(&outside, other_job, false), (&inside, own_job, true)] {
            let path = fill(template, &target.0, target.1, target.2, job);
            let status = match *method {
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
    assert_eq!(checked, web::ENTITY_ROUTES.len() * 2);

    // A village clerk is confined to the village: the neighbouring village of the same town is
    // as invisible as another town.
    let clerk = t.login("clerk").await;
    for path in [
        format!("/regions/{}", inside.0),
        format!("/households/{}", inside.1),
        format!("/members/{}", inside.2),
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
        .reveal_member(&app::Actor::system(), outside.2)
        .await
        .unwrap();
    let found = town.get(&format!("/search?q={}", outsider.id_number)).await;
    assert!(!found.has(&format!("/members/{}\"", outside.2)));
    assert!(town2
        .get(&format!("/search?q={}", outsider.id_number))
        .await
        .has(&format!("/members/{}\"", outside.2)));
}

/// Without a session every page sends the visitor to the login page, and the API says 401.
async fn anonymous_visitors_see_nothing(backend: Backend) {
    let t = TestApp::spawn(backend, 100).await;
    let c = t.client();
    for (_, template) in web::ENTITY_ROUTES.iter().filter(|(m, _)| *m == "GET") {
        let path = fill(template, "370323104201", 1, 1, 1);
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
