"""The HTML report opened in a real headless browser (Debian's chromium and chromium-driver, driven by
Selenium): it loads with no JavaScript error or warning, makes no request (the network is switched
off, and the page's own log of requests is read back), draws every chart as a non-empty SVG, shows
the trial on hover, and its table holds every trial and sorts on a header click. A screenshot of
each report is saved in the test's tmp folder. Skips, saying why, where no browser is installed."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from tests.helpers import make_run
from tests.reports.test_html import SPACE, asha_trials, trials

pytest.importorskip("altair", reason="the report extra (altair) is not installed")
pytest.importorskip("vl_convert", reason="the report extra (vl-convert-python) is not installed")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(BROWSER is None or DRIVER is None, reason="no headless browser: install Debian's "
                                "chromium and chromium-driver (apt-get install chromium chromium-driver)")
ALLOWED_SCHEMES = ("data:", "blob:", "about:")


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1300,1000",
                "--hide-scrollbars", "--disable-background-networking"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def open_report(driver, path: Path) -> None:
    """Load ``path`` with the network off and wait until every chart is drawn (or failed)."""
    driver.get_log("browser")  # drop what an earlier page logged
    driver.get_log("performance")
    driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    driver.get(path.as_uri())
    for _ in range(300):
        if driver.execute_script("return document.body.getAttribute('data-charts')"):
            break
        time.sleep(0.1)


def screenshot(driver, path: Path) -> None:
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1300, min(height + 40, 12000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1300, 1000)


def requests_made(driver, page: str) -> list[str]:
    """Every URL the page asked for, from Chrome's DevTools log, less the page itself and data: URIs."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [u for u in urls if u != page and not u.startswith(ALLOWED_SCHEMES)]


@pytest.mark.parametrize("kind", ["plain", "asha"])
def test_report_in_a_headless_browser(browser, tmp_path, kind):
    if kind == "asha":
        root = make_run(tmp_path / "run", asha_trials(), space=SPACE, fixed={"optimizer": "sgd"},
                        scheduler={"name": "asha", "min_epochs": 1, "eta": 2})
    else:
        root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    result = CliRunner().invoke(main, ["report", str(root)])
    assert result.exit_code == 0, result.output
    page = root / "report.html"
    open_report(browser, page)
    screenshot(browser, tmp_path / f"report-{kind}.png")
    assert (tmp_path / f"report-{kind}.png").stat().st_size > 10_000

    assert browser.execute_script("return document.body.getAttribute('data-charts')") == "ready"
    problems = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert problems == []
    assert requests_made(browser, page.as_uri()) == []
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [r for r in resources if not r.startswith(ALLOWED_SCHEMES)] == []

    charts = browser.execute_script("""return Array.from(document.querySelectorAll('div.chart')).map(div => {
        const svg = div.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
        return [div.dataset.chart, box.width, box.height, svg ? svg.querySelectorAll('.mark-symbol path, .mark-line path, '
                + '.mark-rect path, .mark-rule line').length : 0]; })""")
    expected = {"importance", "curves", "params", "parallel", "trainval"} | ({"stopping"} if kind == "asha" else set())
    expected -= set() if kind == "plain" else {"importance"}  # 4 trials: too few for an importance estimate
    assert {c[0] for c in charts} == expected and len(charts) == len(expected)
    for name, width, height, marks in charts:
        assert width > 100 and height > 100 and marks > 3, (name, width, height, marks)


def test_hover_shows_the_trial_and_the_table_sorts(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    assert CliRunner().invoke(main, ["report", str(root)]).exit_code == 0
    open_report(browser, root / "report.html")

    point = browser.find_element(By.CSS_SELECTOR, '#chart-0-trainval .mark-symbol path')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    ActionChains(browser).move_to_element(point).perform()
    time.sleep(0.3)
    tooltip = browser.execute_script("const t = document.getElementById('vg-tooltip-element'); return t ? t.innerText : ''")
    assert "trial" in tooltip and "val acc %" in tooltip

    def column(name: str) -> list[str]:
        return browser.execute_script(f"""const t = document.querySelector('table.trials');
            const i = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent === {name!r});
            return Array.from(t.tBodies[0].rows).map(r => r.cells[i].textContent);""")

    assert column("trial") == [f"{i:04d}" for i in range(12)]
    header = browser.find_element(By.XPATH, "//table[@class='trials']//th[text()='val acc']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", header)
    header.click()
    ascending = column("val acc")
    assert ascending == sorted(ascending, key=lambda v: float(v.rstrip("%"))) and ascending[0] == "52.0%"
    header.click()
    assert column("trial")[0] == "0011" and column("val acc") == ascending[::-1]
    browser.find_element(By.XPATH, "//table[@class='trials']//th[text()='lr']").click()
    assert column("trial") == [f"{i:04d}" for i in range(12)]  # lr grows with the trial id here
