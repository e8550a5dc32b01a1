# Debian's headless-capable Chromium: the report test renders report.html in it, checks that
# every link and figure resolves, and takes a screenshot (test/study-report-browser.test.ts).
apt_install chromium
