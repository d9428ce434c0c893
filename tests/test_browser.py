"""Notebook 01 in a real browser: the live training plot redraws while the model trains, and the digit
explorer answers its slider.

A smoke-profile copy of notebooks/01_cnn.ipynb (outputs cleared, figures to a temporary folder) is served by
JupyterLab on localhost; headless Chromium, driven by selenium, runs all its cells from the Run menu. A
MutationObserver in the page records every picture the training cell's live plot shows while the cell runs
(labkit.live replaces one PNG output in place through a display handle). Once every cell has run, the arrow
key on the explorer's "image" slider must bring a new picture from the kernel.

Needs Chromium and its driver (Debian: chromium, chromium-driver) and selenium: skipped without them, except
where CI is set, where their absence fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_cnn.ipynb"
TRAINING_CELL = "history = lk.fit(model, train, test"  # the first training with the live plot
EXPLORER_CELL = "lk.digit_explorer("
# The smoke profile trains for about a second: long enough for two redraws (the first step, the end), with
# nothing between them. 8% of MNIST (4,800 images, 38 steps) trains for ~2 s on two CPU cores, so the plot
# also redraws on its timer, and the test set (800 images) has mistakes enough to step through.
TRAIN_FRACTION = 0.08
RUN_TIMEOUT = 240  # seconds for all cells of the copy, both trainings included
SERVER_TIMEOUT = 60

# Lab settings for the browser session: every cell attached to the page (no windowing), so the cells can be
# found and watched; no news, update checks or notification toasts.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
}

# Records each new picture of the cell's first output image, with the cell's prompt at that moment
# ("[*]:" while it runs or waits in the queue).
WATCH_IMAGES = """
const cell = arguments[0];
const frames = [];
window.__labkitFrames = frames;
const hash = (text) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
  return (h >>> 0).toString(16) + ':' + text.length;
};
const record = () => {
  const img = cell.querySelector('.jp-OutputArea-output img');
  const src = img ? img.getAttribute('src') || '' : '';
  if (!src) return;
  const key = hash(src);
  if (frames.length && frames[frames.length - 1].key === key) return;
  const prompt = (cell.querySelector('.jp-InputPrompt') || {}).textContent || '';
  frames.push({key: key, prompt: prompt.trim(), t: performance.now()});
};
new MutationObserver(record).observe(cell, {subtree: true, childList: true, attributes: true,
                                            attributeFilter: ['src']});
"""

CELL_STATES = """
return Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).map((cell) => ({
  code: cell.classList.contains('jp-CodeCell'),
  prompt: ((cell.querySelector('.jp-InputPrompt') || {}).textContent || '').trim(),
  error: Array.from(cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
    .map((output) => output.textContent).filter((text) => /Traceback \\(most recent call last\\)/.test(text))
    .join('\\n'),
}));
"""


# ---------------------------------------------------------------- the tools


def browser_paths() -> tuple[str, str]:
    """Chromium and chromedriver, or a skip (a failure where CI is set) saying what is missing."""
    chromium = next((path for path in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                     if path and os.access(path, os.X_OK)), None)
    driver = next((path for path in ("/usr/bin/chromedriver", shutil.which("chromedriver"))
                   if path and os.access(path, os.X_OK)), None)
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if path is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = (f"the browser test needs {', '.join(missing)}: Debian's packages chromium and chromium-driver "
                  f"(apt-get install chromium chromium-driver) and the dev extras (pip install -e '.[dev]')")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the browser test must run: {reason}", pytrace=False)
        pytest.skip(reason)
    return chromium, driver


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_notebook(folder: Path) -> Path:
    """The smoke-profile copy of notebook 01 in `folder`, trained on TRAIN_FRACTION, without saved outputs."""
    done = subprocess.run([sys.executable, "-m", "labkit", "profile", "smoke", str(NOTEBOOK), "--out", str(folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"labkit profile smoke failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    path = folder / NOTEBOOK.name
    notebook = json.loads(path.read_text())
    injected = [cell for cell in notebook["cells"] if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert injected, f"{path}: no injected-parameters cell after `labkit profile smoke`"
    source = "".join(injected[0]["source"])
    injected[0]["source"] = f"{source.rstrip()}\nTRAIN_FRACTION = {TRAIN_FRACTION}  # long enough to watch\n"
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook["metadata"].pop("widgets", None)
    path.write_text(json.dumps(notebook, indent=1))
    return path


def cell_index(notebook: Path, marker: str) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    found = [i for i, cell in enumerate(cells) if marker in "".join(cell["source"])]
    assert len(found) == 1, f"expected one cell containing {marker!r} in {notebook.name}, found {len(found)}"
    return found[0]


class Lab:
    """A JupyterLab server on a free localhost port, serving `folder`; stopped with its kernels by `stop`."""

    def __init__(self, folder: Path, work: Path, data: Path):
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        settings = work / "lab-settings"
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / "jupyter-config"),
               "JUPYTER_RUNTIME_DIR": str(work / "jupyter-runtime"), "IPYTHONDIR": str(work / "ipython"),
               "LABKIT_FIGURES": str(work / "figures"), "LABKIT_DATA": str(data), "PYTHONUNBUFFERED": "1"}
        env.pop("LABKIT_STRICT", None)
        self.log_path = work / "jupyterlab.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={folder}", "--ServerApp.terminals_enabled=False",
             f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={work / 'lab-workspaces'}",
             "--LabApp.extension_manager=readonly", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
            cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_until_up(self, timeout: float = SERVER_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"JupyterLab exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"JupyterLab did not answer within {timeout} s:\n{self.log_tail()}")

    def children(self) -> list:
        """The server's processes below it (its kernels, which run in sessions of their own)."""
        try:
            import psutil

            return psutil.Process(self.process.pid).children(recursive=True)
        except Exception:  # no psutil, or the server has gone: the kernels then end with their parent
            return []

    def stop(self) -> None:
        """Ask the server to shut down (its kernels with it); then end whatever of it is left, by process id."""
        children = self.children()
        if self.process.poll() is None:
            try:
                request = urllib.request.Request(f"{self.url}/api/shutdown?token={self.token}", method="POST")
                urllib.request.urlopen(request, timeout=5).close()
                self.process.wait(timeout=20)
            except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):  # what is left: the server's process group, its children
            left = [child for child in children if child.is_running()]
            if self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    pass
            elif not left:
                break
            for child in left:
                try:
                    child.send_signal(sig)  # psutil checks that the id still names that same process
                except Exception:
                    pass
            time.sleep(1)
        self.process.wait(timeout=10)
        self.log.close()


def start_chromium(chromium: str, driver_path: str, profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1600,1200", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                     "--disable-backgrounding-occluded-windows", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_script_timeout(30)
    return driver


def wait_for(condition, timeout: float, message, interval: float = 0.1):
    """Poll `condition()` until it returns something true; else fail with `message()` (or `message`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)


# ---------------------------------------------------------------- the session


@pytest.fixture(scope="module")
def lab_page(tmp_path_factory, real_mnist_root):
    """JupyterLab serving the prepared copy, and Chromium showing it with its kernel started."""
    chromium, driver_path = browser_paths()
    work = tmp_path_factory.mktemp("browser")
    folder = work / "notebooks"
    folder.mkdir()
    lab = Lab(folder, work, real_mnist_root)  # starts while the copy is prepared
    driver = None
    try:
        notebook = prepare_notebook(folder)
        lab.wait_until_up()
        driver = start_chromium(chromium, driver_path, work / "chromium-profile")
        driver.get(f"{lab.url}/lab/tree/{notebook.name}?token={lab.token}")
        cells = len(json.loads(notebook.read_text())["cells"])
        wait_for(lambda: len(driver.find_elements("css selector", ".jp-Notebook .jp-Cell")) == cells, 90,
                 lambda: f"the notebook did not open with its {cells} cells:\n{lab.log_tail()}")
        wait_for(lambda: kernel_ready(driver), 90, lambda: f"the kernel did not start (status, kernel: "
                 f"{driver.execute_script(KERNEL_STATE)}):\n{lab.log_tail()}", 0.25)
        yield driver, lab, notebook
    finally:
        try:
            if driver is not None:
                driver.quit()
        finally:
            lab.stop()


KERNEL_STATE = """
const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
const name = document.querySelector('.jp-Toolbar .jp-KernelName, .jp-Toolbar .jp-Toolbar-kernelName');
return [status ? status.getAttribute('data-status') : null, name ? name.textContent.trim() : null];
"""


def kernel_ready(driver) -> bool:
    """Accepts a kernel choice dialog if one shows; true once the notebook has a kernel and it is idle
    (the indicator also says idle before there is any kernel: "No Kernel")."""
    from selenium.common.exceptions import WebDriverException

    try:
        for button in driver.find_elements("css selector", ".jp-Dialog .jp-Dialog-button.jp-mod-accept"):
            button.click()
        status, name = driver.execute_script(KERNEL_STATE)
    except WebDriverException:
        return False
    return status == "idle" and bool(name) and name != "No Kernel"


@pytest.fixture(scope="module")
def executed(lab_page):
    """Every cell run from the Run menu; the frames of the live plot recorded while the training cell ran."""
    driver, lab, notebook = lab_page
    training = cell_index(notebook, TRAINING_CELL)
    cells = driver.find_elements("css selector", ".jp-Notebook .jp-Cell")
    driver.execute_script(WATCH_IMAGES, cells[training])
    click_menu(driver, "Run", ("runmenu:run-all", "notebook:run-all-cells"))
    started = time.monotonic()

    seen_running = False

    def finished():
        nonlocal seen_running
        states = driver.execute_script(CELL_STATES)
        errors = [f"cell {i}: {state['error']}" for i, state in enumerate(states) if state["error"]]
        if errors:
            raise AssertionError("a cell failed:\n" + "\n".join(errors)[-4000:])
        prompts = [state["prompt"] for state in states if state["code"]]
        if all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in prompts):
            return True
        running = "[*]:" in prompts
        if seen_running and not running:
            raise AssertionError(f"the run stopped before the last cell: prompts {prompts}\n{lab.log_tail()}")
        seen_running = seen_running or running
        return False

    wait_for(finished, RUN_TIMEOUT, lambda: f"the cells did not all run within {RUN_TIMEOUT} s: prompts "
             f"{[s['prompt'] for s in driver.execute_script(CELL_STATES) if s['code']]}\n{lab.log_tail()}", 0.25)
    frames = driver.execute_script("return window.__labkitFrames;")
    return {"frames": frames, "seconds": time.monotonic() - started}


def click_menu(driver, menu: str, commands: tuple[str, ...]) -> None:
    """Open `menu` in the menu bar and click its item for the first of the lab `commands` it offers."""
    labels = driver.find_elements("css selector", ".lm-MenuBar-item")
    item = next((label for label in labels if label.text.strip() == menu), None)
    assert item is not None, f"no {menu!r} menu in the menu bar: {[label.text for label in labels]}"
    item.click()
    selector = ", ".join(f'.lm-Menu-item[data-command="{command}"]' for command in commands)
    entry = wait_for(lambda: driver.find_elements("css selector", selector), 10,
                     lambda: f"none of {commands} in the {menu} menu: " + ", ".join(
                         str(entry.get_attribute("data-command")) for entry in
                         driver.find_elements("css selector", ".lm-Menu-item")))
    entry[0].click()


# ---------------------------------------------------------------- the tests


def test_live_plot_redraws_while_training(executed):
    frames = executed["frames"]
    while_running = [frame for frame in frames if frame["prompt"] == "[*]:"]
    distinct = {frame["key"] for frame in while_running}
    seen = [(frame["prompt"], round(frame["t"])) for frame in frames]
    assert len(distinct) >= 3, (
        f"the live plot should change at least twice while the training cell runs; pictures seen (prompt, ms) "
        f"in a run of all cells of {executed['seconds']:.0f} s: {seen}")


def test_digit_explorer_follows_its_slider(lab_page, executed):
    from selenium.webdriver.common.keys import Keys

    driver, lab, notebook = lab_page
    explorer = Explorer(driver, notebook)
    if explorer.slider_max() < 2:  # one image shows the most frequent mistake: step through correct ones
        explorer.show_correct_predictions()
    before, status, position = explorer.picture(), explorer.status(), explorer.slider_value()
    assert before, "the explorer shows no image"
    handle = explorer.handle()
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", handle)
    handle.send_keys(Keys.ARROW_RIGHT)
    wait_for(lambda: explorer.slider_value() == position + 1, 10,
             lambda: f"the slider did not move from {position} on ArrowRight: at {explorer.slider_value()}")
    wait_for(lambda: explorer.picture() != before and explorer.status() != status, 30,
             lambda: f"the explorer did not follow its slider to {explorer.slider_value()}: "
                     f"status {explorer.status()!r}, image {'changed' if explorer.picture() != before else 'the same'}")
    assert f"image {position + 1} of" in explorer.status()


class Explorer:
    """The digit explorer's widgets in the page, found afresh on every look (widget views may be redrawn)."""

    def __init__(self, driver, notebook: Path):
        self.driver = driver
        self.cell = driver.find_elements("css selector", ".jp-Notebook .jp-Cell")[cell_index(notebook, EXPLORER_CELL)]
        wait_for(lambda: self.find(".widget-slider .noUi-handle") and self.picture(), 30,
                 "the digit explorer did not render its slider and image")

    def find(self, selector: str) -> list:
        return self.cell.find_elements("css selector", selector)

    def handle(self):
        return self.find(".widget-slider .noUi-handle")[0]

    def slider_max(self) -> int:
        return round(float(self.handle().get_attribute("aria-valuemax")))

    def slider_value(self) -> int:
        return round(float(self.handle().get_attribute("aria-valuenow")))

    def picture(self) -> str:
        """The `src` of the explorer's image (a fresh blob: address each time the kernel sends a new one)."""
        images = self.find("img.widget-image")
        return (images[0].get_attribute("src") or "") if images else ""

    def status(self) -> str:
        lines = self.find(".widget-html-content")
        return lines[0].text if lines else ""

    def show_correct_predictions(self) -> None:
        """Choose the predicted digit equal to the true one: the cell of correct predictions, many images."""
        from selenium.webdriver.support.ui import Select

        true, predicted = (Select(menu) for menu in self.find(".widget-dropdown select"))
        shown = self.picture()
        predicted.select_by_index(true.first_selected_option.get_property("index"))
        wait_for(lambda: self.picture() != shown and self.slider_max() >= 2, 30,
                 lambda: f"choosing the predicted digit did not bring its images: {self.status()!r}")
