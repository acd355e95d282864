"""`zeroplay serve` in a real browser (headless Chromium through Selenium): a full Connect Four
game played by clicking, each engine reply seen, an illegal click refused on the page, the
finished game announced; a go9 board drawn with a1 at the lower left and a pass button."""
import shutil
import threading
import time
from contextlib import contextmanager

import pytest

import games
from engine.players import mcts_player
from engine.serve import Match, listen, load_player, make_app
from test_serve import run_app

pytest.importorskip("selenium")
uvicorn = pytest.importorskip("uvicorn")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs Debian's chromium and chromium-driver "
                                       "(.ci/run installs them with apt-get)")
C4 = games.get("connect4")
RESULTS = ("You win!", "You lose.", "Draw.")
SIZE = 64  # pixels of a cell (app.js)


@contextmanager
def serving(app):
    """The app served by uvicorn on a free loopback port, in a thread: its address."""
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=900,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page():
    """(browser, address, app): the builtin Connect Four network served and a browser."""
    app = make_app(C4, load_player(C4, "builtin"))
    with serving(app) as address, chromium() as driver:
        yield driver, address, app


def settled(driver) -> None:
    """Wait until the page has its answer (it marks itself busy while it waits)."""
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-busy") == "false")


def text(driver, id_: str) -> str:
    return driver.find_element(By.ID, id_).text


def stones(driver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, "#board circle.X, #board circle.O"))


def stone(driver, row: int, col: int) -> str:
    """The class of the circle drawn on a cell (row 0 at the top): 'X', 'O' or 'empty'."""
    centre = f'[cx="{col * SIZE + SIZE // 2}"][cy="{row * SIZE + SIZE // 2}"]'
    return driver.find_element(By.CSS_SELECTOR, f"#board circle{centre}").get_attribute("class")


def click(driver, move: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#board rect.target[data-move="{move}"]').click()
    settled(driver)


def test_a_full_game_by_clicking(page, tmp_path):
    driver, address, _ = page
    driver.get(address)
    settled(driver)
    Select(driver.find_element(By.ID, "simulations")).select_by_value("50")
    driver.find_element(By.ID, "new").click()
    settled(driver)
    assert stones(driver) == 0 and "your move" in text(driver, "status")
    while text(driver, "status") not in RESULTS:
        before = stones(driver)
        legal = driver.find_element(By.CSS_SELECTOR, '#board rect.target[data-legal="true"]')
        click(driver, legal.get_attribute("data-move"))
        assert text(driver, "message") == ""
        if text(driver, "status") not in RESULTS:  # the engine answered, with its numbers
            assert stones(driver) == before + 2
            assert text(driver, "engine").startswith("Engine played")
            assert "visits" in text(driver, "engine")
            assert driver.find_elements(By.CSS_SELECTOR, "#board rect.heat")
    assert not driver.find_elements(By.CSS_SELECTOR, '#board rect.target[data-legal="true"]')
    driver.save_screenshot(str(tmp_path / "finished.png"))


def test_an_illegal_click_is_refused_on_the_page(page):
    driver, address, app = page
    key = app.state.matches.add(Match(0, 50, [3, 3, 3, 3, 3, 3]))  # column 4 full
    driver.get(f"{address}#{key}")
    driver.refresh()  # the same page, another hash: load it again
    settled(driver)
    assert stones(driver) == 6
    click(driver, "4")
    assert text(driver, "message") == "connect4: illegal move 4: column 4 is full"
    assert stones(driver) == 6
    click(driver, "1")
    assert text(driver, "message") == "" and stones(driver) == 8


def test_a_run_its_curves_and_a_generation_to_play(page, tmp_path):
    driver = page[0]
    app = run_app(tmp_path)
    with serving(app) as address:
        driver.get(address)
        settled(driver)
        assert len(driver.find_elements(By.CSS_SELECTOR, "#curves figure")) == 5
        Select(driver.find_element(By.ID, "generation")).select_by_visible_text("generation 2")
        driver.find_element(By.ID, "new").click()
        settled(driver)
        click(driver, "5")  # tic-tac-toe: a move per cell
        assert stones(driver) == 2 and text(driver, "engine").startswith("Engine played")
        key = driver.current_url.rpartition("#")[2]
        assert app.state.matches.held[key].generation == 2


def test_go9_is_drawn_with_a1_at_the_lower_left_and_a_pass_button(page):
    driver, go = page[0], games.get("go9")
    app = make_app(go, mcts_player(go, 50))
    with serving(app) as address:
        driver.get(address)
        settled(driver)
        corner = driver.find_element(By.CSS_SELECTOR, '#board rect.target[x="0"][y="0"]')
        assert corner.get_attribute("data-move") == "a9"
        assert [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#buttons button")] == \
            ["pass"]
        corner.click()
        settled(driver)
        key = driver.current_url.rpartition("#")[2]
        reply = go.format_move(app.state.matches.held[key].moves[1])
        assert text(driver, "engine").startswith(f"Engine played {reply}:")
        assert stone(driver, 0, 0) == "X" and stones(driver) == 1 + (reply != "pass")
        if reply != "pass":  # GTP: column letter (no i), row 1 at the bottom
            assert stone(driver, 9 - int(reply[1:]), "abcdefghj".index(reply[0])) == "O"
