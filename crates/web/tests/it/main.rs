//! The web app's tests: over HTTP (every environment) and in headless Chromium (skipped, saying
//! why, when Chromium or chromedriver is missing, unless `ACCORD_REQUIRE_BROWSER=1`).

mod browser;
mod fixture;
mod http;
