//! Working days for deadlines ("decision within 5 working days").
//!
//! China moves weekends around its public holidays (调休): a Saturday or Sunday can be a working
//! day, so "Monday to Friday minus holidays" is wrong several times a year. The calendar lists
//! both kinds of exception; every other day follows the weekday/weekend rule.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use chrono::{Datelike, Days, NaiveDate, Weekday};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkCalendar {
    /// Days off that would otherwise be working days (法定节假日 and the weekdays bridged to them).
    /// Weekend days inside a holiday may be listed or not; it makes no difference.
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days that are working days (调休上班日).
    pub adjusted_workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.adjusted_workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The `n`-th working day after `from` (`from` itself never counts, so a request received on
    /// a Friday afternoon with `n = 1` is due on the next working day). `n = 0` gives `from`.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days in `(from, to]`: how many of a deadline's working days have been used up
    /// by `to`. Zero when `to <= from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .count() as u32
    }

    /// Years for which the calendar holds any entry. A year without entries is almost certainly
    /// not entered yet (every year has holidays), so callers should ask for it rather than
    /// silently count plain weekdays.
    pub fn years(&self) -> BTreeSet<i32> {
        self.holidays
            .iter()
            .chain(&self.adjusted_workdays)
            .map(|d| d.year())
            .collect()
    }

    pub fn has_year(&self, year: i32) -> bool {
        self.holidays
            .iter()
            .chain(&self.adjusted_workdays)
            .any(|d| d.year() == year)
    }

    /// The entries that fall in the given years.
    pub fn restricted_to(&self, years: RangeInclusive<i32>) -> WorkCalendar {
        let keep = |d: &&NaiveDate| years.contains(&d.year());
        WorkCalendar {
            holidays: self.holidays.iter().filter(keep).copied().collect(),
            adjusted_workdays: self
                .adjusted_workdays
                .iter()
                .filter(keep)
                .copied()
                .collect(),
        }
    }

    /// Adds the other calendar's entries for years this one does not have at all, so that local
    /// edits to a year already present are never overwritten.
    pub fn fill_missing_years(&mut self, other: &WorkCalendar) {
        let mine = self.years();
        let missing = |d: &&NaiveDate| !mine.contains(&d.year());
        self.holidays
            .extend(other.holidays.iter().filter(missing).copied());
        self.adjusted_workdays
            .extend(other.adjusted_workdays.iter().filter(missing).copied());
    }
}

/// (year, month, day)
type Ymd = (i32, u32, u32);

/// One year of the State Council's holiday arrangement (国务院办公厅关于某年部分节假日安排的通知):
/// (first day off, last day off) ranges and the adjusted working days.
struct Arrangement {
    off: &'static [(Ymd, Ymd)],
    work: &'static [Ymd],
}

/// 国办发明电〔2022〕16号 (2023), 〔2023〕7号 (2024), 〔2024〕12号 (2025, the year 除夕 and 5月2日
/// became statutory holidays) and 〔2025〕7号 (2026).
const ARRANGEMENTS: &[(i32, Arrangement)] = &[
    (
        2023,
        Arrangement {
            off: &[
                ((2022, 12, 31), (2023, 1, 2)), // 元旦
                ((2023, 1, 21), (2023, 1, 27)), // 春节
                ((2023, 4, 5), (2023, 4, 5)),   // 清明节
                ((2023, 4, 29), (2023, 5, 3)),  // 劳动节
                ((2023, 6, 22), (2023, 6, 24)), // 端午节
                ((2023, 9, 29), (2023, 10, 6)), // 中秋节、国庆节
            ],
            work: &[
                (2023, 1, 28),
                (2023, 1, 29),
                (2023, 4, 23),
                (2023, 5, 6),
                (2023, 6, 25),
                (2023, 10, 7),
                (2023, 10, 8),
            ],
        },
    ),
    (
        2024,
        Arrangement {
            off: &[
                ((2023, 12, 30), (2024, 1, 1)), // 元旦
                ((2024, 2, 10), (2024, 2, 17)), // 春节
                ((2024, 4, 4), (2024, 4, 6)),   // 清明节
                ((2024, 5, 1), (2024, 5, 5)),   // 劳动节
                ((2024, 6, 8), (2024, 6, 10)),  // 端午节
                ((2024, 9, 15), (2024, 9, 17)), // 中秋节
                ((2024, 10, 1), (2024, 10, 7)), // 国庆节
            ],
            work: &[
                (2024, 2, 4),
                (2024, 2, 18),
                (2024, 4, 7),
                (2024, 4, 28),
                (2024, 5, 11),
                (2024, 9, 14),
                (2024, 9, 29),
                (2024, 10, 12),
            ],
        },
    ),
    (
        2025,
        Arrangement {
            off: &[
                ((2025, 1, 1), (2025, 1, 1)),   // 元旦
                ((2025, 1, 28), (2025, 2, 4)),  // 春节
                ((2025, 4, 4), (2025, 4, 6)),   // 清明节
                ((2025, 5, 1), (2025, 5, 5)),   // 劳动节
                ((2025, 5, 31), (2025, 6, 2)),  // 端午节
                ((2025, 10, 1), (2025, 10, 8)), // 国庆节、中秋节
            ],
            work: &[
                (2025, 1, 26),
                (2025, 2, 8),
                (2025, 4, 27),
                (2025, 9, 28),
                (2025, 10, 11),
            ],
        },
    ),
    (
        2026,
        Arrangement {
            off: &[
                ((2026, 1, 1), (2026, 1, 3)),   // 元旦
                ((2026, 2, 15), (2026, 2, 23)), // 春节
                ((2026, 4, 4), (2026, 4, 6)),   // 清明节
                ((2026, 5, 1), (2026, 5, 5)),   // 劳动节
                ((2026, 6, 19), (2026, 6, 21)), // 端午节
                ((2026, 9, 25), (2026, 9, 27)), // 中秋节
                ((2026, 10, 1), (2026, 10, 7)), // 国庆节
            ],
            work: &[
                (2026, 1, 4),
                (2026, 2, 14),
                (2026, 2, 28),
                (2026, 5, 9),
                (2026, 9, 20),
                (2026, 10, 10),
            ],
        },
    ),
];

fn date((y, m, d): Ymd) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date in the holiday table")
}

/// Every year of the national arrangement this crate knows: 2023 to 2026. The arrangement for a
/// year is published around November of the year before; later years must be entered by an
/// administrator (see [`WorkCalendar::has_year`]). A New Year holiday that starts in late
/// December (30–31 Dec 2023, 31 Dec 2022) is kept to the year it belongs to: those days are
/// weekends anyway, and leaving them out keeps `has_year` from claiming a year it lacks.
pub fn china_calendar() -> WorkCalendar {
    let mut cal = WorkCalendar::default();
    for (year, a) in ARRANGEMENTS {
        for &(first, last) in a.off {
            let (first, last) = (date(first), date(last));
            cal.holidays.extend(
                first
                    .iter_days()
                    .take_while(|d| *d <= last)
                    .filter(|d| d.year() == *year),
            );
        }
        cal.adjusted_workdays
            .extend(a.work.iter().map(|&d| date(d)));
    }
    cal
}

/// The national arrangement for 2024, 2025 and 2026 as published. 2027 is not included: it was
/// not published when this was written, so it must be entered once the State Council issues it.
pub fn china_calendar_2024_2027() -> WorkCalendar {
    china_calendar().restricted_to(2024..=2027)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn adjusted_weekends_are_working_days_and_holidays_are_not() {
        let cal = china_calendar_2024_2027();
        // 2024 Spring Festival: Sunday 4 Feb and Sunday 18 Feb are working days.
        assert!(cal.is_working_day(d(2024, 2, 4)));
        assert!(cal.is_working_day(d(2024, 2, 18)));
        assert!(!cal.is_working_day(d(2024, 2, 12)));
        // An ordinary Saturday and an ordinary Tuesday.
        assert!(!cal.is_working_day(d(2024, 3, 2)));
        assert!(cal.is_working_day(d(2024, 3, 5)));
        // 除夕 2025 (Tuesday 28 January) is a statutory holiday from 2025 on.
        assert!(!cal.is_working_day(d(2025, 1, 28)));
        assert!(cal.is_working_day(d(2025, 1, 26)));
    }

    #[test]
    fn five_working_days_from_before_national_day() {
        let cal = china_calendar_2024_2027();
        // Received Friday 27 Sep 2024. Working days after it: Sun 29 Sep (调休), Mon 30 Sep,
        // then 1–7 Oct off, then Tue 8, Wed 9, Thu 10 Oct.
        assert_eq!(cal.add_working_days(d(2024, 9, 27), 5), d(2024, 10, 10));
        // Received Monday 29 Sep 2025: Tue 30 Sep, (1–8 Oct off), Thu 9, Fri 10, Sat 11 Oct (调休),
        // Mon 13 Oct.
        assert_eq!(cal.add_working_days(d(2025, 9, 29), 5), d(2025, 10, 13));
        // Received Sat 26 Sep 2026: Mon 28, Tue 29, Wed 30 Sep, (1–7 Oct off), Thu 8, Fri 9 Oct.
        // Sun 20 Sep 2026 was the other 调休 day, before the start.
        assert_eq!(cal.add_working_days(d(2026, 9, 26), 5), d(2026, 10, 9));
    }

    #[test]
    fn five_working_days_over_spring_festival_with_adjusted_saturdays() {
        let cal = china_calendar_2024_2027();
        // Received Thursday 12 Feb 2026: Fri 13, Sat 14 (调休), then 15–23 Feb off,
        // Tue 24, Wed 25, Thu 26 Feb.
        assert_eq!(cal.add_working_days(d(2026, 2, 12), 5), d(2026, 2, 26));
        // Received Tue 24 Feb 2026: Wed 25, Thu 26, Fri 27, Sat 28 (调休), Mon 2 Mar.
        assert_eq!(cal.add_working_days(d(2026, 2, 24), 4), d(2026, 2, 28));
        assert_eq!(cal.add_working_days(d(2026, 2, 24), 5), d(2026, 3, 2));
        // Received Fri 24 Jan 2025: Sun 26 Jan (调休), Mon 27, (28 Jan – 4 Feb off), Wed 5, Thu 6,
        // Fri 7 Feb.
        assert_eq!(cal.add_working_days(d(2025, 1, 24), 5), d(2025, 2, 7));
    }

    #[test]
    fn the_calendar_knows_which_years_it_holds() {
        let cal = china_calendar_2024_2027();
        assert!(cal.has_year(2024) && cal.has_year(2025) && cal.has_year(2026));
        assert!(
            !cal.has_year(2027),
            "2027 must be entered by an administrator"
        );
        assert!(china_calendar().has_year(2023));
        assert_eq!(cal.years(), (2024..=2026).collect());
        assert_eq!(china_calendar().years(), (2023..=2026).collect());
    }

    #[test]
    fn days_dropped_at_the_turn_of_the_year_are_weekends() {
        for (year, a) in ARRANGEMENTS {
            for &(first, last) in a.off {
                for day in date(first).iter_days().take_while(|x| *x <= date(last)) {
                    if day.year() != *year {
                        assert!(
                            matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
                            "{day}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn adjusted_workdays_are_weekends_and_never_holidays() {
        let cal = china_calendar();
        for w in &cal.adjusted_workdays {
            assert!(matches!(w.weekday(), Weekday::Sat | Weekday::Sun), "{w}");
            assert!(!cal.holidays.contains(w), "{w}");
        }
    }

    #[test]
    fn filling_missing_years_keeps_local_edits() {
        let mut local = WorkCalendar::default();
        local.holidays.insert(d(2025, 3, 3)); // a local day off, 2025 entered by hand
        local.fill_missing_years(&china_calendar());
        assert!(local.holidays.contains(&d(2025, 3, 3)));
        assert!(!local.holidays.contains(&d(2025, 10, 1)));
        assert!(local.holidays.contains(&d(2026, 10, 1)));
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..1400).prop_map(|n| d(2023, 1, 1) + chrono::Duration::days(n))
    }

    proptest! {
        #[test]
        fn add_working_days_lands_on_the_nth_working_day(from in any_date(), n in 1u32..40) {
            let cal = china_calendar();
            let due = cal.add_working_days(from, n);
            prop_assert!(cal.is_working_day(due));
            prop_assert!(due > from);
            prop_assert_eq!(cal.working_days_between(from, due), n);
            // Every holiday and ordinary weekend day in between was skipped.
            let skipped = from
                .iter_days()
                .skip(1)
                .take_while(|x| *x < due)
                .filter(|x| !cal.is_working_day(*x))
                .count() as i64;
            prop_assert_eq!((due - from).num_days(), i64::from(n) + skipped);
            prop_assert!(cal.add_working_days(from, n + 1) > due);
        }
    }
}
