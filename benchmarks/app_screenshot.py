"""Start `vocvision app` on a run, open it in headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by Selenium), upload an image, press Predict, then Attack, and save
a screenshot of each result.

    apt-get install -y chromium chromium-driver
    .venv/bin/python benchmarks/app_screenshot.py --run demo/run --image some.png \\
        --out /tmp/vocvision-app.png

Without `--image` the first test image of the run is uploaded (saved as a PNG first).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from common import CHROMIUM_FLAGS
from PIL import Image
from rich.console import Console
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import presence_of_element_located
from selenium.webdriver.support.ui import WebDriverWait

import vocvision as vv
from vocvision.app import serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser():

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [*CHROMIUM_FLAGS, "--window-size=1400,2600"]:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp()}")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for_images(driver, count: int, timeout: float = 300) -> None:
    """Until `count` result images are on the page (Gradio shows them as <img> elements)."""

    deadline = time.time() + timeout
    while time.time() < deadline:
        shown = [i for i in driver.find_elements(By.CSS_SELECTOR, "img") if i.size["height"] > 20]
        if len(shown) >= count:
            return
        time.sleep(1)
    raise TimeoutError(f"fewer than {count} images after {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--image", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/vocvision-app.png"))
    args = parser.parse_args()
    console = Console()
    if shutil.which("chromium") is None or not Path("/usr/bin/chromedriver").is_file():
        console.print(
            "[red]needs Debian's chromium and chromium-driver[/red] (nothing was checked)"
        )
        return 2

    run = vv.Run.load(args.run)
    image = args.image
    if image is None:
        image = Path(tempfile.mkdtemp()) / "test.png"
        Image.fromarray(run.images("test").samples[0].image).save(image)
    port = free_port()
    server = serve(run, port=port, block=False)
    driver = browser()
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        upload = WebDriverWait(driver, 120).until(  # the page is built by JavaScript
            presence_of_element_located((By.CSS_SELECTOR, "input[type=file]"))
        )
        upload.send_keys(str(image.resolve()))
        time.sleep(2)
        driver.find_element(By.XPATH, "//button[normalize-space()='Predict']").click()
        wait_for_images(driver, 2)
        time.sleep(2)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.out))
        driver.find_element(By.XPATH, "//button[normalize-space()='Attack']").click()
        wait_for_images(driver, 5)
        time.sleep(2)
        attacked = args.out.with_name(f"{args.out.stem}-attack{args.out.suffix}")
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        driver.save_screenshot(str(attacked))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
        server.close()
    console.print(f"screenshots: {args.out}, {attacked}; browser errors: {len(errors)}")
    for error in errors:
        console.print(f"[red]{error['message'][:200]}[/red]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
