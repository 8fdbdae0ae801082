"""The explorer as a person uses it: served by Voilà, opened in headless Chromium, a FlipBank pair picked
from the dropdown, Analyse clicked, and the margins and the margin figure read off the rendered page."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from experiments.steps.mining import default_image_loader
from flipbank.images import BlankKind
from interp.forward import score_prompts
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput
from tests.experiments.browser import headless_chromium, missing_browser, voila_page
from tests.experiments.explorer_notebook import QUESTIONS, explorer_for_test

pytestmark = pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser()))
PAGE_TIMEOUT = 240.0  # the page runs every cell (model and SAE loading included) before it shows
STATUS = re.compile(r"margins: original ([+-]\d+\.\d+), paraphrase ([+-]\d+\.\d+) logits")


def _expected_margins(handle: ModelHandle, folder: Path, pair: int) -> list[float]:
    image = default_image_loader(BlankKind.GRAY, seed=0)(str(folder / f"image-{pair}.png"))
    prompts = [PromptInput(question, image) for question in QUESTIONS[pair][:2]]
    return [score.margin for score in score_prompts(handle, prompts, CHAT_TEMPLATE, progress=False)]


def _plot_texts(driver: WebDriver, index: int, selector: str) -> list[str]:
    plots = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
    if len(plots) <= index:
        return []
    return [element.text for element in plots[index].find_elements(By.CSS_SELECTOR, selector)]


def _open_explorer(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, PAGE_TIMEOUT, poll_frequency=1).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, ".widget-dropdown select")
            and "Loading widget" not in d.find_element(By.TAG_NAME, "body").text
            and len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) == 4
        )
    )


def _analyse_pair(driver: WebDriver, pair: int) -> re.Match[str]:
    Select(driver.find_elements(By.CSS_SELECTOR, ".widget-dropdown select")[0]).select_by_index(pair)
    original = driver.find_elements(By.CSS_SELECTOR, ".widget-textarea textarea")[0]
    WebDriverWait(driver, 30).until(lambda d: original.get_attribute("value") == QUESTIONS[pair][0])
    next(b for b in driver.find_elements(By.TAG_NAME, "button") if b.text == "Analyse").click()
    WebDriverWait(driver, 120, poll_frequency=0.5).until(
        lambda d: (
            STATUS.search(d.find_element(By.TAG_NAME, "body").text)
            and "paraphrase" in _plot_texts(d, 0, ".xtick text")
        )
    )
    found = STATUS.search(driver.find_element(By.TAG_NAME, "body").text)
    assert found is not None
    return found


def test_the_explorer_renders_and_answers_in_a_browser(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    notebook = explorer_for_test(tiny_handle, tmp_path, RUN_CALLBACKS=False, SHOW_BRIDGE=False)
    nbformat.write(notebook, tmp_path / "explorer.ipynb")
    with (
        voila_page(tmp_path / "explorer.ipynb", tmp_path / "voila.log") as url,
        headless_chromium() as driver,
    ):
        try:
            _open_explorer(driver, url)
            found = _analyse_pair(driver, pair=1)
        finally:
            driver.save_screenshot(str(tmp_path / "explorer.png"))
        assert _plot_texts(driver, 0, ".gtitle") == ["Yes − No margin"]
        assert _plot_texts(driver, 0, ".xtick text") == ["original", "paraphrase"]
        assert (
            len(
                driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")[0].find_elements(
                    By.CSS_SELECTOR, ".point"
                )
            )
            == 2
        )
        assert len(_plot_texts(driver, 1, ".xtick text")) == 5  # the top TOP_K features by |Δf|
    shown = [float(found.group(1)), float(found.group(2))]
    assert shown == pytest.approx(_expected_margins(tiny_handle, tmp_path, pair=1), abs=2e-3)
