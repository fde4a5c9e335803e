// `time.strftime('%X')` of the seed's programs: the wall-clock time as HH:MM:SS (UTC, which is
// these machines' local time zone).

/// The current time of day as `HH:MM:SS`.
pub fn strftime_x() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}
