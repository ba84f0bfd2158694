//! The figures page, its workbook and the fund dashboard through the real server, on both
//! databases; the 风险预警 banner on every page of the pool's town and county admins, and of
//! nobody else. (The area walk in `scope.rs` covers the three routes: they are declared
//! `Names::Entity`/`EntityAt`.)

use super::common::*;
use crate::on_both_backends;

async fn figures_pages_and_the_banner(backend: Backend) {
    let TownYear { t, town, year, .. } = TownYear::spawn(backend, 200).await;
    let page = town.get(&format!("/years/{year}/figures")).await;
    assert_eq!(page.status, 200);
    for s in [
        "统计（全年度）",
        "补助人次",
        "受益率",
        "减负率",
        "补助金额前十的病组",
        "申请状态",
    ] {
        assert!(page.has(s), "figures page lacks {s}");
    }
    assert!(!page.has("风险预警"));
    let months = {
        let y = t.app.year(&app::Actor::system(), year).await.unwrap();
        app::figures::months_of(&y.row.period_start, &y.row.period_end)
    };
    let month = town
        .get(&format!("/years/{year}/figures?month={}", months[0]))
        .await;
    assert_eq!(month.status, 200);
    assert!(month.has(&format!("统计（{}）", months[0])));
    assert_eq!(
        town.get(&format!("/years/{year}/figures?month=1999-01"))
            .await
            .status,
        422
    );
    for path in [
        format!("/years/{year}/figures/figures.xlsx"),
        format!("/years/{year}/figures/figures.xlsx?month={}", months[1]),
    ] {
        let x = town.get(&path).await;
        assert_eq!(x.status, 200, "{path}");
        assert!(x.body.starts_with("PK"), "{path} is an xlsx (zip)");
    }
    assert_eq!(
        town.get(&format!("/years/{year}/figures/other.xlsx"))
            .await
            .status,
        404
    );
    let dash = town.get(&format!("/years/{year}/dashboard")).await;
    assert_eq!(dash.status, 200);
    assert!(dash.has("基金看板") && dash.has("<svg") && dash.has("尚无预测"));

    // A clerk does not read the fund's figures.
    let clerk = t.login("clerk").await;
    assert_eq!(
        clerk.get(&format!("/years/{year}/figures")).await.status,
        403
    );
    assert_eq!(
        clerk.get(&format!("/years/{year}/dashboard")).await.status,
        403
    );

    // A forecast above the warning level: the banner on every page of the town's and the
    // county's admins, with a link to the dashboard; not for the other town or the clerk.
    let mut conn = t.app.db.acquire().await.unwrap();
    store::figures::save_forecast(
        &mut conn,
        &store::figures::Forecast {
            year_id: year,
            pool_code: "370323104".into(),
            computed_at: t.app.now_text(),
            elapsed_permille: 500,
            claims_decided: 10,
            committed_fen: 1_000_000,
            budget_fen: 2_000_000,
            expected_fen: 2_400_000,
            quantiles_fen: [2_400_000, 2_600_000, 2_700_000, 2_900_000],
            p_shortfall_ppm: 873_400,
            level_ppm: 1_300_000,
            threshold_permille: 100,
            warning: false,
            warned_at: None,
        },
    )
    .await
    .unwrap();
    assert!(
        store::figures::set_warning(&mut conn, year, true, &t.app.now_text())
            .await
            .unwrap()
    );
    drop(conn);
    let county = t.login("county").await;
    for (who, path) in [(&town, "/"), (&town, "/claims"), (&county, "/years")] {
        let p = who.get(path).await;
        assert!(p.has("风险预警") && p.has("87.3%"), "{path}");
        assert!(p.has(&format!("/years/{year}/dashboard")));
    }
    let dash = town.get(&format!("/years/{year}/dashboard")).await;
    assert!(dash.has("资金不足的概率") && dash.has("87.3%"));
    let town2 = t.login("town2").await;
    assert!(!town2.get("/").await.has("风险预警"));
    assert!(!clerk.get("/").await.has("风险预警"));
}

on_both_backends!(figures_pages_and_the_banner);
