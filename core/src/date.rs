//! Calendar dates for exception expiry. The library never reads a clock:
//! every host passes today's date (a Wasm guest has no clock of its own,
//! and tests pass fixed dates).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A day of the proleptic Gregorian calendar (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    /// The year.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, from 1.
    pub day: u8,
}

/// Why a text is not a date of the calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateError {
    /// Not written `YYYY-MM-DD`.
    Format,
    /// A month that is not 01 to 12.
    Month(u32),
    /// A day that the month does not have.
    Day {
        /// The year.
        year: i32,
        /// The month, from 1.
        month: u32,
        /// The day written.
        day: u32,
    },
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl fmt::Display for DateError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateError::Format => formatter.write_str("a date is written YYYY-MM-DD"),
            DateError::Month(month) => write!(formatter, "there is no month {month}"),
            DateError::Day { year, month, day } => {
                let name = MONTHS
                    .get((*month as usize).wrapping_sub(1))
                    .copied()
                    .unwrap_or("the month");
                write!(
                    formatter,
                    "{name} {year} has {} days, not {day}",
                    days_in_month(*year, *month)
                )
            }
        }
    }
}

impl std::error::Error for DateError {}

/// How many days a month of the proleptic Gregorian calendar has.
fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// Parses a date written `YYYY-MM-DD`, refusing days the calendar does
    /// not have (`2027-02-30`).
    pub fn parse(text: &str) -> Result<Date, DateError> {
        let bytes = text.trim().as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = bytes.get(range).ok_or(DateError::Format)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err(DateError::Format);
            }
            Ok(part
                .iter()
                .fold(0, |value, digit| value * 10 + u32::from(digit - b'0')))
        };
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return Err(DateError::Format);
        }
        // Four digits: at most 9999, which fits.
        let year = i32::try_from(digits(0..4)?).map_err(|_| DateError::Format)?;
        let month = digits(5..7)?;
        let day = digits(8..10)?;
        if !(1..=12).contains(&month) {
            return Err(DateError::Month(month));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError::Day { year, month, day });
        }
        Ok(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The date of a day count since 1970-01-01 (Howard Hinnant's
    /// well-known civil-from-days algorithm).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u8;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        } as u8;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Date {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month,
            day,
        }
    }

    /// Today (UTC) by the system clock: for hosts that have one.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn today() -> Date {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        Date::from_days_since_epoch(seconds.div_euclid(86_400))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{:04}-{:02}-{:02}",
            self.year, self.month, self.day
        )
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.to_string()
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;

    fn try_from(text: String) -> Result<Date, DateError> {
        Date::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn days_since_epoch() {
        assert_eq!(Date::from_days_since_epoch(0), date(1970, 1, 1));
        assert_eq!(Date::from_days_since_epoch(20_513), date(2026, 3, 1));
        assert_eq!(Date::from_days_since_epoch(-1), date(1969, 12, 31));
    }

    #[test]
    fn only_days_of_the_calendar_parse() {
        assert_eq!(Date::parse("2027-03-31"), Ok(date(2027, 3, 31)));
        assert_eq!(Date::parse("2027-13-01"), Err(DateError::Month(13)));
        assert_eq!(
            Date::parse("2027-02-30"),
            Err(DateError::Day {
                year: 2027,
                month: 2,
                day: 30
            })
        );
        assert_eq!(Date::parse("2028-02-29"), Ok(date(2028, 2, 29)));
        assert!(Date::parse("2100-02-29").is_err());
        assert_eq!(Date::parse("2000-02-29"), Ok(date(2000, 2, 29)));
        assert!(Date::parse("2027-04-31").is_err());
        assert_eq!(Date::parse("2027-3-1"), Err(DateError::Format));
        assert!(matches!(
            Date::parse("2027-03-00"),
            Err(DateError::Day { day: 0, .. })
        ));
        assert_eq!(
            DateError::Day {
                year: 2027,
                month: 2,
                day: 30
            }
            .to_string(),
            "February 2027 has 28 days, not 30"
        );
    }

    #[test]
    fn dates_order_and_print() {
        assert!(date(2026, 1, 31) < date(2026, 2, 1));
        assert_eq!(date(2027, 3, 1).to_string(), "2027-03-01");
        let json = serde_json::to_string(&date(2027, 3, 1)).unwrap_or_default();
        assert_eq!(json, "\"2027-03-01\"");
        assert!(serde_json::from_str::<Date>("\"2027-02-30\"").is_err());
    }
}
