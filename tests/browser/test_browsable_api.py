"""A real browser uses the browsable API and the API docs: create, list, edit, validate, delete, page, try it out."""
import os
import re

import pytest
import requests
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests import harness

pytestmark = pytest.mark.browser

WAIT = 20  # seconds: a deadline for the page, never a sleep


def _wait(driver, condition, what: str):
    return WebDriverWait(driver, WAIT).until(condition, message=f"waiting for {what}")


def _response_info(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".response-info").text


def _wait_for_response(driver, status_line: str, *texts: str) -> str:
    """Waits until the page shows `HTTP <status_line>` and every text in its response; returns that text."""
    def shown(driver):
        try:
            info = _response_info(driver)
        except Exception:  # noqa: BLE001 - the document is being replaced
            return False
        return info if f"HTTP {status_line}" in info and all(text in info for text in texts) else False

    try:
        return WebDriverWait(driver, WAIT).until(shown)
    except TimeoutException:
        pytest.fail(f"no HTTP {status_line} with {texts} at {driver.current_url}; the page shows:\n"
                    f"{driver.find_element(By.TAG_NAME, 'body').text[:3000]}")


def _form(driver, pane: str):
    """Returns the HTML form of a tab pane (`post-object-form` or `put-object-form`), shown."""
    tab = driver.find_element(By.CSS_SELECTOR, f"a[href='#{pane}']")
    tab.click()
    return _wait(driver, ec.visibility_of_element_located((By.CSS_SELECTOR, f"#{pane} form")), pane)


def _fill(driver, form, *, title=None, description=None, status=None, priority=None, due=None, tags=None):
    if title is not None:
        field = form.find_element(By.NAME, "title")
        field.clear()
        field.send_keys(title)
    if description is not None:
        field = form.find_element(By.NAME, "description")
        field.clear()
        field.send_keys(description)
    if status is not None:
        Select(form.find_element(By.NAME, "status")).select_by_value(status)
    if priority is not None:
        Select(form.find_element(By.NAME, "priority")).select_by_value(priority)
    if due is not None:
        # A datetime-local input's typed format follows the browser's locale; its value is not.
        driver.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, "dueDate"), due)
    if tags is not None:
        field = form.find_element(By.NAME, "tags")
        field.clear()
        field.send_keys(tags)


def _error_under_title(driver, pane: str) -> None:
    """Asserts that the form in `pane` shows the empty-title error under its Title field."""
    title_group = driver.find_element(
        By.XPATH, f"//div[@id='{pane}']//div[contains(@class, 'has-error')][.//label[normalize-space()='Title']]")
    assert title_group.is_displayed()
    assert title_group.find_element(By.CSS_SELECTOR, ".help-block").text == "This field may not be blank."


def _screenshot(driver, artifacts, site, name: str) -> None:
    driver.save_screenshot(str(artifacts / f"{site.name}-{name}.png"))


def _docs_screenshot(driver) -> None:
    """Saves the README's picture (docs/browsable-api.png): a task with its edit form, in one tall frame."""
    size = driver.get_window_size()
    driver.set_window_size(1100, 1320)
    try:
        driver.save_screenshot(str(harness.ROOT / "docs" / "browsable-api.png"))
    finally:
        driver.set_window_size(size["width"], size["height"])


def test_tasks_are_created_listed_edited_validated_and_deleted_from_the_browsable_api(
        chrome, network, site, artifacts, table):
    driver = chrome

    # The root points a browser to the tasks and the docs.
    driver.get(site.url + "/")
    _wait_for_response(driver, "200 OK", f"{site.url}/tasks", f"{site.url}/docs")
    driver.find_element(By.LINK_TEXT, "Tasks").click()
    _wait_for_response(driver, "200 OK", '"results": []')
    assert driver.current_url == f"{site.url}/tasks"

    # Create with the HTML form (a plain multipart form POST).
    form = _form(driver, "post-object-form")
    _fill(driver, form, title="Water the plants", description="Twice a week", status="in_progress",
          priority="high", due="2026-12-01T17:30", tags="home\ngarden")
    form.find_element(By.XPATH, ".//button[normalize-space()='POST']").click()
    created = _wait_for_response(driver, "201 Created", '"title": "Water the plants"')
    _screenshot(driver, artifacts, site, "1-created")
    location = re.search(r"Location: (\S+)", created)[1]
    assert re.fullmatch(rf"{re.escape(site.url)}/tasks/[0-9a-f-]{{36}}", location)
    for expected in ('"description": "Twice a week"', '"status": "in_progress"', '"priority": "high"',
                     '"dueDate": "2026-12-01T17:30:00.000Z"', '"tags": [\n        "home",\n        "garden"\n    ]'):
        assert expected in created

    # See it in the list.
    driver.get(site.url + "/tasks")
    _wait_for_response(driver, "200 OK", '"title": "Water the plants"', '"taskId": "' + location.rsplit("/", 1)[1])

    # Edit with the PUT form (an AJAX multipart PUT that replaces the page).
    driver.get(location)
    _wait_for_response(driver, "200 OK", '"version": 1')
    if site.name == "local" and os.environ.get("TASKAPI_DOCS_SCREENSHOT"):
        _docs_screenshot(driver)
    form = _form(driver, "put-object-form")
    assert form.find_element(By.NAME, "tags").get_attribute("value") == "home\ngarden"
    assert form.find_element(By.NAME, "dueDate").get_attribute("value") == "2026-12-01T17:30"
    _fill(driver, form, title="Water the plants (done)", status="completed", tags="home")
    form.find_element(By.XPATH, ".//button[normalize-space()='PUT']").click()
    edited = _wait_for_response(driver, "200 OK", '"title": "Water the plants (done)"', '"version": 2')
    _screenshot(driver, artifacts, site, "2-edited")
    assert '"status": "completed"' in edited and '"dueDate": "2026-12-01T17:30:00.000Z"' in edited
    assert driver.current_url == location

    # PATCH from the Raw data tab: a JSON body sent by the page's script.
    driver.find_element(By.CSS_SELECTOR, "a[href='#put-generic-content-form']").click()
    raw = _wait(driver, ec.visibility_of_element_located(
        (By.CSS_SELECTOR, "#put-generic-content-form textarea[name='_content']")), "the Raw data form")
    assert Select(driver.find_element(By.CSS_SELECTOR, "#put-generic-content-form select[name='_content_type']")
                  ).first_selected_option.text == "application/json"
    raw.clear()
    raw.send_keys('{"priority": "low"}')
    driver.find_element(By.CSS_SELECTOR, "#put-generic-content-form button[data-method='PATCH']").click()
    patched = _wait_for_response(driver, "200 OK", '"priority": "low"', '"version": 3')
    assert '"title": "Water the plants (done)"' in patched

    # An empty title in the edit form: the AJAX PUT's 400 page replaces this one, error under the field.
    driver.get(location)
    form = _form(driver, "put-object-form")
    _fill(driver, form, title="")
    form.find_element(By.XPATH, ".//button[normalize-space()='PUT']").click()
    _wait_for_response(driver, "400 Bad Request", "This field may not be blank.")
    _error_under_title(driver, "put-object-form")
    assert driver.current_url == location

    # An empty title: the 400 shows next to the field of the create form.
    driver.get(site.url + "/tasks")
    form = _form(driver, "post-object-form")
    _fill(driver, form, title="")
    form.find_element(By.XPATH, ".//button[normalize-space()='POST']").click()
    _wait_for_response(driver, "400 Bad Request", "This field may not be blank.")
    _error_under_title(driver, "post-object-form")
    _screenshot(driver, artifacts, site, "3-validation-error")

    # Delete with the DELETE button and its confirmation.
    driver.get(location)
    _wait_for_response(driver, "200 OK", '"version": 3')
    driver.find_element(By.CSS_SELECTOR, "button[data-target='#deleteModal']").click()
    confirm = _wait(driver, ec.element_to_be_clickable((By.CSS_SELECTOR, "#deleteModal form button")), "the modal")
    confirm.click()
    _wait_for_response(driver, "200 OK", '"deleted": true')
    _screenshot(driver, artifacts, site, "4-deleted")
    assert requests.get(location, headers={"Accept": "application/json"}, timeout=10).status_code == 404
    driver.get(site.url + "/tasks")
    _wait_for_response(driver, "200 OK", '"results": []')

    deliberate = {("POST", f"{site.url}/tasks", 400), ("PUT", location, 400)}
    assert network.problems(origin=site.origin, expected=deliberate) == []
    seen = {(request.method, request.url, request.status) for request in network.requests}
    assert deliberate | {("POST", f"{site.url}/tasks", 201), ("PUT", location, 200), ("PATCH", location, 200),
                         ("DELETE", location, 200),
            ("GET", f"{site.url}/static/rest_framework/js/ajax-form.js", 200)} <= seen
    assert [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
            and "400 (Bad Request)" not in entry["message"]] == []


AWKWARD_TASKS = [
    # Tags with commas, no description (null), a due date with milliseconds.
    {"title": "Commas, nulls and milliseconds", "description": None, "tags": ["a, b", "c,d", "e"],
     "dueDate": "2026-12-01T17:30:45.123Z", "priority": "low"},
    # An empty description (not null), one with a leading line break, no due date, no tags.
    {"title": "Empty description", "description": "", "status": "in_progress"},
    {"title": "Lines", "description": "\nfirst line\n\tsecond, indented\n", "dueDate": "2026-01-02T03:04:05.000Z",
     "tags": ["x"]},
]


@pytest.mark.parametrize("fields", AWKWARD_TASKS, ids=["commas-null-ms", "empty-description", "lines"])
def test_saving_the_edit_form_unchanged_changes_nothing(chrome, network, site, artifacts, table, fields):
    driver = chrome
    created = requests.post(f"{site.url}/tasks", json=fields, timeout=10)
    assert created.status_code == 201, created.text
    task = created.json()
    location = created.headers["Location"]

    driver.get(location)
    _wait_for_response(driver, "200 OK", '"version": 1')
    form = _form(driver, "put-object-form")
    form.find_element(By.XPATH, ".//button[normalize-space()='PUT']").click()
    _wait_for_response(driver, "200 OK", '"version": 1')

    after = requests.get(location, headers={"Accept": "application/json"}, timeout=10)
    assert after.json() == task  # same fields, same version, same updatedAt
    assert after.headers["ETag"] == '"1"'
    assert ("PUT", location, 200) in {(r.method, r.url, r.status) for r in network.collect()}
    assert network.problems(origin=site.origin) == []


def test_list_pages_link_to_the_next_page(chrome, network, site, artifacts, table):
    driver = chrome
    for title in ("First", "Second", "Third"):
        response = requests.post(f"{site.url}/tasks", json={"title": title}, timeout=10)
        assert response.status_code == 201, response.text

    driver.get(site.url + "/tasks?limit=2")
    _wait_for_response(driver, "200 OK", '"title": "Third"', '"title": "Second"')
    driver.find_element(By.ID, "next-page").click()
    page = _wait_for_response(driver, "200 OK", '"title": "First"', '"next": null')
    assert '"title": "Second"' not in page
    assert driver.current_url.startswith(f"{site.url}/tasks?order=desc&limit=2&cursor=")
    assert not driver.find_elements(By.ID, "next-page")
    _screenshot(driver, artifacts, site, "5-next-page")

    assert network.problems(origin=site.origin) == []


def test_docs_execute_get_tasks_against_the_same_server(chrome, network, site, artifacts, table):
    driver = chrome
    requests.post(f"{site.url}/tasks", json={"title": "Seen from the docs"}, timeout=10).raise_for_status()

    driver.get(site.url + "/docs")
    list_operation = "//div[contains(@class, 'opblock-get')][.//*[@data-path='/tasks']]"
    operation = _wait(driver, ec.element_to_be_clickable(
        (By.XPATH, f"{list_operation}//*[contains(@class, 'opblock-summary-control')]")), "GET /tasks in Swagger UI")
    operation.click()
    _wait(driver, ec.element_to_be_clickable((By.CSS_SELECTOR, ".opblock-get .try-out__btn")), "Try it out").click()
    _wait(driver, ec.element_to_be_clickable((By.CSS_SELECTOR, ".opblock-get .execute")), "Execute").click()
    status = _wait(driver, ec.visibility_of_element_located(
        (By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")), "the live response")
    assert status.text.startswith("200")
    body = driver.find_element(By.CSS_SELECTOR, ".live-responses-table .response .response-col_description").text
    assert "Seen from the docs" in body
    request_url = driver.find_element(By.CSS_SELECTOR, ".request-url pre").text
    assert request_url.startswith(f"{site.url}/tasks")
    _screenshot(driver, artifacts, site, "6-docs")

    assert network.problems(origin=site.origin) == []
    seen = {(request.method, request.url, request.status) for request in network.requests}
    assert ("GET", f"{site.url}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", 200) in seen
    assert ("GET", f"{site.url}/openapi.json", 200) in seen
    assert [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"] == []
