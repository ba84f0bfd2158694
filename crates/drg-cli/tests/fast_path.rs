//! `group_fast` and `group_many` (compiled rules, bitsets, prefetched code slots) against the
//! traced engine, which is the reference: the same outcome on a large sample of synthetic
//! stays of both versions, realistic and uniform mixes, plus variants that take the slow
//! roads (lower-case and padded codes, dagger parts, duplicates, the principal repeated as
//! secondary, long lists beyond the prefetch window, newborn ages and weights, unknown and
//! empty codes, missing mandatory fields, entry-MDC codes among the secondary diagnoses).
use drg::{Grouper, Stay, Version};

fn variant(s: &mut Stay, i: usize) {
    match i % 12 {
        0 => s.principal_dx = s.principal_dx.to_lowercase(),
        1 => s
            .secondary_dx
            .iter_mut()
            .for_each(|c| *c = format!(" {c}\t")),
        2 => s.procedures.iter_mut().for_each(|c| *c = c.to_lowercase()),
        3 => match s.principal_dx.clone().split_once('+') {
            Some((dagger, _)) => s.principal_dx = dagger.to_string(),
            None => s.principal_dx.push('+'),
        },
        4 => {
            let p = s.principal_dx.clone();
            s.secondary_dx.insert(0, p.clone());
            s.secondary_dx.push(p.to_lowercase());
        }
        5 => {
            s.age_days = Some((i % 400) as u32);
            s.age_years = None;
            s.birth_weight_g = Some((i * 7 % 5000) as u32);
        }
        6 => {
            for _ in 0..3 {
                s.secondary_dx.extend(s.secondary_dx.clone());
                s.procedures.extend(s.procedures.clone());
            }
            let n = s.procedures.len().max(1);
            s.procedures.rotate_left(i % n);
        }
        7 => {
            s.secondary_dx.push(String::new());
            s.procedures.insert(0, "  ".into());
            s.procedures.insert(0, "ZZ.9999".into());
            s.sex = Some((i % 4) as u8);
        }
        8 => {
            s.age_years = None;
            s.age_days = None;
            s.secondary_dx.retain(|c| !c.starts_with('S'));
        }
        9 => {
            s.principal_dx = format!("{}\u{3000}", s.principal_dx);
            s.procedures.reverse();
        }
        10 => {
            // Mandatory fields missing: age 0 without days, a newborn without birth weight,
            // no sex, sometimes together.
            s.age_years = Some(0);
            s.age_days = (!i.is_multiple_of(3)).then_some((i % 29) as u32);
            s.birth_weight_g = i.is_multiple_of(5).then_some(0);
            if i.is_multiple_of(7) {
                s.sex = None;
            }
        }
        _ => {
            // The principal diagnosis swapped with the first secondary one: codes of the entry
            // MDCs (HIV, trauma, newborn) as secondary diagnoses of another principal one.
            if let Some(first) = s.secondary_dx.first_mut() {
                std::mem::swap(first, &mut s.principal_dx);
            }
        }
    }
}

/// Per stay, `group_fast` and the traced engine agree; over the sample, `group_many` gives
/// the same outcomes in the same order (whole sample, and odd-sized slices).
fn check(g: &Grouper, stays: &[Stay], what: &str) {
    let mut fast = Vec::with_capacity(stays.len());
    for (i, s) in stays.iter().enumerate() {
        let o = g.group_fast(s);
        let traced = g.group(s).outcome;
        assert_eq!(o, traced, "{what} stay {i}: {s:?}");
        fast.push(o);
    }
    assert!(g.group_many(stays) == fast, "{what}: group_many");
    let mut out = Vec::new();
    for part in stays.chunks(7) {
        g.group_many_into(part, &mut out);
    }
    assert!(out == fast, "{what}: group_many_into in slices of 7");
}

#[test]
fn fast_path_equals_traced_engine_on_large_samples() {
    for v in Version::available() {
        let g = Grouper::load(&v).unwrap();
        let realistic = drg_cli::synth::realistic_stays(&v, 40_000, 21).unwrap();
        check(&g, &realistic, &format!("{v} realistic"));
        let uniform = drg_cli::synth::uniform_stays(&v, 20_000, 23).unwrap();
        check(&g, &uniform, &format!("{v} uniform"));
        let mut odd = drg_cli::synth::uniform_stays(&v, 20_000, 29).unwrap();
        for (i, s) in odd.iter_mut().enumerate() {
            variant(s, i);
        }
        check(&g, &odd, &format!("{v} variants"));
    }
}

/// Every CC and MCC code as principal diagnosis, repeated as secondary diagnosis: the
/// repetition must not count as a CC/MCC (some codes' exclusion tables do not list the code
/// itself, so only skipping the principal keeps the split right).
#[test]
fn fast_path_ignores_the_principal_repeated_as_secondary() {
    for v in Version::available() {
        let g = Grouper::load(&v).unwrap();
        let text = v.pack_tables_text().unwrap();
        let mut section = "";
        let mut stays = Vec::new();
        for line in text.lines() {
            if let Some(s) = line.strip_prefix('@') {
                section = s;
            } else if section == "mcc" || section == "cc" {
                let code = line.split('\t').next().unwrap().to_string();
                for age in [Some(0), Some(40)] {
                    stays.push(Stay {
                        principal_dx: code.clone(),
                        secondary_dx: vec![code.clone(), code.to_lowercase()],
                        sex: Some(2),
                        age_years: age,
                        age_days: age.map(|_| 10),
                        birth_weight_g: Some(2600),
                        ..Stay::default()
                    });
                }
            }
        }
        assert!(stays.len() > 20_000, "{v}: {}", stays.len());
        check(&g, &stays, &format!("{v} repeated principal"));
    }
}
