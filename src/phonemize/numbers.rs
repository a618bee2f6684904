//! STUB (lead's temporary; replaced by the numbers helper)
pub fn cardinal(d: &str) -> Option<String> { Some(d.to_string()) }
pub fn ordinal(d: &str) -> Option<String> { Some(d.to_string()) }
pub fn year(d: &str) -> Option<String> { Some(d.to_string()) }
pub fn decimal(d: &str) -> Option<String> { Some(d.to_string()) }
