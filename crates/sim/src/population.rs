//! Synthetic households and residents for demos, tests and the actuarial back-test.
//!
//! Households are built from templates of rural family forms (old couples, left-behind children
//! living with grandparents, three-generation homes), because drawing each member's age
//! independently would give children older than their parents. Template weights and age ranges
//! are tuned so that the member age structure and the household sizes match the calibration
//! tables (checked in the tests).

use std::collections::HashSet;

use chrono::{Datelike, Days, NaiveDate};
use domain::{InsuranceType, PersonName, Phone, Relation, ResidentIdNumber, SpecialStatus};
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use crate::calibration;
use crate::names::{given_names, MOBILE_PREFIXES, SURNAMES};

/// What to generate. Same spec, same people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationSpec {
    pub seed: u64,
    pub villages: Vec<VillageSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VillageSpec {
    /// 12-digit village code; its first 6 digits are the county area code used in ID numbers.
    pub code: String,
    /// Approximate number of members: whole households are added until it is reached.
    pub members: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    pub village_code: String,
    /// `members[0]` is the head.
    pub members: Vec<Person>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: PersonName,
    pub id_number: ResidentIdNumber,
    pub relation: Relation,
    pub phone: Option<Phone>,
    pub insurance: InsuranceType,
    pub statuses: Vec<(SpecialStatus, NaiveDate)>,
}

/// Ages are computed on this date by [`generate_population`], so that a seed gives the same
/// people whatever day it is run.
pub fn default_reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date")
}

impl PopulationSpec {
    /// A town of `members` residents in `villages` villages of similar size, coded
    /// `{county6}{town3}{201..}`: convenient for the CLI and the back-test.
    pub fn town(seed: u64, county6: &str, town3: &str, members: usize, villages: usize) -> Self {
        let villages = villages.max(1);
        let per = members / villages;
        let mut rest = members - per * villages;
        let villages = (0..villages)
            .map(|i| {
                let extra = usize::from(rest > 0);
                rest = rest.saturating_sub(1);
                VillageSpec {
                    code: format!("{county6}{town3}{:03}", 201 + i),
                    members: per + extra,
                }
            })
            .collect();
        PopulationSpec { seed, villages }
    }
}

/// Generates the households of every village, ages as of [`default_reference_date`].
pub fn generate_population(spec: &PopulationSpec) -> Vec<Household> {
    generate_population_on(spec, default_reference_date())
}

/// As [`generate_population`], with ages as of `on`.
pub fn generate_population_on(spec: &PopulationSpec, on: NaiveDate) -> Vec<Household> {
    let mut ids: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for (vi, v) in spec.villages.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        rng.set_stream(vi as u64 + 1);
        let mut g = VillageGen::new(v, on, &mut rng);
        let mut n = 0;
        while n < v.members {
            let h = g.household(&mut rng, &mut ids);
            n += h.members.len();
            out.push(h);
        }
    }
    out
}

/// A member before names and numbers are attached.
struct Draft {
    relation: Relation,
    age: i32,
    male: bool,
    /// Index into [`SURNAMES`].
    surname: usize,
}

struct VillageGen<'a> {
    village: &'a VillageSpec,
    area: String,
    on: NaiveDate,
    size_dist: WeightedIndex<f64>,
    sizes: Vec<usize>,
    /// Surnames of this village: a few clan names are over-represented, as in real villages.
    surname_dist: WeightedIndex<f64>,
    all_surnames: WeightedIndex<f64>,
}

impl<'a> VillageGen<'a> {
    fn new(village: &'a VillageSpec, on: NaiveDate, rng: &mut ChaCha8Rng) -> Self {
        let hs = calibration::household_sizes();
        let all_w: Vec<f64> = SURNAMES.iter().map(|s| s.1).collect();
        let all_surnames = WeightedIndex::new(&all_w).expect("positive weights");
        let mut w = all_w.clone();
        let total: f64 = w.iter().sum();
        for _ in 0..3 {
            let clan = all_surnames.sample(rng);
            w[clan] += total * 0.2;
        }
        let area: String = village.code.chars().take(6).collect();
        VillageGen {
            village,
            area: format!("{area:0>6}"),
            on,
            size_dist: WeightedIndex::new(hs.iter().map(|x| x.1)).expect("positive weights"),
            sizes: hs.iter().map(|x| x.0).collect(),
            surname_dist: WeightedIndex::new(&w).expect("positive weights"),
            all_surnames,
        }
    }

    fn household(&mut self, rng: &mut ChaCha8Rng, ids: &mut HashSet<String>) -> Household {
        let size = self.sizes[self.size_dist.sample(rng)];
        let drafts = loop {
            let d = self.template(size, rng);
            if d.iter().all(|m| (0..=100).contains(&m.age)) {
                break d;
            }
        };
        self.realise(drafts, rng, ids)
    }

    /// The ages and relations of a household of `size` members.
    fn template(&self, size: usize, rng: &mut ChaCha8Rng) -> Vec<Draft> {
        let head_surname = self.surname_dist.sample(rng);
        let mut h: Vec<Draft> = Vec::with_capacity(size);
        let u: f64 = rng.gen();
        let gap = |rng: &mut ChaCha8Rng| rng.gen_range(21..=34);
        let band = |rng: &mut ChaCha8Rng, bands: &[(i32, i32, f64)]| -> i32 {
            let w = WeightedIndex::new(bands.iter().map(|b| b.2)).expect("weights");
            let b = bands[w.sample(rng)];
            rng.gen_range(b.0..=b.1)
        };
        match size {
            1 => {
                let age = band(
                    rng,
                    &[
                        (20, 44, 0.15),
                        (45, 59, 0.36),
                        (60, 69, 0.22),
                        (70, 79, 0.16),
                        (80, 96, 0.11),
                    ],
                );
                h.push(head(
                    age,
                    rng.gen_bool(if age >= 70 { 0.45 } else { 0.65 }),
                    head_surname,
                ));
            }
            2 => {
                if u < 0.70 {
                    let age = band(
                        rng,
                        &[
                            (45, 59, 0.44),
                            (60, 69, 0.30),
                            (70, 79, 0.16),
                            (80, 92, 0.10),
                        ],
                    );
                    self.couple(&mut h, age, head_surname, rng);
                } else if u < 0.93 {
                    let age = rng.gen_range(45..=80);
                    h.push(head(age, rng.gen_bool(0.5), head_surname));
                    let c = age - gap(rng);
                    h.push(Draft {
                        relation: Relation::Child,
                        age: c,
                        male: rng.gen_bool(0.55),
                        surname: head_surname,
                    });
                } else {
                    let age = rng.gen_range(22..=40);
                    self.couple(&mut h, age, head_surname, rng);
                }
            }
            3 => {
                if u < 0.45 {
                    let age = rng.gen_range(24..=52);
                    self.couple(&mut h, age, head_surname, rng);
                    let c = age - gap(rng);
                    self.child(&mut h, c, head_surname, rng);
                } else if u < 0.70 {
                    let age = rng.gen_range(38..=60);
                    self.couple(&mut h, age, head_surname, rng);
                    let p = age + gap(rng);
                    let male = rng.gen_bool(0.35);
                    self.parent(&mut h, p, male, head_surname, rng);
                } else {
                    let age = rng.gen_range(47..=68);
                    self.couple(&mut h, age, head_surname, rng);
                    let g = age - gap(rng) - gap(rng);
                    self.grandchild(&mut h, g, head_surname, rng);
                }
            }
            4 => {
                if u < 0.40 {
                    let age = rng.gen_range(25..=43);
                    self.couple(&mut h, age, head_surname, rng);
                    let c = age - gap(rng);
                    self.child(&mut h, c, head_surname, rng);
                    let c2 = c - rng.gen_range(1..=7);
                    self.child(&mut h, c2, head_surname, rng);
                } else if u < 0.65 {
                    let age = rng.gen_range(40..=56);
                    self.couple(&mut h, age, head_surname, rng);
                    let c = age - gap(rng);
                    self.child(&mut h, c, head_surname, rng);
                    let p = age + gap(rng);
                    let male = rng.gen_bool(0.35);
                    self.parent(&mut h, p, male, head_surname, rng);
                } else {
                    let age = rng.gen_range(47..=68);
                    self.couple(&mut h, age, head_surname, rng);
                    let g = age - gap(rng) - gap(rng);
                    self.grandchild(&mut h, g, head_surname, rng);
                    let g2 = g - rng.gen_range(1..=6);
                    self.grandchild(&mut h, g2, head_surname, rng);
                }
            }
            _ => {
                // Five or more: three generations, either the head's married son with his
                // children, or a middle-aged couple living with the head's parents.
                if u < 0.6 {
                    let age = rng.gen_range(50..=74);
                    self.couple(&mut h, age, head_surname, rng);
                    let son = age - gap(rng);
                    h.push(Draft {
                        relation: Relation::Child,
                        age: son,
                        male: true,
                        surname: head_surname,
                    });
                    h.push(Draft {
                        relation: Relation::ChildInLaw,
                        age: son - rng.gen_range(0..=4),
                        male: false,
                        surname: self.surname_dist.sample(rng),
                    });
                    let mut g = son - gap(rng) + 6;
                    while h.len() < size {
                        self.grandchild(&mut h, g, head_surname, rng);
                        g -= rng.gen_range(1..=5);
                    }
                } else {
                    let age = rng.gen_range(38..=56);
                    self.couple(&mut h, age, head_surname, rng);
                    let parents = if size >= 6 {
                        2
                    } else {
                        1 + usize::from(rng.gen_bool(0.4))
                    };
                    let p = age + gap(rng);
                    for k in 0..parents {
                        let male = if parents == 2 {
                            k == 0
                        } else {
                            rng.gen_bool(0.35)
                        };
                        let a = if k == 0 { p } else { p - rng.gen_range(0..=3) };
                        self.parent(&mut h, a, male, head_surname, rng);
                    }
                    let mut c = age - gap(rng);
                    while h.len() < size {
                        self.child(&mut h, c, head_surname, rng);
                        c -= rng.gen_range(1..=6);
                    }
                }
            }
        }
        h
    }

    fn couple(&self, h: &mut Vec<Draft>, age: i32, surname: usize, rng: &mut ChaCha8Rng) {
        let male = rng.gen_bool(0.88);
        h.push(head(age, male, surname));
        let diff = rng.gen_range(-1..=5);
        let spouse_age = if male { age - diff } else { age + diff };
        h.push(Draft {
            relation: Relation::Spouse,
            age: spouse_age.max(20),
            male: !male,
            surname: self.surname_dist.sample(rng),
        });
    }

    /// A parent of the head: a father carries the head's surname, a mother her own.
    fn parent(
        &self,
        h: &mut Vec<Draft>,
        age: i32,
        male: bool,
        head_surname: usize,
        rng: &mut ChaCha8Rng,
    ) {
        let surname = if male {
            head_surname
        } else {
            self.surname_dist.sample(rng)
        };
        h.push(Draft {
            relation: Relation::Parent,
            age,
            male,
            surname,
        });
    }

    fn grandchild(&self, h: &mut Vec<Draft>, age: i32, surname: usize, rng: &mut ChaCha8Rng) {
        h.push(Draft {
            relation: Relation::Grandchild,
            age,
            male: rng.gen_bool(0.53),
            surname,
        });
    }

    fn child(&self, h: &mut Vec<Draft>, age: i32, surname: usize, rng: &mut ChaCha8Rng) {
        h.push(Draft {
            relation: Relation::Child,
            age,
            male: rng.gen_bool(0.53),
            surname,
        });
    }

    fn realise(
        &self,
        drafts: Vec<Draft>,
        rng: &mut ChaCha8Rng,
        ids: &mut HashSet<String>,
    ) -> Household {
        // Household-level statuses: poverty programmes enrol whole households.
        let mut hh_status: Vec<(SpecialStatus, NaiveDate)> = Vec::new();
        let u: f64 = rng.gen();
        if u < 0.03 {
            hh_status.push((
                SpecialStatus::PovertyAlleviated,
                self.random_date(rng, 2016, 2020),
            ));
        } else if u < 0.042 {
            hh_status.push((
                SpecialStatus::PovertyMonitored,
                self.random_date(rng, 2021, 2025),
            ));
        }
        if rng.gen_bool(0.025) {
            hh_status.push((
                SpecialStatus::MinimumLiving,
                self.random_date(rng, 2012, 2025),
            ));
        }
        let single_elder = drafts.len() == 1 && drafts[0].age >= 60;
        let uninsured_household = rng.gen_bool(0.015);
        let members = drafts
            .into_iter()
            .map(|d| {
                let birth = self.birth_date(d.age, rng);
                let id_number = self.id_number(birth, d.male, rng, ids);
                let surname = if rng.gen_bool(0.002) {
                    SURNAMES[self.all_surnames.sample(rng)].0
                } else {
                    SURNAMES[d.surname].0
                };
                let pool = given_names(birth.year(), d.male);
                let given = pool[rng.gen_range(0..pool.len())];
                let name = PersonName::parse(&format!("{surname}{given}"))
                    .expect("generated names are valid");
                let p_phone = match d.age {
                    0..=15 => 0.0,
                    16..=75 => 0.93,
                    76..=85 => 0.55,
                    _ => 0.2,
                };
                let phone = rng.gen_bool(p_phone).then(|| self.phone(rng));
                let insurance = if uninsured_household || rng.gen_bool(0.022) {
                    InsuranceType::Uninsured
                } else if (20..=62).contains(&d.age) && rng.gen_bool(0.035) {
                    InsuranceType::Employee
                } else {
                    InsuranceType::Resident
                };
                let mut statuses = hh_status.clone();
                if single_elder && rng.gen_bool(0.12) {
                    statuses.push((
                        SpecialStatus::ExtremeHardship,
                        self.random_date(rng, 2010, 2025),
                    ));
                }
                statuses.sort();
                Person {
                    name,
                    id_number,
                    relation: d.relation,
                    phone,
                    insurance,
                    statuses,
                }
            })
            .collect();
        Household {
            village_code: self.village.code.clone(),
            members,
        }
    }

    /// A birth date that makes the person exactly `age` on the reference date.
    fn birth_date(&self, age: i32, rng: &mut ChaCha8Rng) -> NaiveDate {
        let latest = years_before(self.on, age);
        let earliest = years_before(self.on, age + 1) + Days::new(1);
        let span = (latest - earliest).num_days().max(0) as u64;
        earliest + Days::new(rng.gen_range(0..=span))
    }

    fn id_number(
        &self,
        birth: NaiveDate,
        male: bool,
        rng: &mut ChaCha8Rng,
        ids: &mut HashSet<String>,
    ) -> ResidentIdNumber {
        loop {
            let seq = rng.gen_range(0..500u16) * 2 + u16::from(male);
            let id = ResidentIdNumber::from_parts(&self.area, birth, seq).expect("valid parts");
            if ids.insert(id.as_str().to_string()) {
                return id;
            }
        }
    }

    fn phone(&self, rng: &mut ChaCha8Rng) -> Phone {
        let prefix = MOBILE_PREFIXES[rng.gen_range(0..MOBILE_PREFIXES.len())];
        let rest: u32 = rng.gen_range(0..100_000_000);
        Phone::parse(&format!("{prefix}{rest:08}")).expect("generated phones are valid")
    }

    fn random_date(&self, rng: &mut ChaCha8Rng, from_year: i32, to_year: i32) -> NaiveDate {
        let a = NaiveDate::from_ymd_opt(from_year, 1, 1).expect("date");
        let b = NaiveDate::from_ymd_opt(to_year, 12, 31)
            .expect("date")
            .min(self.on);
        let span = (b - a).num_days().max(0) as u64;
        a + Days::new(rng.gen_range(0..=span))
    }
}

fn head(age: i32, male: bool, surname: usize) -> Draft {
    Draft {
        relation: Relation::Head,
        age,
        male,
        surname,
    }
}

/// The same calendar day `n` years earlier (28 February for 29 February).
fn years_before(d: NaiveDate, n: i32) -> NaiveDate {
    let y = d.year() - n;
    NaiveDate::from_ymd_opt(y, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28))
        .expect("valid date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Sex;
    use std::collections::HashMap;

    fn town(n: usize, seed: u64) -> Vec<Household> {
        generate_population(&PopulationSpec::town(seed, "321023", "101", n, 8))
    }

    #[test]
    fn deterministic_for_a_seed_and_different_across_seeds() {
        let a = town(2000, 7);
        assert_eq!(a, town(2000, 7));
        assert_ne!(a, town(2000, 8));
    }

    #[test]
    fn member_counts_reach_each_village_target() {
        let spec = PopulationSpec::town(1, "321023", "101", 3000, 3);
        let hs = generate_population(&spec);
        for v in &spec.villages {
            let n: usize = hs
                .iter()
                .filter(|h| h.village_code == v.code)
                .map(|h| h.members.len())
                .sum();
            assert!(n >= v.members && n < v.members + 7, "{} {n}", v.members);
        }
    }

    #[test]
    fn ids_unique_valid_and_in_the_county() {
        let hs = town(20_000, 3);
        let on = default_reference_date();
        let mut seen = HashSet::new();
        for h in &hs {
            assert_eq!(h.members[0].relation, Relation::Head);
            assert_eq!(
                h.members
                    .iter()
                    .filter(|p| p.relation == Relation::Head)
                    .count(),
                1
            );
            for p in &h.members {
                assert!(
                    seen.insert(p.id_number.clone()),
                    "duplicate {}",
                    p.id_number
                );
                assert_eq!(p.id_number.area_code(), "321023");
                assert_eq!(
                    ResidentIdNumber::parse(p.id_number.as_str()).as_ref(),
                    Ok(&p.id_number)
                );
                assert!(p.id_number.age_on(on) <= 100);
            }
        }
    }

    #[test]
    fn ages_are_consistent_with_relations() {
        let on = default_reference_date();
        for h in town(20_000, 5) {
            let age = |p: &Person| p.id_number.age_on(on) as i32;
            let head = &h.members[0];
            for p in &h.members[1..] {
                match p.relation {
                    Relation::Child => assert!(age(head) - age(p) >= 18, "{h:?}"),
                    Relation::Grandchild => assert!(age(head) - age(p) >= 36, "{h:?}"),
                    Relation::Parent => assert!(age(p) - age(head) >= 18, "{h:?}"),
                    Relation::Spouse => {
                        assert!((age(p) - age(head)).abs() <= 6);
                        assert_ne!(p.id_number.sex(), head.id_number.sex());
                    }
                    _ => {}
                }
            }
            // Children carry the head's surname when the head is their father.
            if head.id_number.sex() == Sex::Male {
                let hs = head.name.as_str().chars().next();
                let same = h
                    .members
                    .iter()
                    .filter(|p| {
                        p.relation == Relation::Child && p.name.as_str().chars().next() == hs
                    })
                    .count();
                let all = h
                    .members
                    .iter()
                    .filter(|p| p.relation == Relation::Child)
                    .count();
                assert!(same + 1 >= all, "{h:?}");
            }
        }
    }

    #[test]
    fn age_structure_and_household_sizes_match_calibration() {
        let hs = town(60_000, 11);
        let on = default_reference_date();
        let people: Vec<&Person> = hs.iter().flat_map(|h| &h.members).collect();
        let n = people.len() as f64;
        for b in calibration::age_structure() {
            let share = people
                .iter()
                .filter(|p| (b.from..=b.to).contains(&p.id_number.age_on(on)))
                .count() as f64
                / n;
            assert!(
                (share - b.male).abs() < 0.02,
                "ages {}-{}: {share:.3} vs {}",
                b.from,
                b.to,
                b.male
            );
        }
        let mut sizes: HashMap<usize, usize> = HashMap::new();
        for h in &hs {
            *sizes.entry(h.members.len()).or_default() += 1;
        }
        for (size, share) in calibration::household_sizes() {
            let got = sizes.get(&size).copied().unwrap_or(0) as f64 / hs.len() as f64;
            assert!(
                (got - share).abs() < 0.01,
                "size {size}: {got:.3} vs {share}"
            );
        }
    }

    #[test]
    fn insurance_status_and_phone_shares_are_plausible() {
        let hs = town(40_000, 13);
        let people: Vec<&Person> = hs.iter().flat_map(|h| &h.members).collect();
        let n = people.len() as f64;
        let share =
            |t: InsuranceType| people.iter().filter(|p| p.insurance == t).count() as f64 / n;
        let (r, e, u) = (
            share(InsuranceType::Resident),
            share(InsuranceType::Employee),
            share(InsuranceType::Uninsured),
        );
        assert!((0.92..=0.96).contains(&r), "resident {r}");
        assert!((0.01..=0.03).contains(&e), "employee {e}");
        assert!((0.03..=0.05).contains(&u), "uninsured {u}");
        let with_status = people.iter().filter(|p| !p.statuses.is_empty()).count() as f64 / n;
        assert!(
            (0.02..=0.10).contains(&with_status),
            "statuses {with_status}"
        );
        for s in SpecialStatus::ALL {
            assert!(
                people.iter().any(|p| p.statuses.iter().any(|x| x.0 == s)),
                "{s:?} missing"
            );
        }
        let on = default_reference_date();
        let adults: Vec<_> = people
            .iter()
            .filter(|p| (18..=70).contains(&p.id_number.age_on(on)))
            .collect();
        let phones =
            adults.iter().filter(|p| p.phone.is_some()).count() as f64 / adults.len() as f64;
        assert!(phones > 0.85, "{phones}");
        assert!(people
            .iter()
            .filter(|p| p.id_number.age_on(on) < 16)
            .all(|p| p.phone.is_none()));
    }
}
